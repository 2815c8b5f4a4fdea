import { quoteIdent } from '../postgres/quote.js';

/**
 * The statistics queries the sampler runs each interval. Each is one round trip;
 * the lock query runs only when some session waits for a lock, and query texts
 * are fetched only for statements not seen before (reading them makes
 * pg_stat_statements load its whole text file).
 */

/** Server-wide facts of one sample: time, limits and the deadlock counter. */
export const META_SQL = `
SELECT now() AS now,
       current_database() AS database,
       current_setting('server_version_num')::int AS version,
       current_setting('max_connections')::int AS max_connections,
       (SELECT coalesce(sum(deadlocks), 0)::float8 FROM pg_stat_database) AS deadlocks,
       (SELECT coalesce(json_object_agg(rolname, rolconnlimit), '{}'::json)
          FROM pg_roles WHERE rolcanlogin AND rolconnlimit >= 0) AS limits`;

export interface MetaRow {
  now: Date;
  database: string;
  version: number;
  max_connections: number;
  deadlocks: number;
  limits: Record<string, number>;
}

/**
 * Every process but the sampler's own; blockers only for lock waiters (pg_blocking_pids is
 * not free). Without parameters, so it can share a round trip with the other queries.
 */
export const activitySql = (textLength: number) => `
SELECT a.pid, a.usename AS role, coalesce(a.application_name, '') AS application_name,
       a.datname AS database, coalesce(a.backend_type, 'client backend') AS backend_type,
       a.state, a.leader_pid, a.backend_start, a.query_start,
       extract(epoch FROM now() - a.xact_start) * 1000 AS transaction_ms,
       extract(epoch FROM now() - a.state_change) * 1000 AS state_ms,
       extract(epoch FROM now() - a.query_start) * 1000 AS query_ms,
       a.wait_event_type, a.wait_event,
       left(coalesce(a.query, ''), ${Math.max(1, Math.trunc(textLength))}) AS query,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid()`;

export interface ActivityRow {
  pid: number;
  role: string | null;
  application_name: string;
  database: string | null;
  backend_type: string;
  state: string | null;
  leader_pid: number | null;
  backend_start: Date | null;
  query_start: Date | null;
  transaction_ms: string | number | null;
  state_ms: string | number | null;
  query_ms: string | number | null;
  wait_event_type: string | null;
  wait_event: string | null;
  query: string;
  blocked_by: number[] | null;
}

/**
 * The lock each waiting process waits for, resolved to a relation (in this
 * database) and, for row locks, the row: a waiter on a transaction id holds the
 * tuple lock of the row it wants. pg_locks is read once.
 */
export const LOCK_WAITS_SQL = `
WITH l AS MATERIALIZED (
  SELECT * FROM pg_locks WHERE pid = ANY($1::int[]) AND (NOT granted OR locktype = 'tuple')
), here AS (SELECT oid FROM pg_database WHERE datname = current_database())
SELECT w.pid, w.locktype, w.mode, w.waitstart,
       extract(epoch FROM now() - coalesce(w.waitstart, a.state_change)) * 1000 AS waited_ms,
       w.transactionid::text AS transaction_id, w.virtualxid, w.classid::text AS classid,
       w.objid::text AS objid, w.objsubid, w.database::int AS database_oid,
       w.relation::int AS relation_oid, n.nspname AS schema, c.relname AS relation,
       coalesce(w.page, t.page) AS page, coalesce(w.tuple, t.tuple) AS tuple,
       t.relation::int AS tuple_relation_oid, tn.nspname AS tuple_schema, tc.relname AS tuple_relation
FROM l w
JOIN pg_stat_activity a ON a.pid = w.pid
LEFT JOIN pg_class c ON c.oid = w.relation AND w.database = (SELECT oid FROM here)
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT g.relation, g.page, g.tuple, g.database FROM l g
  WHERE g.pid = w.pid AND g.granted AND g.locktype = 'tuple' AND w.locktype = 'transactionid'
  LIMIT 1) t ON true
LEFT JOIN pg_class tc ON tc.oid = t.relation AND t.database = (SELECT oid FROM here)
LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE NOT w.granted`;

export interface LockWaitRow {
  pid: number;
  locktype: string;
  mode: string;
  waitstart: Date | null;
  waited_ms: string | number | null;
  transaction_id: string | null;
  virtualxid: string | null;
  classid: string | null;
  objid: string | null;
  objsubid: number | null;
  database_oid: number | null;
  relation_oid: number | null;
  schema: string | null;
  relation: string | null;
  page: number | null;
  tuple: number | null;
  tuple_relation_oid: number | null;
  tuple_schema: string | null;
  tuple_relation: string | null;
}

/** The schema pg_stat_statements is installed in (not always on the search path, e.g. `extensions`). */
export const STATEMENTS_SCHEMA_SQL = `
SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'`;

/** Cumulative statement counters, top-level statements only (nested ones are inside them), no texts. */
export const STATEMENTS_SQL = `
SELECT coalesce(r.rolname, 'oid ' || s.userid::text) AS role, s.userid::text AS userid,
       s.dbid::text AS dbid, s.queryid::text AS queryid, s.calls::float8 AS calls,
       (s.total_exec_time + s.total_plan_time)::float8 AS time_ms
FROM @pgss(false) s
LEFT JOIN pg_roles r ON r.oid = s.userid
WHERE s.toplevel AND s.queryid IS NOT NULL`;

export interface StatementRow {
  role: string;
  userid: string;
  dbid: string;
  queryid: string;
  calls: number;
  time_ms: number;
}

/** Cumulative counters per role: cheap to read every second (a few rows, whatever the number of statements). */
export const ROLE_TOTALS_SQL = `
SELECT coalesce(r.rolname, 'oid ' || s.userid::text) AS role,
       sum(s.calls)::float8 AS calls,
       sum(s.total_exec_time + s.total_plan_time)::float8 AS time_ms
FROM @pgss(false) s
LEFT JOIN pg_roles r ON r.oid = s.userid
WHERE s.toplevel
GROUP BY 1`;

export interface RoleTotalsRow {
  role: string;
  calls: number;
  time_ms: number;
}

/** Texts of a few statements by query id. */
export const STATEMENT_TEXTS_SQL = `
SELECT DISTINCT ON (queryid) queryid::text AS queryid, left(query, $2::int) AS query
FROM @pgss(true) WHERE queryid = ANY($1::bigint[])`;

/** Whether the monitoring role sees every session's query (superuser or pg_monitor / pg_read_all_stats). */
export const PRIVILEGE_SQL = `
SELECT r.rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all,
       r.rolsuper AS superuser
FROM pg_roles r WHERE r.rolname = current_user`;

/** A statements query with the extension's function qualified by its schema. */
export function inSchema(sql: string, schema: string): string {
  return sql.replaceAll('@pgss', `${quoteIdent(schema)}.pg_stat_statements`);
}

/** Converts a numeric column that may arrive as a string (numeric) to a number, null kept. */
export function toNumber(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}
