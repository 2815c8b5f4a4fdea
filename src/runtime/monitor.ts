import { samplePool } from '../pool/admin-console.js';
import { poolFindings } from '../pool/pool-findings.js';
import type { PoolSample } from '../pool/types.js';
import type { Queryable } from '../postgres/client.js';
import { type ReplicaFindingOptions, replicaFindings } from '../replica/replica-findings.js';
import { type ReplicaTarget, ReplicaWatch } from '../replica/replica-watch.js';
import type { RecoveryConflict, ReplicaSample } from '../replica/types.js';
import { loadParser } from '../sql/parse.js';
import { runtimeFindings, type RuntimeFindingOptions } from './findings.js';
import { displayRelation } from './lock-object.js';
import {
  type DeadlockReport,
  type LoggedLimit,
  type LoggedLockWait,
  LogReader,
  type LogReadResult,
} from './log-reader.js';
import type { LogSource } from './log-source.js';
import { NoisyNeighbourLatch } from './noisy-neighbour.js';
import type { RuntimeFinding } from './runtime-finding.js';
import { RuntimeSampler, type SamplerOptions } from './sampler.js';
import type { RuntimeSample } from './types.js';

/** One tick of the monitor: a sample, what the log added, and the findings now. */
export interface RuntimeReport {
  sample: RuntimeSample;
  findings: RuntimeFinding[];
  /** Deadlocks read from the log so far (the most recent ones kept), oldest first. */
  deadlocks: DeadlockReport[];
  loggedLockWaits: LoggedLockWait[];
  loggedLimits: LoggedLimit[];
  log: { source: string | null; error: string | null; entriesRead: number };
  /** PgBouncer's pools per service, when the monitor reads its admin console. */
  pool?: PoolSample;
  /** Each replica (label `server`), when the monitor watches replicas. */
  replicas?: ReplicaSample[];
  /** Recovery conflicts read from the replicas' logs (the most recent ones), oldest first. */
  recoveryConflicts?: RecoveryConflict[];
}

/** Options of a monitor: the sampler's, plus the log and the findings' thresholds. */
export interface MonitorOptions extends SamplerOptions {
  /** The server log; without it deadlocks are only counted, not named. */
  log?: LogSource;
  findings?: Partial<RuntimeFindingOptions>;
  /** Log events kept per kind. Default 200. */
  keepLogEvents?: number;
  /**
   * CPUs of the database server, for the noisy-neighbour rule on CPU saturation
   * (findings.noisyNeighbour.serverCpus wins when both are given). Unknown by default.
   */
  serverCpus?: number | null;
  /**
   * Log events (deadlocks, lock waits, limit hits) logged before this time are neither
   * findings nor in the report: `first-sample` is the server time of the first sample
   * (`top --once`: only what happened inside its window), or ms since the epoch.
   */
  logEventsSince?: 'first-sample' | number;
  /** PgBouncer's admin console (a connection to its `pgbouncer` database), read every tick. */
  pool?: { client: Queryable; target: string };
  /** Replicas of the database, sampled every tick along with the primary. */
  replicas?: ReplicaTarget[];
  replicaFindings?: Partial<ReplicaFindingOptions>;
}

/**
 * The sampler, the log reader and the findings together: what `pgpact top`,
 * `pgpact metrics` and the dashboard run once per interval.
 */
export class RuntimeMonitor {
  readonly sampler: RuntimeSampler;
  private readonly reader: LogReader | undefined;
  private readonly deadlocks: DeadlockReport[] = [];
  private readonly lockWaits: LoggedLockWait[] = [];
  private readonly limits: LoggedLimit[] = [];
  private entriesRead = 0;
  private ticks = 0;
  private latestReport: RuntimeReport | undefined;
  private logEventsSinceMs: number | undefined;
  private readonly noisy: NoisyNeighbourLatch;
  private replicaWatch: ReplicaWatch | undefined;

  private constructor(
    private readonly client: Queryable,
    private readonly options: MonitorOptions,
    settings: { prefix?: string; timeZone?: string },
  ) {
    this.sampler = new RuntimeSampler(client, options);
    this.noisy = new NoisyNeighbourLatch({
      serverCpus: options.serverCpus ?? null,
      ...options.findings?.noisyNeighbour,
    });
    this.reader = options.log
      ? new LogReader(options.log, {
          directory: this.sampler.directory,
          manifest: options.manifest,
          prefix: settings.prefix,
          timeZone: settings.timeZone,
          resolveRelations: (refs) => this.resolveRelations(refs),
        })
      : undefined;
  }

  /** Creates a monitor on a dedicated monitoring connection (reads log_line_prefix and log_timezone). */
  static async create(client: Queryable, options: MonitorOptions = {}): Promise<RuntimeMonitor> {
    // Statement texts pass through withholdSecretStatement, which decides on the parse tree.
    await loadParser();
    const { rows } = await client.query<{ prefix: string; tz: string }>(
      `SELECT current_setting('log_line_prefix') AS prefix, current_setting('log_timezone') AS tz`,
    );
    const monitor = new RuntimeMonitor(client, options, {
      prefix: rows[0]?.prefix,
      timeZone: rows[0]?.tz,
    });
    if (options.replicas !== undefined && options.replicas.length > 0)
      monitor.replicaWatch = await ReplicaWatch.create(client, options.replicas, options.manifest);
    return monitor;
  }

  /** How many samples were taken (a Prometheus counter). */
  get samplesTaken(): number {
    return this.ticks;
  }

  /** The last report, if any tick ran. */
  get latest(): RuntimeReport | undefined {
    return this.latestReport;
  }

  /** Samples once, reads the log's new lines and computes the findings. */
  async tick(): Promise<RuntimeReport> {
    const sample = await this.sampler.sample();
    this.ticks += 1;
    const since = this.options.logEventsSince;
    this.logEventsSinceMs ??= since === 'first-sample' ? Date.parse(sample.takenAt) : since;
    let error: string | null = null;
    if (this.reader) {
      try {
        this.absorb(await this.reader.read());
      } catch (e) {
        error = (e as Error).message;
      }
    }
    for (const row of sample.services) row.totals = { ...this.sampler.totalsOf(row.service) };
    const pool = this.options.pool
      ? await samplePool(this.options.pool.client, {
          target: this.options.pool.target,
          ...(this.options.manifest ? { manifest: this.options.manifest } : {}),
        })
      : undefined;
    const findings = runtimeFindings(
      {
        history: this.sampler.history,
        deadlocks: this.deadlocks,
        loggedLockWaits: this.lockWaits,
        loggedLimits: this.limits,
        noisyNeighbours: this.noisy.update(this.sampler.history),
      },
      this.options.findings,
    );
    if (pool) findings.push(...poolFindings(pool));
    const replicas = this.replicaWatch ? await this.replicaWatch.sample() : undefined;
    if (replicas && this.replicaWatch) {
      findings.push(
        ...replicaFindings(
          replicas,
          this.replicaWatch.conflicts,
          this.options.replicaFindings,
          Date.parse(sample.takenAt),
        ),
      );
    }
    this.latestReport = {
      sample,
      findings,
      deadlocks: [...this.deadlocks],
      loggedLockWaits: [...this.lockWaits],
      loggedLimits: [...this.limits],
      log: {
        source: this.reader?.source.description ?? null,
        error,
        entriesRead: this.entriesRead,
      },
      ...(pool ? { pool } : {}),
      ...(replicas && this.replicaWatch
        ? { replicas, recoveryConflicts: [...this.replicaWatch.conflicts] }
        : {}),
    };
    return this.latestReport;
  }

  private absorb(read: LogReadResult): void {
    const keep = this.options.keepLogEvents ?? 200;
    this.entriesRead += read.entries;
    for (const d of read.deadlocks) this.sampler.countDeadlock(d.services);
    const sinceMs = this.logEventsSinceMs;
    const inWindow = (e: { at: string | null }) =>
      sinceMs === undefined || (e.at !== null && Date.parse(e.at) >= sinceMs);
    this.deadlocks.push(...read.deadlocks.filter(inWindow));
    this.lockWaits.push(...read.lockWaits.filter(inWindow));
    this.limits.push(...read.limits.filter(inWindow));
    for (const list of [this.deadlocks, this.lockWaits, this.limits]) {
      if (list.length > keep) list.splice(0, list.length - keep);
    }
  }

  private async resolveRelations(
    refs: { relation: number; database: number }[],
  ): Promise<Map<string, string>> {
    const { rows } = await this.client.query<{
      oid: number;
      db: number;
      schema: string;
      name: string;
    }>(
      `SELECT c.oid::int AS oid, d.oid::int AS db, n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_database d ON d.datname = current_database()
       WHERE c.oid = ANY($1::oid[]) AND d.oid = ANY($2::oid[])`,
      [refs.map((r) => r.relation), refs.map((r) => r.database)],
    );
    return new Map(rows.map((r) => [`${r.oid}:${r.db}`, displayRelation(r.schema, r.name)]));
  }
}

/**
 * Ticks the monitor every intervalMs until the signal aborts; each report (or
 * error) goes to the callbacks. A tick that overruns delays the next, never overlaps.
 */
export async function monitorEvery(
  monitor: RuntimeMonitor,
  intervalMs: number,
  signal: AbortSignal,
  onReport: (report: RuntimeReport) => void | Promise<void>,
  onError: (error: unknown) => void | Promise<void> = () => undefined,
): Promise<void> {
  let next = Date.now();
  while (!signal.aborted) {
    try {
      await onReport(await monitor.tick());
    } catch (error) {
      if (signal.aborted) break;
      await onError(error);
    }
    next += intervalMs;
    const wait = Math.max(0, next - Date.now());
    if (wait === 0) next = Date.now();
    await sleep(wait, signal);
  }
}

/** Resolves after ms, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
