/** Reading pg_stat_statements: what each role ran in this database, with its counters. */
import { createHash } from 'node:crypto';
import { isServerError, PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import { quoteIdent } from '../postgres/quote.js';
import { loadParser } from '../sql/parse.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';

/** One pg_stat_statements entry (a distinct statement of one role). */
export interface StatementStat {
  role: string;
  /** pg_stat_statements.queryid, or a stable id derived from the text when the source has none. */
  queryId: string;
  /**
   * Normalized text (constants as $n); undefined when the server no longer has it. A text
   * that carries a password is withheld (withholdSecretStatement) as soon as it is read.
   */
  query: string | undefined;
  toplevel: boolean;
  calls: number;
  rows: number;
  /** Execution plus planning time. */
  totalTimeMs: number;
}

/** Every entry of one database at one moment. */
export interface StatementStats {
  database: string;
  /** ISO time the counters were read. */
  takenAt: string;
  /** ISO time of the last pg_stat_statements reset, when known. */
  statsReset?: string;
  /** track_activity_query_size in bytes, when read live (texts this long may be cut). */
  queryTextLimit?: number;
  source: 'live' | 'file';
  entries: StatementStat[];
}

const ENABLE_HINT = (preloaded: boolean | null, database: string) =>
  preloaded === true
    ? `run CREATE EXTENSION pg_stat_statements; in database ${database} (as a superuser or the database owner)`
    : `add pg_stat_statements to shared_preload_libraries in postgresql.conf (e.g. shared_preload_libraries = 'pg_stat_statements'), restart Postgres, then run CREATE EXTENSION pg_stat_statements; in database ${database}`;

function missing(preloaded: boolean | null, database: string, why: string): PgpactError {
  return new PgpactError(
    'PG_STAT_STATEMENTS_MISSING',
    `pg_stat_statements is not available in database ${database}: ${why}`,
    {
      hint: ENABLE_HINT(preloaded, database),
    },
  );
}

function privilegeError(user: string, detail?: string): PgpactError {
  return new PgpactError(
    'INSUFFICIENT_PRIVILEGE',
    `role ${user} may not read other roles' statements in pg_stat_statements`,
    {
      hint: `GRANT pg_read_all_stats TO ${quoteIdent(user)}; (or connect as a superuser)`,
      ...(detail === undefined ? {} : { detail }),
    },
  );
}

/** A memory setting as Postgres shows it (`1kB`, `4096`, `1MB`) in bytes. */
function sizeInBytes(setting: string): number | undefined {
  const m = /^(\d+)\s*(B|kB|MB)?$/.exec(setting.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'kB' ? 1024 : m[2] === 'MB' ? 1024 * 1024 : 1);
}

/**
 * Reads pg_stat_statements for the current database: role names (userid → pg_roles),
 * query ids and texts, calls, rows and time. Throws PG_STAT_STATEMENTS_MISSING (with
 * how to enable it) and INSUFFICIENT_PRIVILEGE (with the grant that fixes it).
 */
export async function readStatementStats(client: Queryable): Promise<StatementStats> {
  await loadParser();
  const { rows: info } = await client.query<{
    database: string;
    user: string;
    schema: string | null;
    preloaded: boolean | null;
    limit: string | null;
    now: string;
  }>(`
    SELECT current_database() AS database, current_user AS user,
           (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_stat_statements') AS schema,
           -- pg_settings hides shared_preload_libraries from roles without pg_read_all_settings: NULL then.
           (SELECT 'pg_stat_statements' = ANY (string_to_array(replace(setting, ' ', ''), ','))
              FROM pg_settings WHERE name = 'shared_preload_libraries') AS preloaded,
           (SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = 'track_activity_query_size') AS limit,
           to_json(now())#>>'{}' AS now`);
  const meta = info[0]!;
  if (meta.schema === null)
    throw missing(meta.preloaded, meta.database, 'the extension is not created');
  const view = `${quoteIdent(meta.schema)}.pg_stat_statements`;
  let rows: {
    role: string | null;
    userid: string;
    queryid: string | null;
    query: string | null;
    toplevel: boolean;
    calls: string;
    rows: string;
    total_ms: number;
  }[];
  let statsReset: string | undefined;
  try {
    ({ rows } = await client.query(`
      SELECT r.rolname AS role, s.userid::oid::text AS userid, s.queryid::text AS queryid, s.query,
             s.toplevel, s.calls::text AS calls, s.rows::text AS rows,
             (s.total_exec_time + s.total_plan_time)::float8 AS total_ms
      FROM ${view} s LEFT JOIN pg_roles r ON r.oid = s.userid
      WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`));
    const reset = await client.query<{ reset: string | null }>(
      `SELECT to_json(stats_reset)#>>'{}' AS reset FROM ${quoteIdent(meta.schema)}.pg_stat_statements_info`,
    );
    statsReset = reset.rows[0]?.reset ?? undefined;
  } catch (error) {
    if (isServerError(error) && error.code === '55000') {
      throw missing(
        meta.preloaded,
        meta.database,
        'the library is not loaded (shared_preload_libraries)',
      );
    }
    if (isServerError(error) && error.code === '42501')
      throw privilegeError(meta.user, error.message);
    throw error;
  }
  if (rows.some((r) => r.query === '<insufficient privilege>')) throw privilegeError(meta.user);
  return {
    database: meta.database,
    takenAt: meta.now,
    ...(statsReset === undefined ? {} : { statsReset }),
    ...(meta.limit === null || sizeInBytes(meta.limit) === undefined
      ? {}
      : { queryTextLimit: sizeInBytes(meta.limit) }),
    source: 'live',
    entries: rows.map((r) => {
      const query = r.query === null ? undefined : withholdSecretStatement(r.query);
      return {
        // A role dropped since it ran keeps its oid only.
        role: r.role ?? `oid:${r.userid}`,
        queryId: r.queryid ?? textQueryId(query ?? ''),
        query,
        toplevel: r.toplevel,
        calls: Number(r.calls),
        rows: Number(r.rows),
        totalTimeMs: r.total_ms,
      };
    }),
  };
}

/**
 * How often pg_stat_statements dropped its least-used entries since its last reset to make
 * room (pg_stat_statements_info.dealloc), and how many it keeps (pg_stat_statements.max):
 * after an eviction, who ran what is incomplete. Undefined when it cannot be read.
 */
export async function readStatementEvictions(
  client: Queryable,
): Promise<{ evictions: number; max?: number } | undefined> {
  try {
    const { rows } = await client.query<{ schema: string | null; max: string | null }>(
      `SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                WHERE e.extname = 'pg_stat_statements') AS schema,
              current_setting('pg_stat_statements.max', true) AS max`,
    );
    const schema = rows[0]?.schema;
    if (!schema) return undefined;
    const info = await client.query<{ dealloc: string }>(
      `SELECT dealloc::text AS dealloc FROM ${quoteIdent(schema)}.pg_stat_statements_info`,
    );
    const max = rows[0]?.max ? Number(rows[0].max) : undefined;
    return {
      evictions: Number(info.rows[0]?.dealloc ?? 0),
      ...(max === undefined || Number.isNaN(max) ? {} : { max }),
    };
  } catch {
    return undefined;
  }
}

/** A stable id for a statement known by its text only (an export, a server without query ids). */
export function textQueryId(query: string): string {
  return `text:${createHash('sha1').update(query).digest('hex').slice(0, 16)}`;
}

/** Resets pg_stat_statements (the next window starts now). Needs superuser or EXECUTE on the function. */
export async function resetStatementStats(client: Queryable): Promise<void> {
  const { rows } = await client.query<{ schema: string | null; user: string }>(
    `SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
              WHERE e.extname = 'pg_stat_statements') AS schema, current_user AS user`,
  );
  const schema = rows[0]?.schema;
  if (!schema) throw missing(true, 'this database', 'the extension is not created');
  try {
    await client.query(`SELECT ${quoteIdent(schema)}.pg_stat_statements_reset()`);
  } catch (error) {
    if (isServerError(error) && error.code === '42501') {
      throw new PgpactError(
        'INSUFFICIENT_PRIVILEGE',
        `role ${rows[0]!.user} may not reset pg_stat_statements`,
        {
          hint: `connect as a superuser, or GRANT EXECUTE on ${quoteIdent(schema)}.pg_stat_statements_reset to ${quoteIdent(rows[0]!.user)}; or observe without --reset`,
        },
      );
    }
    throw error;
  }
}
