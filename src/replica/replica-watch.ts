import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import type { LogSource } from '../runtime/log-source.js';
import { RuntimeSampler } from '../runtime/sampler.js';
import { nameService } from '../runtime/service-namer.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import { RecoveryConflictReader } from './conflict-log.js';
import {
  lsnBytes,
  PRIMARY_SQL,
  type PrimaryRow,
  REPLICA_SQL,
  type ReplicaRow,
} from './replica-queries.js';
import type { RecoveryConflict, ReplicaSample, StandbyOnPrimary } from './types.js';

/** One replica to watch: a monitoring connection (superuser or pg_monitor) and, optionally, its log. */
export interface ReplicaTarget {
  /** The series label: host:port (no password). */
  server: string;
  client: Queryable;
  log?: LogSource;
}

const toNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Samples every replica each tick: its per-service runtime (the same sampler as the
 * primary's), its lag against the primary, its oldest snapshot and the primary's standby
 * row holding that snapshot's xmin, and the recovery conflicts its log names.
 */
export class ReplicaWatch {
  private readonly samplers: RuntimeSampler[];
  private readonly readers: (RecoveryConflictReader | undefined)[];
  private readonly conflictCounts: Map<string, number>[];
  private readonly conflictLog: RecoveryConflict[] = [];

  private constructor(
    private readonly primary: Queryable,
    private readonly replicas: ReplicaTarget[],
    manifest: Manifest | undefined,
    settings: { prefix?: string; timeZone?: string }[],
  ) {
    this.samplers = replicas.map(
      (r) =>
        new RuntimeSampler(
          r.client,
          manifest ? { manifest, historySize: 60 } : { historySize: 60 },
        ),
    );
    this.readers = replicas.map((r, i) =>
      r.log
        ? new RecoveryConflictReader(r.log, {
            server: r.server,
            ...(manifest ? { manifest } : {}),
            ...settings[i],
          })
        : undefined,
    );
    this.conflictCounts = replicas.map(() => new Map());
  }

  /** Reads each replica's log_line_prefix and log_timezone, for its log. */
  static async create(
    primary: Queryable,
    replicas: ReplicaTarget[],
    manifest?: Manifest,
  ): Promise<ReplicaWatch> {
    const settings = await Promise.all(
      replicas.map(async (r) => {
        const { rows } = await r.client.query<{ prefix: string; tz: string }>(
          `SELECT current_setting('log_line_prefix') AS prefix, current_setting('log_timezone') AS tz`,
        );
        return { prefix: rows[0]?.prefix, timeZone: rows[0]?.tz };
      }),
    );
    return new ReplicaWatch(primary, replicas, manifest, settings);
  }

  /** Recovery conflicts read from the replicas' logs so far (the last 200), oldest first. */
  get conflicts(): readonly RecoveryConflict[] {
    return this.conflictLog;
  }

  /** Samples every replica once (a replica that fails is reported, not thrown). */
  async sample(): Promise<ReplicaSample[]> {
    // A primary that is itself a standby (cascading) has no current WAL position: lag unknown.
    const primary: PrimaryRow = await this.primary
      .query<PrimaryRow & Record<string, unknown>>(PRIMARY_SQL)
      .then(
        ({ rows }) => rows[0]!,
        () => ({ current_lsn: null, standbys: [], slots: [] }),
      );
    const out: ReplicaSample[] = [];
    for (const [i, replica] of this.replicas.entries()) {
      try {
        out.push(await this.sampleOne(i, replica, primary));
      } catch (error) {
        out.push({
          server: replica.server,
          standby: false,
          hotStandbyFeedback: false,
          lagBytes: null,
          replayDelayMs: null,
          conflictsTotal: 0,
          oldestSnapshot: null,
          onPrimary: null,
          sample: null,
          conflictsByService: Object.fromEntries(this.conflictCounts[i]!),
          error: (error as Error).message,
        });
      }
    }
    return out;
  }

  private async sampleOne(
    index: number,
    replica: ReplicaTarget,
    primary: PrimaryRow,
  ): Promise<ReplicaSample> {
    const sampler = this.samplers[index]!;
    const sample = await sampler.sample();
    const state = (await replica.client.query<ReplicaRow & Record<string, unknown>>(REPLICA_SQL))
      .rows[0]!;
    const oldest = state.oldest_snapshot;
    const reader = this.readers[index];
    if (reader) {
      const found = await reader.read();
      const counts = this.conflictCounts[index]!;
      for (const c of found) counts.set(c.service, (counts.get(c.service) ?? 0) + 1);
      this.conflictLog.push(...found);
      if (this.conflictLog.length > 200) this.conflictLog.splice(0, this.conflictLog.length - 200);
    }
    const lagBytes =
      state.replay_lsn === null || primary.current_lsn === null
        ? null
        : Number(lsnBytes(primary.current_lsn) - lsnBytes(state.replay_lsn));
    const manifest = sampler.manifest;
    const oldestSnapshot =
      oldest === null
        ? null
        : {
            ...nameService(manifest, {
              role: oldest.role,
              applicationName: oldest.application_name,
              backendType: oldest.backend_type,
            }),
            pid: oldest.pid,
            role: oldest.role,
            applicationName: oldest.application_name,
            xmin: oldest.xmin,
            xminAge: Number(oldest.xmin_age),
            transactionMs: toNumber(oldest.transaction_ms),
            query: withholdSecretStatement(oldest.query),
          };
    return {
      server: replica.server,
      standby: state.standby,
      hotStandbyFeedback: state.feedback,
      lagBytes: lagBytes === null ? null : Math.max(0, lagBytes),
      replayDelayMs: toNumber(state.replay_delay_ms),
      conflictsTotal: Number(state.conflicts),
      oldestSnapshot,
      onPrimary: oldestSnapshot ? standbyHolding(primary, oldestSnapshot.xmin) : null,
      sample,
      conflictsByService: Object.fromEntries(this.conflictCounts[index]!),
      error: null,
    };
  }
}

/** The standby (or physical slot) on the primary whose feedback xmin is the given one. */
function standbyHolding(primary: PrimaryRow, xmin: string): StandbyOnPrimary | null {
  const standby = primary.standbys.find((s) => s.xmin === xmin);
  if (standby) {
    return {
      applicationName: standby.application_name,
      clientAddress: standby.client_addr,
      state: standby.state,
      xmin: standby.xmin,
      xminAge: standby.xmin_age,
      lagBytes:
        standby.replay_lsn === null || primary.current_lsn === null
          ? null
          : Number(lsnBytes(primary.current_lsn) - lsnBytes(standby.replay_lsn)),
      replayLagMs: standby.replay_lag_ms,
    };
  }
  const slot = primary.slots.find((s) => s.xmin === xmin);
  return slot
    ? {
        applicationName: `slot ${slot.slot}`,
        clientAddress: null,
        state: 'slot',
        xmin: slot.xmin,
        xminAge: slot.xmin_age,
        lagBytes: null,
        replayLagMs: null,
      }
    : null;
}
