import { PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import { type OwnRoleKind, readOwnRoles } from '../postgres/own-roles.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { analyzeStatement } from '../sql/analyze.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import { readStatementStats } from '../usage/statement-stats.js';
import { isMarked, MARKER } from './sql-run.js';
import { tableKey } from './names.js';
import type { MigrationPlan } from './plan-types.js';

/**
 * Observed use of the old shape: statements in pg_stat_statements whose call
 * count grew since the migration started, analyzed with pgpact's statement
 * analyzer against the live catalog. The baseline is a map of
 * `role:queryid` → calls taken at start.
 */

/** One statement entry of pg_stat_statements in this database (top-level and nested merged). */
export interface StatementCount {
  key: string;
  role: string;
  queryId: string;
  calls: number;
  query: string;
  /**
   * Set when the role is one of pgpact's own (the admin pgpact runs as, the bootstrap
   * superuser, the monitoring role): their statements (a DBA's checks in psql, pgpact's
   * own reads) are no consumer's, unless a service of the manifest uses that role.
   */
  own?: OwnRoleKind;
}

/** The statement counters of this database, or why they cannot be read. */
export type StatementCounts =
  | { ok: true; counts: StatementCount[] }
  | { ok: false; reason: string };

/** Reads every statement counter of the current database (via the usage module's pg_stat_statements reader). */
export async function readStatementCounts(client: Queryable): Promise<StatementCounts> {
  let stats: Awaited<ReturnType<typeof readStatementStats>>;
  try {
    stats = await readStatementStats(client);
  } catch (error) {
    if (
      error instanceof PgpactError &&
      (error.code === 'PG_STAT_STATEMENTS_MISSING' || error.code === 'INSUFFICIENT_PRIVILEGE')
    ) {
      return { ok: false, reason: `${error.message}${error.hint ? ` (${error.hint})` : ''}` };
    }
    throw error;
  }
  // Loaded but told to count nothing: an empty list would read as "nobody uses it".
  const { rows } = await client.query<{ track: string | null }>(
    `${MARKER} SELECT current_setting('pg_stat_statements.track', true) AS track`,
  );
  if (rows[0]?.track === 'none')
    return {
      ok: false,
      reason:
        "pg_stat_statements.track is 'none' in this database, so no statement is counted (set it to top or all)",
    };
  const own = await readOwnRoles(client);
  // Top-level and nested entries of one statement count together.
  const byKey = new Map<string, StatementCount>();
  for (const e of stats.entries) {
    if (e.query === undefined) continue;
    const key = `${e.role}:${e.queryId}`;
    const seen = byKey.get(key);
    if (seen) seen.calls += e.calls;
    else {
      const kind = own.get(e.role);
      byKey.set(key, {
        key,
        role: e.role,
        queryId: e.queryId,
        calls: e.calls,
        query: e.query,
        ...(kind === undefined ? {} : { own: kind }),
      });
    }
  }
  return { ok: true, counts: [...byKey.values()] };
}

/** The baseline recorded at start: calls per statement, or why statistics are unavailable. */
export async function takeBaseline(
  client: Queryable,
): Promise<{ ok: true; baseline: Record<string, number> } | { ok: false; reason: string }> {
  const read = await readStatementCounts(client);
  if (!read.ok) return read;
  return { ok: true, baseline: Object.fromEntries(read.counts.map((c) => [c.key, c.calls])) };
}

/** What to do to get the evidence complete needs. */
export const EVIDENCE_HINT =
  "load pg_stat_statements (shared_preload_libraries = 'pg_stat_statements', restart, CREATE EXTENSION pg_stat_statements) and let the migrating role read every role's statements (GRANT pg_read_all_stats, or a superuser); then run pgpact migrate status to start observing";

/** A statement that ran since start and touches the old shape. */
export interface OldShapeStatement extends StatementCount {
  /** Calls since the migration started (all calls when the counters were reset since). */
  callsSinceStart: number;
  reads: string[];
  writes: string[];
  /** The relations of `relations` it touches (a dropped or renamed table used by its old name). */
  relations?: string[];
  /** Columns of `notNull` its INSERT leaves out (`schema.table.column`). */
  omits?: string[];
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
  /** Columns complete makes NOT NULL without a default: an INSERT leaving one out uses the old shape. */
  notNull: Set<string> = new Set(),
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
    const touched = [
      ...new Set(
        [...analysis.relations.read, ...analysis.relations.write].filter((r) => relations.has(r)),
      ),
    ];
    const omits = [...notNull].filter((k) => {
      const given = analysis.inserts?.[relationOf(k)];
      return given !== undefined && !given.includes(k);
    });
    if (reads.length + writes.length + omits.length === 0 && touched.length === 0) continue;
    out.push({
      ...c,
      callsSinceStart: since,
      reads,
      writes,
      relations: touched,
      ...(omits.length > 0 ? { omits } : {}),
    });
  }
  return out;
}

/** The columns complete makes NOT NULL without a default (`schema.table.column`). */
export function notNullAtComplete(plan: MigrationPlan): Set<string> {
  return new Set((plan.notNullAtComplete ?? []).map((n) => `${tableKey(n.table)}.${n.column}`));
}

function relationOf(columnKey: string): string {
  return columnKey.slice(0, columnKey.lastIndexOf('.'));
}
