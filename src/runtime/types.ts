/** The runtime model: what the sampler sees per service, per session and per lock wait. */

/** How a session was attributed to a service. */
export type Attribution =
  /** The session's role is a manifest service's role. */
  | 'manifest-role'
  /** The role is not in the manifest, but application_name names a manifest service. */
  | 'application-name'
  /** No manifest: the role name is the service name. */
  | 'role'
  /** A manifest is loaded and neither the role nor application_name names a service. */
  | 'unknown-role'
  /** Not a client session (autovacuum, checkpointer, ...): named by its backend type. */
  | 'background';

/** The service a session belongs to, and how pgpact knows. */
export interface ServiceName {
  service: string;
  attribution: Attribution;
}

/** One server process as seen by the sampler (client sessions and lock-holding background processes). */
export interface SessionInfo extends ServiceName {
  pid: number;
  role: string | null;
  applicationName: string;
  database: string | null;
  backendType: string;
  /** active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled. */
  state: string | null;
  backendStart: string | null;
  /** How long the current transaction has been open, if one is. */
  transactionMs: number | null;
  /** How long the session has been in its current state. */
  stateMs: number | null;
  waitEventType: string | null;
  waitEvent: string | null;
  /** The current or last statement (truncated); `<insufficient privilege>` without pg_monitor. */
  query: string;
  /** Processes blocking this one, when it waits for a heavyweight lock. */
  blockedBy: number[];
}

/** Connection counts of one service by pg_stat_activity state. */
export interface ConnectionCounts {
  total: number;
  active: number;
  idle: number;
  idleInTransaction: number;
  /** Idle in transaction (aborted), fastpath function call, disabled, or no state. */
  other: number;
}

/** A statement's share of the sampled interval. */
export interface StatementDelta {
  queryId: string;
  service: string;
  role: string;
  query: string;
  calls: number;
  totalTimeMs: number;
  meanTimeMs: number;
}

/** One service in one sample. */
export interface ServiceRuntime extends ServiceName {
  /** The roles whose sessions were attributed to the service. */
  roles: string[];
  connections: ConnectionCounts;
  /** The role's CONNECTION LIMIT (pg_roles.rolconnlimit), null when unlimited. */
  connectionLimit: number | null;
  /** Sessions of the service's role counted against that limit (cluster-wide). */
  limitUsed: number;
  /** Sessions waiting for a heavyweight lock (wait_event_type Lock). */
  waiting: number;
  /**
   * Processes of the service on a CPU or waiting for one at the sample: active client
   * sessions and parallel workers not waiting for anything (no wait event). Averaged
   * over samples, the CPUs' worth the service keeps busy.
   */
  busyProcesses: number;
  /** Parallel workers of the service's queries at the sample (they do not count against its connection limit). */
  parallelWorkers: number;
  longestTransactionMs: number | null;
  longestIdleInTransactionMs: number | null;
  /** Database time in the interval: completed statements plus the running part of active ones. */
  dbTimeMs: number;
  /** dbTimeMs as a fraction of all services' database time in the interval (0..1). */
  dbTimeShare: number;
  /** Completed statements in the interval (pg_stat_statements), their time and mean. */
  calls: number;
  statementTimeMs: number;
  meanStatementMs: number | null;
  /** The service's most time-consuming statement of the last statement read, if this sample read them. */
  topStatement: StatementDelta | null;
  /** Counters since the sampler started. */
  totals: ServiceTotals;
}

/** Monotonic per-service counters (Prometheus counters). */
export interface ServiceTotals {
  dbTimeMs: number;
  calls: number;
  /** Lock waits in which this service waited (each wait counted once). */
  lockWaits: number;
  /** Deadlocks in which this service took part (from the server log). */
  deadlocks: number;
}

/** What a lock wait is about. */
export interface LockObject {
  kind: 'relation' | 'row' | 'transaction' | 'virtual-transaction' | 'advisory' | 'other';
  schema?: string;
  relation?: string;
  /** The row's physical position `(page,tuple)`, for row locks. */
  tuple?: string;
  transactionId?: string;
  /** For people: `row (0,1) of users.account`, `relation users.account`, `transaction 756`. */
  description: string;
}

/** One session waiting for a heavyweight lock, and the sessions it waits for. */
export interface LockWait {
  waiting: SessionInfo;
  holding: SessionInfo[];
  object: LockObject;
  /** The lock type and mode waited for, e.g. `transactionid ShareLock`. */
  lockType: string;
  mode: string;
  waitedMs: number;
  /** When the wait started (server time, ISO). */
  since: string | null;
}

/** One sample of the whole server. */
export interface RuntimeSample {
  /** Server time of the sample (ISO). */
  takenAt: string;
  /** Milliseconds since the previous sample; null for the first one. */
  intervalMs: number | null;
  database: string;
  serverVersion: number;
  maxConnections: number;
  /** Client connections of the whole server, the sampler's own excluded. */
  totalConnections: number;
  services: ServiceRuntime[];
  sessions: SessionInfo[];
  lockWaits: LockWait[];
  /**
   * The most time-consuming statements (the top ones overall and per service) since
   * the previous statement read: per-statement counters are read every few seconds
   * (SamplerOptions.statementDetailIntervalMs), so samples in between have none.
   */
  topStatements: StatementDelta[];
  /** Deadlocks counted by pg_stat_database (all databases): total and since the previous sample. */
  deadlocks: { total: number; delta: number };
  /** Whether pg_stat_statements could be read; without it DB time is estimated from active sessions. */
  statementsAvailable: boolean;
  /** What the sample took to collect (the sampler's own cost). */
  sampleDurationMs: number;
  /** Things the user should know (missing extension, missing privileges). */
  notes: string[];
}
