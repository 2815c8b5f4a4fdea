import type { BackfillPace } from './progress.js';
import type { ThrottleOptions } from './throttle.js';
import type { Operation } from './operations/registry.js';

/** The model of an expand/contract migration, read from a pgpact YAML/JSON file or a pgroll JSON file. */

/** A table named by schema and name, exactly as stored (no case folding). */
export interface TableName {
  schema: string;
  name: string;
}

/** A foreign key target. */
export interface ForeignKeyTarget {
  table: TableName;
  columns: string[];
  onDelete?: string;
}

/** A column to create: the final definition once the migration completes. */
export interface ColumnSpec {
  name: string;
  type: string;
  /** Whether NULL is allowed once the migration completes (default true). */
  nullable: boolean;
  default?: string;
  unique?: boolean;
  primaryKey?: boolean;
  check?: { name?: string; expression: string };
  references?: ForeignKeyTarget & { name?: string };
  comment?: string;
  /** An identity column (pgroll's `generated.identity`). */
  identity?: 'always' | 'by default';
  /** A stored generated column's expression (pgroll's `generated.expression`). */
  generated?: string;
}

/** What a pgroll alter_column may set on the column that replaces the old one. */
export interface ColumnExtras {
  nullable?: boolean;
  default?: string | null;
  comment?: string | null;
  unique?: { name?: string };
  check?: { name?: string; expression: string };
  references?: ForeignKeyTarget & { name?: string };
}

/** A new column derived from the old shape by an SQL expression over the row. */
export interface DerivedColumn {
  name: string;
  type: string;
  /** SQL expression over the old columns computing this column. */
  up: string;
  nullable: boolean;
}

// Each operation's type lives in its own file under operations/; the union is the registry's.
export type { Operation, OperationKind } from './operations/registry.js';

/** A parsed migration file. */
export interface Migration {
  name: string;
  /** Absolute path of the file it was read from. */
  file: string;
  /** sha256 of the file's bytes: a resumed start must see the same file. */
  checksum: string;
  /** Which format the file was written in. */
  format: 'pgpact' | 'pgroll';
  operations: Operation[];
}

/** Where a migration stands. `completed` and `rolled_back` only appear in the history. */
export type Phase =
  | 'expanding'
  | 'backfilling'
  | 'validating'
  | 'active'
  | 'completing'
  | 'rolling_back'
  | 'completed'
  | 'rolled_back';

/** Backfill progress of one table, recorded after every batch in the same transaction as the batch. */
export interface TableBackfill {
  table: TableName;
  strategy: 'primary-key' | 'ctid';
  /** Last key done: primary key values as text, or the last page for ctid. */
  lastKey: string[] | null;
  rowsDone: number;
  rowsTotal: number;
  /** For ctid: the number of pages when the backfill started. */
  pages?: number;
  /**
   * For a dense integer primary key: its smallest and largest value when the backfill
   * started (rows inserted later are synced by the trigger). Batches are then key ranges
   * of batchSize ÷ density values, with no lookup of where a batch ends.
   */
  keyRange?: { min: string; max: string };
  done: boolean;
  /** Rate, ETA, time throttled and why, as the running backfill last measured them. */
  pace?: BackfillPace;
}

/** A statement pgpact saw at start, counted per role and query id. */
export interface StatementCounter {
  calls: number;
  /** When this count was first seen by pgpact (ISO). */
  seenAt: string;
}

/** The bookkeeping row of the migration in progress (table pgpact.migrations). */
export interface MigrationRecord {
  name: string;
  file: string;
  checksum: string;
  migration: Migration;
  phase: Phase;
  startedAt: string;
  updatedAt: string;
  backfill: Record<string, TableBackfill>;
  stepsDone: string[];
  /** pg_stat_statements calls per `userid:queryid` at start; undefined when the extension is absent. */
  baseline?: Record<string, number>;
  /** Last counts seen for statements that use the old shape, per `userid:queryid`. */
  observations: Record<string, StatementCounter>;
}

/** Options of start, complete and rollback. */
export interface RunOptions {
  /** Rows per backfill transaction (default 10,000). */
  batchSize?: number;
  /** lock_timeout of every DDL statement in milliseconds (default 2,000). */
  lockTimeoutMs?: number;
  /** Attempts of a DDL step that hits lock_timeout before giving up (default 8). */
  maxAttempts?: number;
  /** How long to wait for another pgpact process to release the migration lock (default 10 s). */
  lockWaitMs?: number;
  /** Called after each backfill batch and once at the end of each table. */
  onProgress?: (progress: TableBackfill) => void;
  /** Target duration of an adaptive backfill batch in ms (default 100); ignored with batchSize. */
  batchTimeMs?: number;
  /** Conditions the backfill waits on (replica lag, active sessions, a query); the operator's pause always counts. */
  throttle?: ThrottleOptions;
  /** Each backfill pause with its reason, and its end. */
  onThrottle?: (message: string) => void;
  /** Called with a short line for each step done. */
  onStep?: (message: string) => void;
  signal?: AbortSignal;
}
