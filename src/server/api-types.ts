/**
 * The dashboard's JSON API: the shapes the server sends and the page reads.
 * This file is shared by src/server and web/, so it holds types only (no Node imports).
 */

/** A section of the page: its data, or why it cannot be shown yet. */
export type Section<T> = { available: true; data: T } | { available: false; reason: string };

export type Severity = 'breaking' | 'warning' | 'info';

/** One consumer named by a finding and how pgpact knows it reads. */
export interface ReportConsumer {
  service: string;
  source: 'declared' | 'observed';
}

/** One finding of `pgpact check --format json`. */
export interface ReportFinding {
  severity: Severity;
  kind: string;
  /** `schema`, `schema.table` or `schema.table.column`. */
  object: string;
  consumers: ReportConsumer[];
  location?: string;
  message: string;
  suggestion?: string;
}

/** A loaded `pgpact check --format json` report. */
export interface CheckReport {
  breaking: boolean;
  findings: ReportFinding[];
  /** Where it came from: a file name, 'upload' or 'paste'. */
  source: string;
  loadedAt: string;
}

/** How a service's access to a table relates to its contract. */
export type EdgeStatus =
  /** declared and observed within the declared columns */
  | 'ok'
  /** declared, not seen in the observed window */
  | 'unused'
  /** observed with no contract at all */
  | 'undeclared'
  /** observed on columns outside the contract */
  | 'beyond-contract'
  /** observed, and there is no manifest to compare with */
  | 'observed';

/** A service, as the manifest declares it or as a role seen in the statistics. */
export interface MapService {
  name: string;
  role: string;
  team?: string;
  contact?: string;
  enforcement?: 'enforce' | 'audit';
  /** Schemas it owns whole (manifest; without a manifest: schemas its role owns with every table in them). */
  owns: string[];
  /** Tables (`schema.table` ids) it owns in schemas it does not own whole (shared schemas such as `public`). */
  ownsTables?: string[];
  /** False for a role seen only in observed usage. */
  inManifest: boolean;
}

export interface MapSchema {
  name: string;
  /** The owning service, if any. */
  ownerService?: string;
  /** The role owning the schema in the catalog ('' when the schema is only declared). */
  ownerRole: string;
}

/** One consumer of one column. */
export interface ColumnAccess {
  service: string;
  declared: boolean;
  observed: boolean;
  /** Calls of the statements reading it, when observed. */
  calls: number;
  /** A breaking finding of the loaded check report concerns this column and this service. */
  broken: boolean;
}

export interface MapColumn {
  name: string;
  type: string;
  /** Absent from the live catalog (declared in a contract only). */
  missing: boolean;
  readers: ColumnAccess[];
  writers: ColumnAccess[];
  /** Check-report findings about this column. */
  findings: ReportFinding[];
}

export interface MapTable {
  /** `schema.table` */
  id: string;
  schema: string;
  name: string;
  kind: string;
  ownerService?: string;
  estimatedRows: number;
  /** Declared in a contract but absent from the catalog. */
  missing: boolean;
  columns: MapColumn[];
  /** Check-report findings about the table or its columns. */
  findings: ReportFinding[];
}

/** A consumer's access to another service's table. */
export interface MapEdge {
  /** `read:service→schema.table` */
  id: string;
  service: string;
  /** MapTable.id */
  table: string;
  access: 'read' | 'write';
  declared: boolean;
  observed: boolean;
  status: EdgeStatus;
  /** A breaking finding of the loaded check report hits this edge. */
  broken: boolean;
  declaredColumns: '*' | string[];
  observedColumns: string[];
  /** Observed columns outside the contract. */
  undeclaredColumns: string[];
  calls: number;
  /** Check-report findings naming this service on this table. */
  findings: ReportFinding[];
}

/** The coupling map: who owns what and who reads what. */
export interface CouplingMap {
  generatedAt: string;
  database: string;
  sources: {
    manifest?: string;
    /** When the observed usage was taken, and from where. */
    usage?: { takenAt: string; origin: string };
    checkReport?: string;
  };
  services: MapService[];
  schemas: MapSchema[];
  tables: MapTable[];
  edges: MapEdge[];
  /** Things the reader should know (e.g. roles left out). */
  notes: string[];
}

/** A consumer still using the old shape of the migration in flight, and the changes that end it. */
export interface MigrationConsumerView {
  /** The service, or `role x` for a role the manifest does not name. */
  name: string;
  service?: string;
  role?: string;
  /** A manifest contract names an old column (or `*` on a changed table). */
  declared: boolean;
  /** Its statements used an old column since the migration started (pg_stat_statements). */
  observed: boolean;
  /** A view or materialized view it owns reads an old column. */
  view: boolean;
  access: ('read' | 'write')[];
  /** Old-shape columns it uses, `schema.table.column`. */
  columns: string[];
  /** Whether it stops `complete` now. */
  blocking: boolean;
  /** What to change: a contract edit, a deployment, a view to redefine. */
  changes: string[];
  /** Where its contracts are written (`file:line`). */
  locations: string[];
  /** Observed statements using the old shape: the most called ones (see moreStatements). */
  statements: {
    query: string;
    callsSinceStart: number;
    /** When this dashboard saw its count grow between two readings (absent: not since it began watching). */
    lastCallSeenAt?: string;
    /** When this dashboard first saw the statement in this migration. */
    watchedSince: string;
  }[];
  /** Observed statements left out of `statements`. */
  moreStatements: number;
}

/** Backfill progress of one table. */
export interface TableBackfillView {
  /** `schema.table` */
  table: string;
  done: number;
  total: number;
  finished: boolean;
}

/** The migration in flight, as the dashboard shows it. */
export interface MigrationView {
  name: string;
  file: string;
  /** Services owning the changed schemas. */
  services: string[];
  /** expanding, backfilling, validating, active, completing or rolling_back. */
  phase: string;
  startedAt: string;
  updatedAt: string;
  /** Backfill progress, when the migration backfills anything. */
  backfill?: {
    done: number;
    total: number;
    /** 0..100 */
    percent: number;
    /** Rows per second over the running backfill's last minute (else between two readings), while it backfills. */
    rowsPerSecond?: number;
    /** Seconds left at that rate, as the running backfill estimates it. */
    etaSeconds?: number;
    /** Time spent throttled (paused before batches, and the back-off's pauses), over every run. */
    throttledMs: number;
    /** Why it waits now (a throttle condition or the operator's pause), when it does. */
    throttledBy?: string;
    /** Why its adaptive batches hold back now (writers waited on them, or slowed), when they do. */
    backoff?: string;
    finished: boolean;
    /** Backfilling, but no batch recorded for over a minute: the process running it may be gone. */
    stalled: boolean;
    tables: TableBackfillView[];
  };
  /** Objects of the old shape, `schema.table.column` (`schema.table.*` for a dropped table). */
  oldShape: string[];
  newShape: string[];
  /** Consumers still using the old shape: `complete` waits for the blocking ones. */
  consumers: MigrationConsumerView[];
  /** Whether observed usage could be checked, and why not. */
  observation: { available: boolean; reason?: string };
  /** Whether declared consumers were checked (the dashboard has a manifest). */
  declaredChecked: boolean;
  /** Whether `complete` would proceed now without --force. */
  canComplete: boolean;
  notes: string[];
}

/** A finished migration. */
export interface MigrationHistoryView {
  name: string;
  file: string;
  /** completed or rolled_back */
  outcome: string;
  startedAt: string;
  finishedAt: string;
  /** Consumers `complete --force` went past. */
  forcedPast: string[];
}

export interface MigrationsState {
  /** The migration in progress (pgpact runs one at a time), or null. */
  inFlight: MigrationView | null;
  /** Newest first. */
  recent: MigrationHistoryView[];
  /** Things the reader should know (e.g. the manifest could not be read). */
  notes: string[];
}

/** Per-service figures at one sampling instant. */
export interface ServiceSample {
  service: string;
  connections: number;
  active: number;
  idleInTransaction: number;
  /** Share of the database time spent by this service since the previous sample, 0..1. */
  dbTimeShare: number;
  /** Milliseconds of database time since the previous sample. */
  dbTimeMs: number;
  /** Sessions and parallel workers of the service on a CPU or waiting for one, at the sample. */
  busy: number;
}

export interface RuntimeSample {
  at: string;
  services: ServiceSample[];
}

/** One session waiting for a lock another session holds. */
export interface LockWaitView {
  waiter: { service: string; pid: number; query: string; waitingMs: number };
  holder: { service: string; pid: number; query: string; state: string };
  /** The locked relation, when the lock is on one. */
  relation?: string;
  lockType: string;
  mode: string;
}

export interface DeadlockView {
  at: string;
  services: string[];
  detail: string;
}

export interface RuntimeFinding {
  severity: Severity;
  kind: string;
  service?: string;
  message: string;
}

export interface RuntimeState {
  intervalMs: number;
  /** Oldest first. */
  samples: RuntimeSample[];
  lockWaits: LockWaitView[];
  deadlocks: DeadlockView[];
  findings: RuntimeFinding[];
  /** PgBouncer's pools per service, when its admin console is read. */
  pool?: PoolServiceView[];
  /** Each streaming replica watched with the primary. */
  replicas?: ReplicaView[];
}

/** One replica (label `server`): lag, feedback, and the services reading there. */
export interface ReplicaView {
  server: string;
  standby: boolean;
  lagBytes: number | null;
  replayDelayMs: number | null;
  hotStandbyFeedback: boolean;
  services: {
    service: string;
    sessions: number;
    dbTimeShare: number;
    recoveryConflicts: number;
  }[];
  error: string | null;
}

/** One service's PgBouncer pools: clients waiting for a server connection and how full the pool is. */
export interface PoolServiceView {
  service: string;
  clientsActive: number;
  clientsWaiting: number;
  longestWaitMs: number;
  serversHeld: number;
  poolSize: number | null;
  /** serversHeld / poolSize (0..1), null when the size is unknown. */
  saturation: number | null;
}

/** GET /api/state: every section at once. */
export interface DashboardState {
  version: 1;
  database: string;
  intervalMs: number;
  map: Section<CouplingMap>;
  migrations: Section<MigrationsState>;
  runtime: Section<RuntimeState>;
  checkReport: Section<CheckReport | null>;
}

/** Names of the Server-Sent Events on /api/events; each carries its section as JSON. */
export type DashboardEventName = 'map' | 'migrations' | 'runtime' | 'check-report';
