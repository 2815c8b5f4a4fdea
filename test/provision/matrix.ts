/**
 * The enforcement matrix: every service role tries every operation on every
 * table, and each outcome is compared with what the manifest allows. The rules
 * here are written from the manifest alone, independently of the planner.
 */
import { ownerOfTable } from '../../src/manifest/ownership.js';
import type { Manifest, Service } from '../../src/manifest/types.js';
import { withClient } from '../../src/postgres/client.js';
import type { CatalogSnapshot } from '../../src/catalog-types.js';
import { quoteIdent, quoteQualified } from '../../src/postgres/quote.js';
import { serviceUrl } from '../../src/provision/credentials.js';

export type Operation = 'select' | 'insert' | 'update' | 'delete' | 'truncate' | 'alter' | 'drop';

/** Errors raised after the privilege check passed: the operation was allowed, the data refused it. */
const PASSED_PRIVILEGE_CHECK = new Set(['23502', '23503', '23505', '23514', '2BP01', '0A000']);

export interface MatrixResult {
  attempts: number;
  allowed: number;
  denied: number;
  /** One line per outcome that differs from the manifest, or error that is neither. */
  unexpected: string[];
  /** Role and statement of every allowed attempt (`role\u0000sql`). */
  allowedKeys: Set<string>;
}

/**
 * The state before the apply under test: the manifest applied last and the matrix run then.
 * In audit mode a table's owner takes no privilege from service roles: what a role could do
 * before (except as the table's previous owner: ownership changes still run) it still may.
 */
export interface Before {
  manifest: Manifest;
  result: MatrixResult;
}

/** Whether audit mode keeps an operation the role could run before the apply. */
export function keptFromBefore(
  manifest: Manifest,
  before: Before | undefined,
  service: Service,
  table: Table,
  sql: string,
): boolean {
  if (before === undefined) return false;
  const owner = ownerOfTable(manifest, table.schema, table.name);
  if (owner?.enforcement !== 'audit') return false;
  if (ownerOfTable(before.manifest, table.schema, table.name)?.role === service.role) return false;
  return before.result.allowedKeys.has(`${service.role}\u0000${sql}`);
}

interface Table {
  schema: string;
  name: string;
  columns: string[];
  /** The primary key's columns: a declared writer may read them (to find and return its rows). */
  primaryKey?: string[];
}

/** Whether the manifest allows the service the operation (on one column for select/insert/update). */
export function manifestAllows(
  manifest: Manifest,
  service: Service,
  op: Operation,
  table: Table,
  column?: string,
): boolean {
  // The owner of the schema, or in a shared schema the service whose `owns:` pattern matches.
  const owner = ownerOfTable(manifest, table.schema, table.name);
  if (!owner) return false;
  if (owner.role === service.role) return true;
  const on = (contracts: Service['reads']) =>
    contracts.filter((c) => c.schema === table.schema && c.table === table.name);
  const covers = (contracts: Service['reads']) =>
    on(contracts).some(
      (c) => c.columns === '*' || (column !== undefined && c.columns.includes(column)),
    );
  switch (op) {
    case 'select':
      return (
        service.enforcement === 'audit' ||
        covers(service.reads) ||
        (on(service.writes).length > 0 &&
          column !== undefined &&
          (table.primaryKey ?? []).includes(column))
      );
    case 'insert':
    case 'update':
      return covers(service.writes);
    case 'delete':
      return on(service.writes).some((c) => c.columns === '*');
    default:
      return false;
  }
}

function statement(op: Operation, table: Table, column?: string): string {
  const t = quoteQualified(table.schema, table.name);
  const c = column === undefined ? '' : quoteIdent(column);
  switch (op) {
    case 'select':
      return `SELECT ${c} FROM ${t} LIMIT 0`;
    case 'insert':
      return `INSERT INTO ${t} (${c}) VALUES (DEFAULT)`;
    case 'update':
      return `UPDATE ${t} SET ${c} = DEFAULT WHERE false`;
    case 'delete':
      return `DELETE FROM ${t} WHERE false`;
    case 'truncate':
      return `TRUNCATE ${t}`;
    case 'alter':
      return `ALTER TABLE ${t} ADD COLUMN pgpact_probe integer`;
    case 'drop':
      return `DROP TABLE ${t}`;
  }
}

/** Tables of the catalog (pgpact's own schema excepted). */
export function tablesOf(catalog: CatalogSnapshot): Table[] {
  return catalog.relations
    .filter((r) => r.kind === 'table' && r.schema !== 'pgpact')
    .map((r) => ({
      schema: r.schema,
      name: r.name,
      columns: r.columns.map((c) => c.name),
      primaryKey: r.constraints.find((c) => c.type === 'p')?.columns ?? [],
    }));
}

/** Connects as every service role and tries every operation on every table, inside rolled-back savepoints. */
export async function runMatrix(
  url: string,
  manifest: Manifest,
  stateDir: string,
  tables: Table[],
  before?: Before,
): Promise<MatrixResult> {
  const result: MatrixResult = {
    attempts: 0,
    allowed: 0,
    denied: 0,
    unexpected: [],
    allowedKeys: new Set(),
  };
  for (const service of manifest.services) {
    await withClient(serviceUrl(url, service.role, stateDir), async (client) => {
      await client.query('BEGIN');
      for (const table of tables) {
        const attempts: { op: Operation; column?: string }[] = [
          ...(['select', 'insert', 'update'] as const).flatMap((op) =>
            table.columns.map((column) => ({ op, column })),
          ),
          ...(['delete', 'truncate', 'alter', 'drop'] as const).map((op) => ({ op })),
        ];
        for (const { op, column } of attempts) {
          const sql = statement(op, table, column);
          const expected =
            manifestAllows(manifest, service, op, table, column) ||
            keptFromBefore(manifest, before, service, table, sql);
          let outcome: 'allowed' | 'denied' | string;
          await client.query('SAVEPOINT probe');
          try {
            await client.query(sql);
            outcome = 'allowed';
          } catch (error) {
            const code = (error as { code?: string }).code ?? '';
            outcome =
              code === '42501'
                ? 'denied'
                : PASSED_PRIVILEGE_CHECK.has(code)
                  ? 'allowed'
                  : `error ${code} ${(error as Error).message}`;
          }
          await client.query('ROLLBACK TO SAVEPOINT probe');
          result.attempts += 1;
          if (outcome === 'allowed') {
            result.allowed += 1;
            result.allowedKeys.add(`${service.role}\u0000${sql}`);
          }
          if (outcome === 'denied') result.denied += 1;
          if (outcome !== (expected ? 'allowed' : 'denied')) {
            result.unexpected.push(
              `${service.name} (${service.enforcement}): ${sql} → ${outcome}, expected ${expected ? 'allowed' : 'denied'}`,
            );
          }
        }
      }
      await client.query('ROLLBACK');
    });
  }
  return result;
}
