import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { openPrivateFile, writePrivateFile } from '../private-files.js';
import { inSchema, STATEMENTS_SCHEMA_SQL } from '../runtime/sampler-queries.js';
import { nameService } from '../runtime/service-namer.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';

/** The file under the state folder where `metrics` and `dashboard` append their snapshots. */
export const SNAPSHOTS_FILE = 'statement-snapshots.jsonl';

/** One statement's cumulative counters at a snapshot. */
export interface SnapshotRow {
  role: string;
  dbid: string;
  queryid: string;
  calls: number;
  timeMs: number;
  /** Its text, written the first time a keeper sees the statement (password-carrying texts withheld). */
  text?: string;
}

/** pg_stat_statements at one moment: one JSON line of the snapshots file. */
export interface StatementSnapshot {
  at: string;
  rows: SnapshotRow[];
}

const SNAPSHOT_SQL = `
SELECT coalesce(r.rolname, 'oid ' || s.userid::text) AS role, s.dbid::text AS dbid,
       s.queryid::text AS queryid, s.calls::float8 AS calls,
       (s.total_exec_time + s.total_plan_time)::float8 AS time_ms, left(s.query, 400) AS query
FROM @pgss(true) s
LEFT JOIN pg_roles r ON r.oid = s.userid
WHERE s.toplevel AND s.queryid IS NOT NULL`;

/** Reads pg_stat_statements' cumulative counters per role and query id. */
export async function takeStatementSnapshot(client: Queryable): Promise<StatementSnapshot> {
  const schema = (await client.query<{ schema: string }>(STATEMENTS_SCHEMA_SQL)).rows[0]?.schema;
  if (schema === undefined) {
    throw new PgpactError('PG_STAT_STATEMENTS_MISSING', 'pg_stat_statements is not installed', {
      hint: 'CREATE EXTENSION pg_stat_statements (and add it to shared_preload_libraries)',
    });
  }
  const { rows } = await client.query<{
    role: string;
    dbid: string;
    queryid: string;
    calls: number;
    time_ms: number;
    query: string | null;
  }>(inSchema(SNAPSHOT_SQL, schema));
  return {
    at: new Date().toISOString(),
    rows: rows.map((r) => ({
      role: r.role,
      dbid: r.dbid,
      queryid: r.queryid,
      calls: Number(r.calls),
      timeMs: Number(r.time_ms),
      ...(r.query === null ? {} : { text: withholdSecretStatement(r.query) }),
    })),
  };
}

export interface SnapshotKeeperOptions {
  /** The state folder (.pgpact). */
  stateDir: string;
  /** The file is cut to its newer half past this size (default 20 MB). */
  maxBytes?: number;
  /** Snapshots older than this are dropped when the file is cut (default 7 days). */
  retentionMs?: number;
}

/** Appends snapshots to .pgpact/statement-snapshots.jsonl (0600), each text once per keeper, size bounded. */
export class StatementSnapshotKeeper {
  readonly file: string;
  private readonly textsWritten = new Set<string>();
  private readonly maxBytes: number;
  private readonly retentionMs: number;

  constructor(options: SnapshotKeeperOptions) {
    this.file = path.join(options.stateDir, SNAPSHOTS_FILE);
    this.maxBytes = options.maxBytes ?? 20 * 1024 * 1024;
    this.retentionMs = options.retentionMs ?? 7 * 86_400_000;
  }

  /** Takes a snapshot and appends it. */
  async keep(client: Queryable): Promise<StatementSnapshot> {
    const snapshot = await takeStatementSnapshot(client);
    this.append(snapshot);
    return snapshot;
  }

  /** Appends one snapshot, writing each statement's text only the first time this keeper sees it. */
  append(snapshot: StatementSnapshot): void {
    const rows = snapshot.rows.map((r) => {
      const key = `${r.dbid}/${r.role}/${r.queryid}`;
      if (this.textsWritten.has(key)) return { ...r, text: undefined };
      this.textsWritten.add(key);
      return r;
    });
    const fd = openPrivateFile(this.file, 'a');
    try {
      fs.writeSync(fd, `${JSON.stringify({ at: snapshot.at, rows })}\n`);
    } finally {
      fs.closeSync(fd);
    }
    if (fs.statSync(this.file).size > this.maxBytes) this.cut();
  }

  /** Keeps the newer half of the file, within the retention; texts of kept statements are carried over. */
  private cut(): void {
    const snapshots = parseSnapshots(fs.readFileSync(this.file, 'utf8'));
    const texts = textsOf(snapshots);
    const oldest = Date.now() - this.retentionMs;
    const kept = snapshots
      .slice(Math.floor(snapshots.length / 2))
      .filter((s) => Date.parse(s.at) >= oldest);
    const first = kept[0];
    if (first) {
      first.rows = first.rows.map((r) => {
        const text = texts.get(`${r.dbid}/${r.role}/${r.queryid}`);
        return text === undefined ? r : { ...r, text };
      });
    }
    writePrivateFile(this.file, kept.map((s) => `${JSON.stringify(s)}\n`).join(''));
  }
}

function parseSnapshots(text: string): StatementSnapshot[] {
  const out: StatementSnapshot[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const s = JSON.parse(line) as StatementSnapshot;
      if (typeof s.at === 'string' && Array.isArray(s.rows)) out.push(s);
    } catch {
      // a line cut by a crash mid-write: the next snapshots still count
    }
  }
  return out;
}

function textsOf(snapshots: StatementSnapshot[]): Map<string, string> {
  const texts = new Map<string, string>();
  for (const s of snapshots)
    for (const r of s.rows)
      if (typeof r.text === 'string') texts.set(`${r.dbid}/${r.role}/${r.queryid}`, r.text);
  return texts;
}

/** Reads the snapshots file; an absent file gives no snapshots. */
export function readStatementSnapshots(file: string): StatementSnapshot[] {
  try {
    return parseSnapshots(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new PgpactError('USAGE', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Database time and calls of one service or statement over the period, from snapshot deltas. */
export interface SnapshotTotals {
  service: string;
  calls: number;
  totalMs: number;
  meanMs: number;
}

/** Per service and per statement figures over a period from pg_stat_statements snapshots (no p95). */
export interface SnapshotReport {
  file: string;
  snapshots: number;
  /** The baseline snapshot and the last one (ISO). */
  from: string | null;
  to: string | null;
  services: (SnapshotTotals & { share: number })[];
  /** The statements with the most database time (at most 20). */
  statements: (SnapshotTotals & { statement: string })[];
}

/**
 * Sums each statement's counter increases between consecutive snapshots from the last one at or
 * before `sinceMs` (the baseline) to the last one; a counter that went down was reset, so its
 * new value is the increase.
 */
export function summarizeSnapshots(
  snapshots: StatementSnapshot[],
  options: { file: string; sinceMs?: number; manifest?: Manifest },
): SnapshotReport {
  const texts = textsOf(snapshots);
  const sorted = [...snapshots].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  let start = 0;
  if (options.sinceMs !== undefined) {
    const since = options.sinceMs;
    for (let i = 0; i < sorted.length && Date.parse(sorted[i]!.at) <= since; i++) start = i;
  }
  const window = sorted.slice(start);
  const perStatement = new Map<string, { role: string; calls: number; timeMs: number }>();
  for (let i = 1; i < window.length; i++) {
    const previous = new Map(
      window[i - 1]!.rows.map((r) => [`${r.dbid}/${r.role}/${r.queryid}`, r]),
    );
    for (const r of window[i]!.rows) {
      const key = `${r.dbid}/${r.role}/${r.queryid}`;
      const p = previous.get(key);
      const reset = p !== undefined && r.calls < p.calls;
      const calls = p === undefined || reset ? r.calls : r.calls - p.calls;
      const timeMs = p === undefined || reset ? r.timeMs : r.timeMs - p.timeMs;
      if (calls <= 0 && timeMs <= 0) continue;
      const sum = perStatement.get(key) ?? { role: r.role, calls: 0, timeMs: 0 };
      sum.calls += calls;
      sum.timeMs += Math.max(0, timeMs);
      perStatement.set(key, sum);
    }
  }
  const serviceOf = (role: string) => nameService(options.manifest, { role }).service;
  const services = new Map<string, { calls: number; totalMs: number }>();
  const statements: (SnapshotTotals & { statement: string })[] = [];
  for (const [key, s] of perStatement) {
    const service = serviceOf(s.role);
    const t = services.get(service) ?? { calls: 0, totalMs: 0 };
    t.calls += s.calls;
    t.totalMs += s.timeMs;
    services.set(service, t);
    statements.push({
      service,
      statement: texts.get(key) ?? `query id ${key.split('/')[2]} (text not kept)`,
      calls: s.calls,
      totalMs: s.timeMs,
      meanMs: s.calls > 0 ? s.timeMs / s.calls : 0,
    });
  }
  const all = [...services.values()].reduce((a, s) => a + s.totalMs, 0);
  return {
    file: options.file,
    snapshots: window.length,
    from: window[0]?.at ?? null,
    to: window.at(-1)?.at ?? null,
    services: [...services]
      .map(([service, t]) => ({
        service,
        calls: t.calls,
        totalMs: t.totalMs,
        meanMs: t.calls > 0 ? t.totalMs / t.calls : 0,
        share: all > 0 ? t.totalMs / all : 0,
      }))
      .sort((a, b) => b.totalMs - a.totalMs),
    statements: statements.sort((a, b) => b.totalMs - a.totalMs).slice(0, 20),
  };
}
