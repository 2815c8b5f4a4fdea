import type { RuntimeSample, ServiceName } from '../runtime/types.js';

/** A session on a replica whose snapshot is the oldest there (with hot_standby_feedback, the primary keeps its rows). */
export interface OldestSnapshot extends ServiceName {
  pid: number;
  role: string | null;
  applicationName: string;
  /** The transaction id horizon of the session's snapshot (primary's xid space). */
  xmin: string;
  /** How many transactions behind the current one that horizon is. */
  xminAge: number;
  /** How long its transaction has been open. */
  transactionMs: number | null;
  query: string;
}

/** What the primary says about one standby it streams to (pg_stat_replication). */
export interface StandbyOnPrimary {
  applicationName: string;
  clientAddress: string | null;
  state: string;
  /** The xmin the standby's hot_standby_feedback holds on the primary, if any. */
  xmin: string | null;
  xminAge: number | null;
  lagBytes: number | null;
  replayLagMs: number | null;
}

/** A recovery conflict logged by a replica: a query cancelled (or a session ended) to let WAL replay go on. */
export interface RecoveryConflict extends ServiceName {
  /** The replica's label. */
  server: string;
  at: string | null;
  pid: number | null;
  role: string | null;
  applicationName: string | null;
  action: 'cancelled' | 'terminated';
  /** The server's DETAIL: which kind of conflict. */
  reason: string | null;
  statement: string | null;
}

/** One replica in one tick: its own runtime sample, its lag, feedback and oldest snapshot. */
export interface ReplicaSample {
  /** The label of the series (`server=`): host:port, no password. */
  server: string;
  /** False when the server is not in recovery (not a standby: a promoted or wrongly given URL). */
  standby: boolean;
  hotStandbyFeedback: boolean;
  /** Bytes of WAL the replica has yet to replay, measured against the primary's current position. */
  lagBytes: number | null;
  /** Since the last replayed transaction committed on the primary (grows when the primary is idle too). */
  replayDelayMs: number | null;
  /** Recovery conflicts counted by pg_stat_database_conflicts since the replica's statistics reset. */
  conflictsTotal: number;
  oldestSnapshot: OldestSnapshot | null;
  /** The standby row on the primary whose feedback xmin is this replica's oldest snapshot, if found. */
  onPrimary: StandbyOnPrimary | null;
  /** Sessions, DB time and statements per service on the replica (the sampler of `pgpact top`). */
  sample: RuntimeSample | null;
  /** Recovery conflicts per service since pgpact started (from the replica's log). */
  conflictsByService: Record<string, number>;
  /** Why the replica could not be sampled this tick, if it could not. */
  error: string | null;
}
