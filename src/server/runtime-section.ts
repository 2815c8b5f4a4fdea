import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import type { ReplicaTarget } from '../replica/replica-watch.js';
import type { DeadlockReport } from '../runtime/log-reader.js';
import type { LogSource } from '../runtime/log-source.js';
import { type RuntimeReport, RuntimeMonitor } from '../runtime/monitor.js';
import type { RuntimeSample as SamplerSample } from '../runtime/types.js';
import type { DeadlockView, LockWaitView, RuntimeSample, RuntimeState } from './api-types.js';

/** Samples the page gets on first load (the charts' window). */
export const RUNTIME_HISTORY = 180;

export interface RuntimeSectionOptions {
  /** A dedicated connection as the monitoring role (the sampler may turn off statement tracking on it). */
  connection: Queryable;
  manifest?: Manifest;
  log?: LogSource;
  intervalMs: number;
  /** Roles whose sessions are the dashboard's own: left out of the charts. */
  hiddenRoles: string[];
  /** CPUs of the database server, when known (the noisy-neighbour rule on CPU saturation). */
  serverCpus?: number | null;
  /** PgBouncer's admin console, read every tick. */
  pool?: { client: Queryable; target: string };
  /** Streaming replicas, sampled every tick with the primary. */
  replicas?: ReplicaTarget[];
}

function toSample(sample: SamplerSample, hidden: Set<string>): RuntimeSample {
  return {
    at: sample.takenAt,
    services: sample.services
      .filter(
        (s) =>
          s.attribution !== 'background' &&
          !s.roles.every((r) => hidden.has(r)) &&
          !hidden.has(s.service),
      )
      .map((s) => ({
        service: s.service,
        connections: s.connections.total,
        active: s.connections.active,
        idleInTransaction: s.connections.idleInTransaction,
        dbTimeShare: s.dbTimeShare,
        dbTimeMs: s.dbTimeMs,
        busy: s.busyProcesses,
      })),
  };
}

function toLockWaits(sample: SamplerSample): LockWaitView[] {
  return sample.lockWaits.flatMap((w) =>
    w.holding.map((holder) => ({
      waiter: {
        service: w.waiting.service,
        pid: w.waiting.pid,
        query: w.waiting.query,
        waitingMs: w.waitedMs,
      },
      holder: {
        service: holder.service,
        pid: holder.pid,
        query: holder.query,
        state: holder.state ?? 'unknown',
      },
      relation: w.object.description,
      lockType: w.lockType,
      mode: w.mode,
    })),
  );
}

function toDeadlock(d: DeadlockReport): DeadlockView {
  const parts = d.processes.map(
    (p) => `${p.service} (pid ${p.pid}) waited for ${p.waitsFor}: ${p.query}`,
  );
  return {
    at: d.at ?? '',
    services: d.services,
    detail: [`victim: ${d.victim.service} (pid ${d.victim.pid})`, ...parts, d.context ?? '']
      .filter(Boolean)
      .join(' · '),
  };
}

/** Turns a monitor report into the runtime section the page shows. */
export function runtimeState(
  report: RuntimeReport,
  history: readonly SamplerSample[],
  options: { intervalMs: number; hiddenRoles: string[] },
): RuntimeState {
  const hidden = new Set(options.hiddenRoles);
  return {
    intervalMs: options.intervalMs,
    samples: history.slice(-RUNTIME_HISTORY).map((s) => toSample(s, hidden)),
    lockWaits: toLockWaits(report.sample),
    deadlocks: report.deadlocks.slice(-20).reverse().map(toDeadlock),
    findings: report.findings.map((f) => ({
      severity: f.severity,
      kind: f.kind,
      ...(f.parties[0] ? { service: f.parties[0].service } : {}),
      message: f.message,
    })),
    ...(report.pool
      ? {
          pool: report.pool.services.map(({ attribution: _a, ...s }) => s),
        }
      : {}),
    ...(report.replicas
      ? {
          replicas: report.replicas.map((r) => ({
            server: r.server,
            standby: r.standby,
            lagBytes: r.lagBytes,
            replayDelayMs: r.replayDelayMs,
            hotStandbyFeedback: r.hotStandbyFeedback,
            services: (r.sample?.services ?? [])
              .filter((s) => s.attribution !== 'background' && s.connections.total > 0)
              .map((s) => ({
                service: s.service,
                sessions: s.connections.total,
                dbTimeShare: s.dbTimeShare,
                recoveryConflicts: r.conflictsByService[s.service] ?? 0,
              })),
            error: r.error,
          })),
        }
      : {}),
  };
}

/** The runtime monitor run in-process by the dashboard: one tick per sampling interval. */
export class RuntimeSection {
  private monitor: RuntimeMonitor | undefined;
  private samplesTaken = 0;
  private lastError: string | undefined;

  constructor(private readonly options: RuntimeSectionOptions) {}

  /** Takes one sample and returns the state with its history. */
  async tick(): Promise<RuntimeState> {
    try {
      this.monitor ??= await RuntimeMonitor.create(this.options.connection, {
        ...(this.options.manifest ? { manifest: this.options.manifest } : {}),
        ...(this.options.log ? { log: this.options.log } : {}),
        serverCpus: this.options.serverCpus ?? null,
        ...(this.options.pool ? { pool: this.options.pool } : {}),
        ...(this.options.replicas ? { replicas: this.options.replicas } : {}),
      });
      const report = await this.monitor.tick();
      this.samplesTaken += 1;
      this.lastError = undefined;
      return runtimeState(report, this.monitor.sampler.history, this.options);
    } catch (error) {
      this.lastError = (error as Error).message;
      throw error;
    }
  }

  /** What /metrics serves: the latest report, how many samples were taken, the last error. */
  latest(): { report: RuntimeReport | undefined; samplesTaken: number; error?: string } {
    return {
      report: this.monitor?.latest,
      samplesTaken: this.samplesTaken,
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }
}
