import type { Queryable } from '../postgres/client.js';
import { quoteIdent } from '../postgres/quote.js';
import type { MigrationFile, MigrationStatement } from './migration-file.js';
import { type Act, type StatementFacts, statementFacts } from '../sql/ddl-facts.js';

/** A relation an act names, resolved in the database right before the statement ran. */
export interface ResolvedTarget {
  schema: string;
  name: string;
  /** The relation's oid when it existed before the statement. */
  oid?: number;
}

/** A Postgres error met while applying a statement. */
export interface StatementError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  /** 1-based character position in the statement, when Postgres gave one. */
  position?: number;
}

export type StatementStatus = 'applied' | 'applied-as-admin' | 'skipped' | 'failed' | 'not-run';

/** A statement of the new migration with what it did in the shadow database. */
export interface AppliedStatement {
  statement: MigrationStatement;
  facts: StatementFacts;
  /** The acts, each with its resolved target (same order as facts.acts). */
  targets: (ResolvedTarget | undefined)[];
  /** The role it ran as (undefined: the admin user). */
  role?: string;
  /** The manifest service the file belongs to. */
  service?: string;
  status: StatementStatus;
  /** Why it was skipped, for skipped statements. */
  reason?: string;
  /** The error: the failure, or the privilege error that made it run as the admin. */
  error?: StatementError;
  /** Existing relations whose storage was rewritten by the statement (relfilenode changed). */
  rewritten: ResolvedTarget[];
  /** The schema CREATE statements put unqualified objects in. */
  currentSchema?: string;
}

export interface ApplyOptions {
  /** The service (and its role) each file is applied as, by file display path. */
  serviceOfFile: Map<string, { service: string; role: string } | undefined>;
  /**
   * `shadow`: a throwaway database, statements run as written (autocommit).
   * `rollback`: the caller holds a transaction that will be rolled back; only DDL runs,
   * transaction control, settings, DML and non-transactional statements are skipped.
   */
  mode: 'shadow' | 'rollback';
  /** The search_path a service's file runs with, as `pgpact apply` runs it (its schemas, then public). */
  searchPathOf?: (service: string) => string | undefined;
}

const DDL_ONLY_SKIP = new Set([
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'DoStmt',
  'CallStmt',
  'SelectStmt',
  'LockStmt',
]);

function toStatementError(error: unknown): StatementError {
  const e = error as {
    message?: string;
    code?: string;
    detail?: string;
    hint?: string;
    position?: string;
  };
  return {
    message: e.message ?? String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(e.detail ? { detail: e.detail } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.position ? { position: Number(e.position) } : {}),
  };
}

type Located = {
  i: number;
  oid: number | null;
  filenode: number | null;
  schema: string | null;
  name: string | null;
  current: string | null;
};

async function resolveTargets(
  client: Queryable,
  acts: Act[],
): Promise<{
  targets: (ResolvedTarget | undefined)[];
  current?: string;
  filenodes: Map<number, number>;
}> {
  const withRel = acts.map((a, i) => ({ a, i })).filter(({ a }) => a.rel !== undefined);
  const { rows } = await client.query<Located>(
    `SELECT q.i::int AS i, c.oid::int AS oid, c.relfilenode::int AS filenode, c.nspname AS schema, c.relname AS name,
            current_schema() AS current
       FROM unnest($1::text[], $2::text[], $3::int[]) AS q(schema, name, i)
       LEFT JOIN LATERAL (
         SELECT c.oid, c.relfilenode, n.nspname, c.relname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = q.name AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND CASE WHEN q.schema IS NULL THEN n.nspname = ANY (current_schemas(false)) ELSE n.nspname = q.schema END
          ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1) c ON true
     UNION ALL SELECT -1, NULL, NULL, NULL, NULL, current_schema()`,
    [
      withRel.map(({ a }) => a.rel!.schema ?? null),
      withRel.map(({ a }) => a.rel!.name),
      withRel.map(({ i }) => i),
    ],
  );
  const current = rows.find((r) => r.i === -1)?.current ?? undefined;
  const targets: (ResolvedTarget | undefined)[] = acts.map(() => undefined);
  const filenodes = new Map<number, number>();
  for (const r of rows) {
    if (r.i < 0) continue;
    const act = acts[r.i]!;
    if (r.oid !== null && r.schema !== null && r.name !== null) {
      targets[r.i] = { schema: r.schema, name: r.name, oid: r.oid };
      if (r.filenode !== null && r.filenode !== 0) filenodes.set(r.oid, r.filenode);
    } else {
      const schema = act.rel!.schema ?? current;
      if (schema) targets[r.i] = { schema, name: act.rel!.name };
    }
  }
  return { targets, ...(current ? { current } : {}), filenodes };
}

async function rewrittenSince(
  client: Queryable,
  before: Map<number, number>,
  targets: (ResolvedTarget | undefined)[],
): Promise<ResolvedTarget[]> {
  if (before.size === 0) return [];
  const { rows } = await client.query<{ oid: number; filenode: number }>(
    'SELECT oid::int AS oid, relfilenode::int AS filenode FROM pg_class WHERE oid = ANY ($1::oid[])',
    [[...before.keys()]],
  );
  const seen = new Set<number>();
  const result: ResolvedTarget[] = [];
  for (const r of rows) {
    if (before.get(r.oid) === r.filenode || seen.has(r.oid)) continue;
    seen.add(r.oid);
    const t = targets.find((x) => x?.oid === r.oid);
    if (t) result.push(t);
  }
  return result;
}

/**
 * Applies the new migration's statements one by one, each file as its service's role.
 * A statement refused for lack of privilege (DDL on another service's schema) is recorded
 * and run again as the admin, so the impact of the rest is still computed; any other
 * error stops the migration there, as it would in production.
 */
export async function applyMigration(
  client: Queryable,
  files: MigrationFile[],
  options: ApplyOptions,
): Promise<AppliedStatement[]> {
  const applied: AppliedStatement[] = [];
  let inUserTransaction = false;
  let stopped = false;
  for (const file of files) {
    const owner = options.serviceOfFile.get(file.display);
    const role = owner?.role;
    await client.query('RESET ROLE');
    if (role !== undefined) await client.query(`SET ROLE ${quoteIdent(role)}`);
    const searchPath = owner ? options.searchPathOf?.(owner.service) : undefined;
    await client.query(
      searchPath === undefined ? 'RESET search_path' : `SET search_path TO ${searchPath}`,
    );
    for (const statement of file.statements) {
      const facts = statementFacts(statement.node);
      const entry: AppliedStatement = {
        statement,
        facts,
        targets: facts.acts.map(() => undefined),
        ...(role === undefined ? {} : { role }),
        ...(owner ? { service: owner.service } : {}),
        status: 'not-run',
        rewritten: [],
      };
      applied.push(entry);
      if (stopped) continue;
      const skip = skipReason(statement, facts, options.mode);
      const resolved = await resolveTargets(client, facts.acts);
      entry.targets = resolved.targets;
      if (resolved.current) entry.currentSchema = resolved.current;
      if (skip) {
        entry.status = 'skipped';
        entry.reason = skip;
        continue;
      }
      const wrap =
        (options.mode === 'rollback' || inUserTransaction) && facts.transaction === undefined;
      let error = await execute(client, statement.sql, wrap);
      if (error && (error as { code?: string }).code === '42501' && role !== undefined) {
        entry.error = toStatementError(error);
        await client.query('RESET ROLE');
        error = await execute(client, statement.sql, wrap);
        await client.query(`SET ROLE ${quoteIdent(role)}`);
        if (!error) entry.status = 'applied-as-admin';
      } else if (!error) {
        entry.status = 'applied';
      }
      if (error) {
        entry.status = 'failed';
        entry.error = toStatementError(error);
        stopped = true;
        if (inUserTransaction) await client.query('ROLLBACK').catch(() => undefined);
        inUserTransaction = false;
        continue;
      }
      if (facts.transaction === 'begin') inUserTransaction = true;
      if (facts.transaction === 'commit' || facts.transaction === 'rollback')
        inUserTransaction = false;
      entry.rewritten = await rewrittenSince(client, resolved.filenodes, entry.targets);
    }
  }
  if (inUserTransaction && options.mode === 'shadow')
    await client.query('COMMIT').catch(() => undefined);
  await client.query('RESET ROLE');
  await client.query('RESET search_path');
  return applied;
}

function skipReason(
  statement: MigrationStatement,
  facts: StatementFacts,
  mode: ApplyOptions['mode'],
): string | undefined {
  if (mode !== 'rollback') return undefined;
  if (facts.transaction !== undefined)
    return 'transaction control is not run against a live database';
  if (facts.outsideTransaction)
    return 'cannot run inside the rolled-back transaction used against a live database';
  if (facts.setting && facts.setting.name !== 'search_path')
    return 'settings are not run against a live database';
  if (DDL_ONLY_SKIP.has(statement.type))
    return 'only DDL is run against a live database (no data is read or changed)';
  return undefined;
}

async function execute(client: Queryable, sql: string, savepoint: boolean): Promise<unknown> {
  if (savepoint) await client.query('SAVEPOINT pgpact_statement');
  try {
    await client.query(sql);
    if (savepoint) await client.query('RELEASE SAVEPOINT pgpact_statement');
    return undefined;
  } catch (error) {
    if (savepoint)
      await client.query('ROLLBACK TO SAVEPOINT pgpact_statement').catch(() => undefined);
    return error;
  }
}
