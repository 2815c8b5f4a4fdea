import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { ensureParser, parseExpression, parseScript, parseTypeName } from './expressions.js';
import { Fields } from './fields.js';
import { MigrationSource } from './file-source.js';
import { columnLabel, type FileCheck } from './operations/definition.js';
import { definitionOf, type Operation, PGROLL_ONLY_OPERATIONS } from './operations/registry.js';
import { readOperation, type SqlToCheck, sameTable } from './read-operation.js';
import type { Migration } from './types.js';

/** Reads and validates a migration file (pgpact YAML/JSON or pgroll JSON); every problem is reported together. */
export async function loadMigration(file: string): Promise<Migration> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new PgpactError(
      'MIGRATION_NOT_FOUND',
      `cannot read the migration file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: 'pass the path of a .yaml or .json migration file',
        cause: error,
      },
    );
  }
  return parseMigration(text, absolute);
}

/** Parses migration text; `file` names it in problems and gives the default name. */
export async function parseMigration(text: string, file: string): Promise<Migration> {
  await ensureParser();
  const source = new MigrationSource(file, text);
  const checksum = createHash('sha256').update(text).digest('hex');
  const fail = () =>
    new PgpactError(
      'MIGRATION_INVALID',
      `the migration ${path.basename(file)} has ${source.problems.length} problem(s)`,
      {
        problems: source.problems,
        hint: 'see `pgpact migrate --help` for the operations and their fields',
      },
    );
  if (source.problems.length > 0) throw fail();
  const value = source.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    source.report('', 'a migration file is a mapping with `operations` (and optionally `name`)');
    throw fail();
  }
  const top = new Fields(source, '', value as Record<string, unknown>, 'the migration');
  const given = top.string('name');
  // The name is printed in every message and status: no terminal control sequences in it.
  if (given !== undefined && /[\u0000-\u001f\u007f]/.test(given))
    top.report('name', 'the migration `name` holds a control character (newline, escape...)');
  const name = given ?? path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  const defaultSchema = top.name('schema') ?? 'public';
  const schemaUrl = top.string('$schema');
  // pgroll's versioned-view schema: pgpact keeps both shapes in the table, so there is none to name.
  top.ignore('version_schema');
  const sql: SqlToCheck[] = [];
  const kinds: string[] = [];
  const operations: Operation[] = [];
  for (const opFields of top.objects('operations', 'an operation', true) ?? []) {
    kinds.push(...Object.keys(opFields.value));
    const op = readOperation(opFields, { defaultSchema, sql });
    if (Array.isArray(op)) operations.push(...op);
    else if (op) operations.push(op);
  }
  top.reportUnknown();
  for (const item of sql) {
    const result =
      item.kind === 'expression'
        ? parseExpression(item.sql)
        : item.kind === 'type'
          ? parseTypeName(item.sql)
          : parseScript(item.sql);
    if (!result.ok) {
      item.fields.report(
        item.key,
        `\`${item.key}\` is not ${item.kind === 'type' ? 'a type name' : 'valid SQL'}: ${result.message}${result.position === undefined ? '' : ` at character ${result.position}`}`,
        item.kind === 'expression'
          ? "write one SQL expression over the row, e.g. split_part(street_and_number, ' ', 1)"
          : item.kind === 'type'
            ? 'write one type name, e.g. text, numeric(10,2), timestamptz or int[]'
            : undefined,
      );
    }
  }
  checkConsistency(operations, (message, hint) => source.report('operations', message, hint));
  if (source.problems.length > 0) throw fail();
  const format =
    kinds.some((k) => PGROLL_ONLY_OPERATIONS.includes(k)) || schemaUrl?.includes('pgroll')
      ? 'pgroll'
      : 'pgpact';
  return { name, file, checksum, format, operations };
}

/** Checks what can be checked without a database: duplicate names, one change per column, operations on new tables. */
function checkConsistency(
  operations: Operation[],
  report: (message: string, hint?: string) => void,
): void {
  const created = operations.flatMap((o) => {
    const f = definitionOf(o).footprint(o);
    return f.createsTable && f.table ? [f.table] : [];
  });
  const touched = new Map<string, string>();
  const file: FileCheck = {
    report,
    claim(table, column, by) {
      const key = columnLabel(table, column);
      const previous = touched.get(key);
      if (previous !== undefined)
        report(
          `${key} is changed by both ${previous} and ${by}`,
          'one operation per column and migration: split it into two migrations',
        );
      else touched.set(key, by);
    },
    creates: (table) => created.some((t) => sameTable(t, table)),
  };
  for (const o of operations) {
    const definition = definitionOf(o);
    const footprint = definition.footprint(o);
    if (!footprint.table || footprint.createsTable) continue;
    definition.checkFile?.(o, file);
  }
}
