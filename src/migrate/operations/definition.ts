import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import type { PlanState, TableWork } from '../plan-state.js';
import type { ReadContext } from '../read-column.js';
import type { TableName } from '../types.js';
import type { Operation } from './registry.js';

/**
 * What every operation holds in its own file (pgroll's habit: one operation, one file, one
 * interface), looked up from registry.ts by kind. The operation only adds its steps to the
 * shared plan (plan-state.ts); the engine that runs and resumes those steps (steps.ts, start,
 * complete, rollback) knows no operation.
 */

/** One key of a migration file's operation list and how its body is read. */
export interface FileSpelling {
  /** The key as written: `rename_column`, pgroll's `alter_column`... */
  key: string;
  /** `pgroll`: only pgroll writes it, and a file using it is a pgroll file. */
  format: 'pgpact' | 'pgroll';
  /** Reads the body; problems go to `f` with their line and column. May map onto other kinds. */
  read(f: Fields, ctx: ReadContext): Operation | Operation[] | undefined;
}

/** What an operation acts on and adds, for the plan, status and the rollback's dependency check. */
export interface Footprint {
  /** The table it acts on (none for `sql` and `drop_index`). */
  table?: TableName;
  /** It creates `table`. */
  createsTable?: boolean;
  /** Columns the new shape gains with no old column behind them (add_column). */
  added?: string[];
  /** Columns the expand adds to take old columns' place, as named during the expand. */
  replacements?: string[];
  /** Constraints it adds by name. */
  constraints?: string[];
}

/** The file-wide checks an operation can make without a database. */
export interface FileCheck {
  /** Reports a problem of the file's `operations`. */
  report(message: string, hint?: string): void;
  /** Records that `by` changes the column; a second change of it in the file is reported. */
  claim(table: TableName, column: string, by: string): void;
  /** Whether the file creates this table. */
  creates(table: TableName): boolean;
}

interface DefinitionBase<O extends Operation> {
  /** The operation's kind in the model (`O['op']`). */
  kind: O['op'];
  /** The file keys read into this kind (simple operations have none: alter_column makes them). */
  spellings: FileSpelling[];
  footprint(o: O): Footprint;
  /** Checks against the other operations of the file (one change per column...). */
  checkFile?(o: O, file: FileCheck): void;
  /** On a table this migration creates (nobody reads it yet): applied directly. Absent: refused. */
  planOnCreatedTable?(ctx: PlanState, o: O, i: number): void;
}

/**
 * One operation kind: how it is read, checked and planned. Planning validates it against the
 * catalog (problems via `problem()`) and adds its start, validate, complete and rollback steps
 * to the shared plan: either on the work of its existing table (`planOnTable`: the engine has
 * checked the table exists) or on the plan as a whole (`plan`).
 */
export type OperationDefinition<O extends Operation = Operation> = DefinitionBase<O> &
  (
    | { plan(ctx: PlanState, o: O, i: number): void; planOnTable?: never }
    | { planOnTable(ctx: PlanState, w: TableWork, o: O, i: number): void; plan?: never }
  );

/** Refuses an operation reshaping a table the same file creates: its final shape belongs in create_table. */
export function refuseOnCreatedTable(file: FileCheck, kind: string, table: TableName): void {
  if (file.creates(table))
    file.report(
      `${kind} on ${tableKey(table)}, a table this migration creates`,
      'write the final shape in create_table directly',
    );
}

/** `schema.table.column` for messages. */
export function columnLabel(table: TableName, column: string): string {
  return `${tableKey(table)}.${column}`;
}
