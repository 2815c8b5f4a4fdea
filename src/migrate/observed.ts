import type { Queryable } from '../postgres/client.js';
import type { CatalogSnapshot } from '../postgres/catalog-types.js';
import { analyzeStatement } from '../sql/analyze.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import { isMarked, MARKER } from './sql-run.js';

/**
 * Observed use of the old shape: statements in pg_stat_statements whose call
 * count grew since the migration started, analyzed with pgpact's statement
 * analyzer against the live catalog. The baseline is a map of
 * `userid:queryid` → calls taken at start.
 */

/** One statement entry of pg_stat_statements in this database (top-level and nested merged). */
export interface StatementCount {
  key: string;
  role: string;
  queryId: string;
  calls: number;
  query: string;
}

/** Whether pg_stat_statements can be read here, and why not. */
export type StatementSource = { ok: true; schema: string } | { ok: false; reason: string };

/** Finds the pg_stat_statements view of this database. */
export async function statementSource(client: Queryable): Promise<StatementSource> {
  const { rows } = await client.query<{ schema: string }>(
    `${MARKER} SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  if (rows.length === 0)
    return {
      ok: false,
      reason: 'the pg_stat_statements extension is not installed in this database',
    };
  try {
    await client.query(
      `${MARKER} SELECT 1 FROM ${quoteSchema(rows[0]!.schema)}.pg_stat_statements LIMIT 1`,
    );
  } catch (error) {
    return { ok: false, reason: `pg_stat_statements cannot be read: ${(error as Error).message}` };
  }
  return { ok: true, schema: rows[0]!.schema };
}

function quoteSchema(schema: string): string {
  return `"${schema.replaceAll('"', '""')}"`;
}

/** Reads every statement counter of the current database. */
export async function readStatementCounts(
  client: Queryable,
  source: { schema: string },
): Promise<StatementCount[]> {
  const { rows } = await client.query<{
    userid: string;
    role: string | null;
    queryid: string;
    calls: string;
    query: string;
  }>(
    `${MARKER} SELECT s.userid::text AS userid, r.rolname AS role, s.queryid::text AS queryid,
            sum(s.calls)::text AS calls, min(s.query) AS query
     FROM ${quoteSchema(source.schema)}.pg_stat_statements s
     LEFT JOIN pg_roles r ON r.oid = s.userid
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.queryid IS NOT NULL
     GROUP BY s.userid, r.rolname, s.queryid`,
  );
  return rows.map((r) => ({
    key: `${r.userid}:${r.queryid}`,
    role: r.role ?? `oid ${r.userid}`,
    queryId: r.queryid,
    calls: Number(r.calls),
    query: r.query,
  }));
}

/** The baseline recorded at start: calls per statement, or undefined when statistics are unavailable. */
export async function takeBaseline(client: Queryable): Promise<Record<string, number> | undefined> {
  const source = await statementSource(client);
  if (!source.ok) return undefined;
  const counts = await readStatementCounts(client, source);
  return Object.fromEntries(counts.map((c) => [c.key, c.calls]));
}

/** A statement that ran since start and touches the old shape. */
export interface OldShapeStatement extends StatementCount {
  /** Calls since the migration started (all calls when the counters were reset since). */
  callsSinceStart: number;
  reads: string[];
  writes: string[];
}

/**
 * The statements run since the baseline that read or write any of `columns`
 * (`schema.table.column`) or touch any of `relations` (`schema.table`).
 * pgpact's own statements (marked with MARKER) are left out.
 */
export async function statementsUsingOldShape(
  counts: StatementCount[],
  baseline: Record<string, number>,
  catalog: CatalogSnapshot,
  columns: Set<string>,
  relations: Set<string>,
): Promise<OldShapeStatement[]> {
  await loadParser();
  const index = createCatalogIndex(catalog);
  const out: OldShapeStatement[] = [];
  for (const c of counts) {
    const before = baseline[c.key] ?? 0;
    // A counter below its baseline was reset since start: all its calls are recent.
    const since = c.calls >= before ? c.calls - before : c.calls;
    if (since <= 0 || isMarked(c.query)) continue;
    const analysis = analyzeStatement(c.query, index, { role: c.role });
    const reads = analysis.reads.filter((k) => columns.has(k) || relations.has(relationOf(k)));
    const writes = analysis.writes.filter((k) => columns.has(k) || relations.has(relationOf(k)));
    const touchesRelation = [...analysis.relations.read, ...analysis.relations.write].some((r) =>
      relations.has(r),
    );
    if (reads.length + writes.length === 0 && !touchesRelation) continue;
    out.push({ ...c, callsSinceStart: since, reads, writes });
  }
  return out;
}

function relationOf(columnKey: string): string {
  return columnKey.slice(0, columnKey.lastIndexOf('.'));
}
