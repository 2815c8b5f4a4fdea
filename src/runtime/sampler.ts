import { performance } from 'node:perf_hooks';
import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { DbTimeAccounting, type RunningStatement } from './db-time.js';
import { isServerError } from '../errors.js';
import {
  type ActivityRow,
  activitySql,
  LOCK_WAITS_SQL,
  type LockWaitRow,
  META_SQL,
  type MetaRow,
  PRIVILEGE_SQL,
  type RoleTotalsRow,
} from './sampler-queries.js';
import { nameService, roleOfService } from './service-namer.js';
import { buildServiceRows } from './service-rows.js';
import { SessionDirectory } from './session-directory.js';
import { isConnection, lockWaitsOf, sessionsOf } from './sessions.js';
import { type RoleDelta, StatementDeltas, type StatementRowDelta } from './statement-deltas.js';
import type { Attribution, RuntimeSample, ServiceTotals, StatementDelta } from './types.js';

/** Options of a sampler. */
export interface SamplerOptions {
  /** Maps roles to services; without it each role is a service of the same name. */
  manifest?: Manifest;
  /** Samples kept in memory (the ring buffer findings and views read). Default 600. */
  historySize?: number;
  /** Characters of query text kept per session and statement. Default 1000. */
  queryTextLength?: number;
  /** Statements listed in a sample's topStatements. Default 20. */
  topStatements?: number;
  /** Sessions remembered for naming process ids after they end. Default 20000. */
  directorySize?: number;
  /**
   * How often the per-statement counters are read (top statements); per-service
   * totals are read every sample. Reading every statement costs in proportion to
   * pg_stat_statements' size, so it runs less often. Default 5000 ms.
   */
  statementDetailIntervalMs?: number;
}

/**
 * Samples pg_stat_activity, pg_locks and pg_stat_statements on one monitoring
 * connection (superuser or pg_monitor) and attributes everything to services.
 * Give it a dedicated connection: it may turn off statement tracking for itself.
 */
export class RuntimeSampler {
  /** Which process id was which session, kept after sessions end. */
  readonly directory: SessionDirectory;
  private readonly samples: RuntimeSample[] = [];
  private readonly statements: StatementDeltas;
  private readonly dbTime = new DbTimeAccounting();
  private readonly totals = new Map<string, ServiceTotals>();
  private readonly countedWaits = new Set<string>();
  private readonly attributions = new Map<string, Attribution>();
  private readonly historySize: number;
  private readonly textLength: number;
  private readonly topCount: number;
  private previousMeta: { atMs: number; deadlocks: number } | undefined;
  private lastDetailMs: number | undefined;
  private statementsNote: string | undefined;
  private privilegeNote: string | undefined;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: Queryable,
    private readonly options: SamplerOptions = {},
  ) {
    this.historySize = options.historySize ?? 600;
    this.textLength = options.queryTextLength ?? 1000;
    this.topCount = options.topStatements ?? 20;
    this.directory = new SessionDirectory(options.directorySize ?? 20_000);
    this.statements = new StatementDeltas(this.textLength);
  }

  /** The manifest the sampler names services with, if any. */
  get manifest(): Manifest | undefined {
    return this.options.manifest;
  }

  /** The samples kept, oldest first. */
  get history(): readonly RuntimeSample[] {
    return this.samples;
  }

  /** Takes one sample; calls are serialised so two never interleave on the connection. */
  sample(): Promise<RuntimeSample> {
    const next = this.pending.then(() => this.takeSample());
    this.pending = next.catch(() => undefined);
    return next;
  }

  /** Counts a deadlock for each service involved (from the server log) in the totals. */
  countDeadlock(services: string[]): void {
    for (const service of new Set(services)) this.totalsOf(service).deadlocks += 1;
  }

  /** The counters of every service seen so far. */
  totalsOf(service: string): ServiceTotals {
    let totals = this.totals.get(service);
    if (!totals) {
      totals = { dbTimeMs: 0, calls: 0, lockWaits: 0, deadlocks: 0 };
      this.totals.set(service, totals);
    }
    return totals;
  }

  private async takeSample(): Promise<RuntimeSample> {
    const started = performance.now();
    if (this.privilegeNote === undefined) await this.checkPrivileges();
    const { meta, activity, totals } = await this.readServer();
    const manifest = this.options.manifest;
    const nowMs = meta.now.getTime();
    const sessions = sessionsOf(activity, manifest);
    for (const s of sessions) {
      if (!isConnection(s)) continue;
      const startedMs = s.backendStart ? Date.parse(s.backendStart) : undefined;
      this.directory.observe({
        pid: s.pid,
        role: s.role,
        applicationName: s.applicationName,
        database: s.database,
        startedMs,
        firstSeenMs: startedMs ?? nowMs,
        lastSeenMs: nowMs,
        source: 'sampler',
      });
    }
    const waiterPids = sessions.filter((s) => s.blockedBy.length > 0).map((s) => s.pid);
    const lockRows =
      waiterPids.length === 0
        ? []
        : (
            await this.client.query<LockWaitRow & Record<string, unknown>>(LOCK_WAITS_SQL, [
              waiterPids,
            ])
          ).rows;
    const lockWaits = lockWaitsOf(lockRows, sessions, this.directory, manifest, nowMs);
    const detailDue =
      totals !== undefined &&
      (this.lastDetailMs === undefined ||
        nowMs - this.lastDetailMs >= (this.options.statementDetailIntervalMs ?? 5000) - 100);
    const deltas = detailDue
      ? await this.readStatements(() => this.statements.read(this.client))
      : [];
    if (detailDue) this.lastDetailMs = nowMs;
    const intervalMs = this.previousMeta ? nowMs - this.previousMeta.atMs : null;
    const serviceOfRole = (role: string) => nameService(manifest, { role }).service;

    const running: RunningStatement[] = [];
    const activityByPid = new Map(activity.map((a) => [a.pid, a]));
    for (const s of sessions) {
      const row = activityByPid.get(s.pid);
      if (s.state !== 'active' || !isConnection(s) || !row?.query_start) continue;
      running.push({
        pid: s.pid,
        queryStart: row.query_start.toISOString(),
        role: s.role ?? '',
        service: s.service,
        elapsedMs: Math.max(0, Number(row.query_ms ?? 0)),
      });
    }
    const completedByRole = new Map<string, number>();
    const completed = new Map<string, { calls: number; timeMs: number }>();
    for (const d of totals ?? []) {
      completedByRole.set(d.role, (completedByRole.get(d.role) ?? 0) + d.timeMs);
      const service = serviceOfRole(d.role);
      const sum = completed.get(service) ?? { calls: 0, timeMs: 0 };
      sum.calls += d.calls;
      sum.timeMs += d.timeMs;
      completed.set(service, sum);
    }
    for (const s of sessions) if (isConnection(s)) this.attributions.set(s.service, s.attribution);
    const dbTime = this.dbTime.account(nowMs, intervalMs, running, completedByRole, serviceOfRole);

    const statementDeltas = await this.describeStatements(deltas ?? [], serviceOfRole);
    for (const w of lockWaits) {
      const key = `${w.waiting.pid}:${w.since ?? w.object.description}`;
      if (!this.countedWaits.has(key)) this.totalsOf(w.waiting.service).lockWaits += 1;
    }
    this.countedWaits.clear();
    for (const w of lockWaits)
      this.countedWaits.add(`${w.waiting.pid}:${w.since ?? w.object.description}`);

    const services = buildServiceRows({
      manifest,
      sessions,
      limits: meta.limits,
      dbTime,
      completed,
      statements: statementDeltas,
      totalsOf: (service) => this.totalsOf(service),
      knownServices: [...this.totals.keys()],
      roleOf: (service) => roleOfService(manifest, service),
      attributionOf: (service) =>
        this.attributions.get(service) ??
        nameService(manifest, { role: roleOfService(manifest, service) }).attribution,
    });
    const deadlockDelta = this.previousMeta
      ? Math.max(0, meta.deadlocks - this.previousMeta.deadlocks)
      : 0;
    this.previousMeta = { atMs: nowMs, deadlocks: meta.deadlocks };
    const notes = [this.privilegeNote, this.statementsNote].filter(
      (n): n is string => n !== undefined && n !== '',
    );
    const sample: RuntimeSample = {
      takenAt: meta.now.toISOString(),
      intervalMs,
      database: meta.database,
      serverVersion: meta.version,
      maxConnections: meta.max_connections,
      totalConnections: sessions.filter(isConnection).length,
      services,
      sessions,
      lockWaits,
      topStatements: [...statementDeltas]
        .sort((a, b) => b.totalTimeMs - a.totalTimeMs)
        .slice(0, this.topCount),
      deadlocks: { total: meta.deadlocks, delta: deadlockDelta },
      statementsAvailable: totals !== undefined,
      sampleDurationMs: performance.now() - started,
      notes,
    };
    this.samples.push(sample);
    if (this.samples.length > this.historySize) this.samples.shift();
    return sample;
  }

  /**
   * The server's facts, every process, and the per-role statement sums, in one round
   * trip (a simple-query batch: fewer wake-ups of the server and of this process under
   * load). Without pg_stat_statements the first two are read alone and the cause noted.
   */
  private async readServer(): Promise<{
    meta: MetaRow;
    activity: ActivityRow[];
    totals: RoleDelta[] | undefined;
  }> {
    const base = [META_SQL, activitySql(this.textLength)];
    let rolesSql: string | undefined;
    try {
      rolesSql = await this.statements.rolesSql(this.client);
    } catch (error) {
      this.noteStatements(error);
    }
    let results: unknown[][];
    try {
      results = await queryBatch(this.client, rolesSql ? [...base, rolesSql] : base);
    } catch (error) {
      if (rolesSql === undefined || !isServerError(error)) throw error;
      this.noteStatements(error);
      rolesSql = undefined;
      results = await queryBatch(this.client, base);
    }
    if (rolesSql !== undefined) this.statementsNote = '';
    return {
      meta: results[0]![0] as MetaRow,
      activity: results[1] as ActivityRow[],
      totals:
        rolesSql === undefined
          ? undefined
          : this.statements.rolesDelta(results[2] as RoleTotalsRow[]),
    };
  }

  private noteStatements(error: unknown): void {
    const message = (error as Error).message;
    this.statementsNote = `pg_stat_statements is not readable (${message}); database time is estimated from active sessions. Preload it (shared_preload_libraries) and run CREATE EXTENSION pg_stat_statements in this database.`;
  }

  /** Statement deltas, or undefined when pg_stat_statements cannot be read (noted). */
  private async readStatements<T>(read: () => Promise<T[]>): Promise<T[] | undefined> {
    try {
      const deltas = await read();
      this.statementsNote = '';
      return deltas;
    } catch (error) {
      this.noteStatements(error);
      return undefined;
    }
  }

  /** The interval's statements with services and texts: the top ones overall and per service. */
  private async describeStatements(
    deltas: StatementRowDelta[],
    serviceOfRole: (role: string) => string,
  ): Promise<StatementDelta[]> {
    const byTime = [...deltas].sort((a, b) => b.timeMs - a.timeMs);
    const chosen = new Set(byTime.slice(0, this.topCount));
    const perService = new Map<string, number>();
    for (const d of byTime) {
      const service = serviceOfRole(d.role);
      const n = perService.get(service) ?? 0;
      if (n < 5) chosen.add(d);
      perService.set(service, n + 1);
    }
    const list = [...chosen];
    const texts =
      list.length === 0
        ? new Map<string, string>()
        : await this.statements.textsOf(
            this.client,
            list.map((d) => d.queryId),
          );
    return list.map((d) => ({
      queryId: d.queryId,
      service: serviceOfRole(d.role),
      role: d.role,
      query: texts.get(d.queryId) ?? '',
      calls: d.calls,
      totalTimeMs: d.timeMs,
      meanTimeMs: d.calls > 0 ? d.timeMs / d.calls : 0,
    }));
  }

  private async checkPrivileges(): Promise<void> {
    const { rows } = await this.client.query<{ sees_all: boolean; superuser: boolean }>(
      PRIVILEGE_SQL,
    );
    const seesAll = rows[0]?.sees_all === true;
    // The sampler's own statements are not a service's load (only a superuser may turn tracking off).
    if (rows[0]?.superuser) await this.client.query(`SET pg_stat_statements.track = 'none'`);
    this.privilegeNote = seesAll
      ? ''
      : 'the monitoring role is neither superuser nor a member of pg_monitor: other roles\u2019 queries and waits are hidden (GRANT pg_monitor TO <role>)';
  }
}

/** Runs parameterless statements in one round trip (simple query protocol): the rows of each. */
async function queryBatch(client: Queryable, statements: string[]): Promise<unknown[][]> {
  const result = (await client.query(statements.join(';\n'))) as unknown;
  const results = (Array.isArray(result) ? result : [result]) as { rows: unknown[] }[];
  if (results.length !== statements.length) {
    throw new Error(`expected ${statements.length} results from the sampler's batch, got ${results.length}`);
  }
  return results.map((r) => r.rows);
}
