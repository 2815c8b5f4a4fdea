import type { MovedTable } from './operations/move-table.js';
import type { TableName } from './types.js';

/** What the database must look like for a guarded statement to run (checked in the same transaction). */
export type Guard =
  | { kind: 'constraint-missing'; table: TableName; name: string }
  | { kind: 'column-exists'; table: TableName; column: string }
  | { kind: 'table-exists'; table: TableName };

/** One SQL statement of a step, run only when its guard holds. */
export interface GuardedStatement {
  sql: string;
  guard?: Guard;
}

/**
 * One step of a phase. `ddl` steps run their statements in one transaction under
 * lock_timeout, retried with backoff; `once` steps (raw SQL) also record
 * themselves in the same transaction so a resumed run never repeats them;
 * `create-index` / `drop-index` run CONCURRENTLY outside a transaction.
 */
export type Step =
  | { kind: 'ddl'; id: string; description: string; statements: GuardedStatement[] }
  | { kind: 'once'; id: string; description: string; sql: string; onlyIfDone?: string }
  | {
      kind: 'create-index';
      id: string;
      description: string;
      schema: string;
      name: string;
      sql: string;
      afterwards?: GuardedStatement[];
    }
  | { kind: 'drop-index'; id: string; description: string; schema: string; name: string };

/** A name an expression uses and the column its value comes from (they differ for a changed type's new column). */
export interface ExpressionInput {
  name: string;
  column: string;
}

/** A pair of shapes kept in sync both ways: new columns derived by `up`, old columns by `down`. */
export interface TwoWayRule {
  kind: 'two-way';
  /** The operation it comes from, for messages. */
  operation: string;
  up: { column: string; expression: string }[];
  down: { column: string; expression: string }[];
  /** Columns the up / down expressions read. */
  upInputs: ExpressionInput[];
  downInputs: ExpressionInput[];
}

/** A column filled by an expression whenever a write leaves it NULL (add_column up, drop_column down, set_not_null up). */
export interface FillRule {
  kind: 'fill-null';
  operation: string;
  column: string;
  expression: string;
  inputs: ExpressionInput[];
  /**
   * Also recompute on an UPDATE changing a column the expression reads while leaving this one
   * alone (add_column `up`, drop_column `down`: the value is derived from the other shape's
   * writes, as pgroll applies it to every write through that shape).
   */
  onInputChange?: boolean;
}

export type SyncRule = TwoWayRule | FillRule;

/** The sync trigger of one table: one function holding every rule of the migration for that table. */
export interface TableSync {
  table: TableName;
  functionName: string;
  triggerName: string;
  rules: SyncRule[];
}

/** How the backfill walks a table. */
export interface BackfillPlan {
  table: TableName;
  strategy: 'primary-key' | 'ctid';
  /** Primary key columns and their types (format_type), in key order. */
  key: { name: string; type: string }[];
  /** SET list and row condition: only rows no write has synced yet are touched. */
  assignments: string;
  condition: string;
}

/** A column of the old shape that `complete` removes (or whose meaning it changes), and what replaces it. */
export interface OldShapeColumn {
  table: TableName;
  column: string;
  replacedBy: string[];
  operation: string;
  /** Whether readers block `complete`: false when the column stays (a type change under the same name). */
  blocking: boolean;
}

/** Everything start, complete and rollback do, computed once at the first start and stored with the migration. */
export interface MigrationPlan {
  version: 1;
  expand: Step[];
  syncs: TableSync[];
  backfills: BackfillPlan[];
  validate: Step[];
  complete: Step[];
  rollback: Step[];
  oldShape: OldShapeColumn[];
  /** Tables complete drops: every column of them is old shape. */
  droppedTables: TableName[];
  /** Tables complete renames (rename_table): their old name is old shape (absent in older plans). */
  renamedTables?: { from: TableName; to: TableName }[];
  /** Things the user should know (indexes not carried over, volatile defaults...). */
  notes: string[];
  /**
   * Columns complete makes NOT NULL with no default: an INSERT that leaves one out works while
   * the sync trigger fills it and fails after complete (absent in older plans).
   */
  notNullAtComplete?: { table: TableName; column: string; operation: string }[];
  /** Tables move_table moves (absent in plans stored before it existed). */
  movedTables?: MovedTable[];
}
