/**
 * pg_stat_statements entries → observed usage per role: each distinct statement is
 * analyzed once (cached by query id), then its calls, rows and time are added to
 * every column and relation it reads or writes.
 */
import type { Manifest } from '../manifest/types.js';
import { serviceOfRole } from '../manifest/types.js';
import { analyzeStatement, type StatementAnalysis } from '../sql/analyze.js';
import type { CatalogIndex, IndexedRelation } from '../sql/catalog-index.js';
import { parseEach } from '../sql/parse.js';
import { isWithheldStatement } from '../sql/secret-statements.js';
import type { StatementStat, StatementStats } from './statement-stats.js';
import type { AccessCount, RoleUsage, StatementUsage, UsageSnapshot } from './types.js';

/** A statement's analysis, or why there is none. */
export interface AnalyzedStatement {
  analysis: StatementAnalysis;
  error?: string;
}

/**
 * The cache key of an entry's analysis. A pg_stat_statements query id already pins the
 * relations it resolved (their OIDs are part of it), so it is the same for every role;
 * ids derived from the text are not, so those are kept apart per role.
 */
export function analysisKey(e: StatementStat): string {
  return e.queryId.startsWith('text:') ? `${e.queryId}\u0000${e.role}` : e.queryId;
}

function explainFailure(
  query: string,
  analysis: StatementAnalysis,
  limit: number | undefined,
): string {
  const issue = analysis.syntaxError!;
  const atEnd = /end of input/.test(issue.message);
  const bytes = Buffer.byteLength(query);
  if (atEnd && limit !== undefined && bytes >= limit - 1) {
    return `the text is cut at ${bytes} bytes (track_activity_query_size = ${limit}): raise track_activity_query_size`;
  }
  if (atEnd)
    return `the text looks truncated (${issue.message}); if it came through pg_stat_activity or a log, raise track_activity_query_size`;
  return `syntax error at line ${issue.line}, column ${issue.column}: ${issue.message}`;
}

/**
 * Whether an entry is one of Postgres's own foreign-key queries (checks and cascades run by
 * the RI triggers as the table owner, nested, with OPERATOR(pg_catalog.=) and ONLY): integrity
 * machinery, not access by an application.
 */
export function isForeignKeyQuery(e: StatementStat): boolean {
  return (
    !e.toplevel &&
    e.query !== undefined &&
    /\bONLY\b/.test(e.query) &&
    e.query.includes('OPERATOR(pg_catalog.')
  );
}

/** Analyzes every distinct statement once; keys as analysisKey(). Call loadParser() once before. */
export function analyzeEntries(
  stats: StatementStats,
  index: CatalogIndex,
): Map<string, AnalyzedStatement> {
  const todo: StatementStat[] = [];
  const keys = new Set<string>();
  for (const e of stats.entries) {
    const key = analysisKey(e);
    if (keys.has(key) || isForeignKeyQuery(e)) continue;
    keys.add(key);
    todo.push(e);
  }
  // One parser call per batch of statements; a text the batch cannot place is parsed alone.
  const nodes = parseEach(todo.map((e) => e.query ?? ''));
  const analyses = new Map<string, AnalyzedStatement>();
  // The session's search_path is unknown (applications often SET it on connect).
  todo.forEach((e, i) => {
    const key = analysisKey(e);
    const options = { role: e.role, resolveOutsideSearchPath: true };
    const node = nodes[i];
    if (node !== undefined) {
      const parsed = { sql: e.query!, node, offset: 0, line: 1, column: 1 };
      analyses.set(key, { analysis: analyzeStatement(parsed, index, options) });
    } else if (isWithheldStatement(e.query)) {
      // A text withheld for the password it carried (CREATE ROLE ... PASSWORD): it reads no table.
      analyses.set(key, {
        analysis: {
          sql: e.query!,
          reads: [],
          writes: [],
          relations: { read: [], write: [] },
          warnings: [],
        },
      });
    } else if (e.query === undefined || e.query === '') {
      analyses.set(key, {
        analysis: {
          sql: '',
          reads: [],
          writes: [],
          relations: { read: [], write: [] },
          warnings: [],
        },
        error:
          'the statement text is not available (pg_stat_statements lost it, e.g. after its text file was garbage-collected)',
      });
    } else {
      const analysis = analyzeStatement(e.query, index, options);
      const error = analysis.syntaxError
        ? explainFailure(e.query, analysis, stats.queryTextLimit)
        : undefined;
      analyses.set(key, error === undefined ? { analysis } : { analysis, error });
    }
  });
  return analyses;
}

function add(map: Map<string, AccessCount>, key: string, e: StatementStat): void {
  const c = map.get(key);
  if (c) {
    c.calls += e.calls;
    c.rows += e.rows;
    c.totalTimeMs += e.totalTimeMs;
  } else {
    map.set(key, { calls: e.calls, rows: e.rows, totalTimeMs: e.totalTimeMs });
  }
}

const sortedRecord = (map: Map<string, AccessCount>): Record<string, AccessCount> =>
  Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

interface RoleBuilder {
  reads: Map<string, AccessCount>;
  writes: Map<string, AccessCount>;
  relationsRead: Map<string, AccessCount>;
  relationsWritten: Map<string, AccessCount>;
  statements: Map<string, StatementUsage>;
}

function relationsByKey(index: CatalogIndex): Map<string, IndexedRelation> {
  const map = new Map<string, IndexedRelation>();
  for (const bySchema of index.relations.values())
    for (const r of bySchema.values()) map.set(r.key, r);
  return map;
}

/** Adds up analyzed entries per role and column; the snapshot .pgpact/usage.json holds. */
export function aggregateUsage(
  stats: StatementStats,
  analyses: ReadonlyMap<string, AnalyzedStatement>,
  index: CatalogIndex,
  manifest: Manifest | undefined,
  window: { start?: string; mode?: UsageSnapshot['mode'] } = {},
): UsageSnapshot {
  const roles = new Map<string, RoleBuilder>();
  for (const e of stats.entries) {
    const analyzed = analyses.get(analysisKey(e));
    if (!analyzed) continue;
    let role = roles.get(e.role);
    if (!role) {
      role = {
        reads: new Map(),
        writes: new Map(),
        relationsRead: new Map(),
        relationsWritten: new Map(),
        statements: new Map(),
      };
      roles.set(e.role, role);
    }
    const a = analyzed.analysis;
    for (const k of a.reads) add(role.reads, k, e);
    for (const k of a.writes) add(role.writes, k, e);
    for (const k of a.relations.read) add(role.relationsRead, k, e);
    for (const k of a.relations.write) add(role.relationsWritten, k, e);
    // The same query id can appear twice for a role (top level and nested): one statement.
    const existing = role.statements.get(e.queryId);
    if (existing) {
      existing.calls += e.calls;
      existing.rows += e.rows;
      existing.totalTimeMs += e.totalTimeMs;
    } else {
      role.statements.set(e.queryId, {
        queryId: e.queryId,
        query: e.query ?? '',
        calls: e.calls,
        rows: e.rows,
        totalTimeMs: e.totalTimeMs,
        reads: a.reads,
        writes: a.writes,
        relationsRead: a.relations.read,
        relationsWritten: a.relations.write,
        warnings: a.warnings,
        ...(analyzed.error === undefined ? {} : { error: analyzed.error }),
      });
    }
  }
  const byKey = relationsByKey(index);
  const relations: NonNullable<UsageSnapshot['relations']> = {};
  const roleUsages: RoleUsage[] = [...roles]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, r]) => {
      for (const key of [...r.relationsRead.keys(), ...r.relationsWritten.keys()]) {
        const rel = byKey.get(key);
        if (rel) relations[key] = { schema: rel.schema, table: rel.name, kind: rel.kind };
      }
      const service = manifest ? serviceOfRole(manifest, name)?.name : undefined;
      return {
        role: name,
        ...(service === undefined ? {} : { service }),
        reads: sortedRecord(r.reads),
        writes: sortedRecord(r.writes),
        relationsRead: sortedRecord(r.relationsRead),
        relationsWritten: sortedRecord(r.relationsWritten),
        statements: [...r.statements.values()].sort(
          (a, b) => b.totalTimeMs - a.totalTimeMs || (a.queryId < b.queryId ? -1 : 1),
        ),
      };
    });
  return {
    version: 1,
    database: stats.database,
    takenAt: stats.takenAt,
    ...(window.start === undefined ? {} : { windowStart: window.start }),
    ...(window.mode === undefined ? {} : { mode: window.mode }),
    roles: roleUsages,
    relations: Object.fromEntries(
      Object.entries(relations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
  };
}

/** Observed usage per role and column for a window of statements (analysis + aggregation). */
export function computeUsage(
  stats: StatementStats,
  index: CatalogIndex,
  manifest: Manifest | undefined,
  window: { start?: string; mode?: UsageSnapshot['mode'] } = {},
): UsageSnapshot {
  return aggregateUsage(stats, analyzeEntries(stats, index), index, manifest, window);
}
