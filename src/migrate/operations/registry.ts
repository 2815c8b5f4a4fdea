import { type AddColumn, addColumn } from './add-column.js';
import { type AddConstraint, addConstraint } from './add-constraint.js';
import { type AddIndex, addIndex } from './add-index.js';
import { type ChangeType, changeType } from './change-type.js';
import { type CreateTable, createTable } from './create-table.js';
import type { FileSpelling, OperationDefinition } from './definition.js';
import { type DropColumn, dropColumn } from './drop-column.js';
import { type DropConstraint, dropConstraint } from './drop-constraint.js';
import { type DropIndex, dropIndex } from './drop-index.js';
import { type DropNotNull, dropNotNull } from './drop-not-null.js';
import { type DropTable, dropTable } from './drop-table.js';
import { type MergeColumns, mergeColumns } from './merge-columns.js';
import { type MoveTable, moveTable } from './move-table.js';
import { type RenameColumn, renameColumn } from './rename-column.js';
import { type RenameConstraint, renameConstraint } from './rename-constraint.js';
import { type RenameTable, renameTable } from './rename-table.js';
import { type SetComment, setComment } from './set-comment.js';
import { type SetDefault, setDefault } from './set-default.js';
import { type SetNotNull, setNotNull } from './set-not-null.js';
import { type SetReplicaIdentity, setReplicaIdentity } from './set-replica-identity.js';
import { type SplitColumn, splitColumn } from './split-column.js';
import { type Sql, sql } from './sql.js';

/**
 * Every operation, by kind. Adding one: its file in this folder (its type and its
 * OperationDefinition), then one member of `Operation` and one entry of `DEFINITIONS` here.
 */

/** One declarative operation of a migration. Every expression is SQL over the row's columns. */
export type Operation =
  | CreateTable
  | DropTable
  | AddColumn
  | DropColumn
  | RenameColumn
  | SplitColumn
  | MergeColumns
  | ChangeType
  | SetNotNull
  | AddIndex
  | AddConstraint
  | Sql
  | DropIndex
  | DropConstraint
  | RenameConstraint
  | SetReplicaIdentity
  | SetDefault
  | SetComment
  | DropNotNull
  | MoveTable
  | RenameTable;

export type OperationKind = Operation['op'];

/**
 * The definitions; the compiler holds every kind of `Operation` to one entry of its own kind.
 * Their order is the order kinds are listed in messages.
 */
const DEFINITIONS: { [K in OperationKind]: OperationDefinition<Extract<Operation, { op: K }>> } = {
  create_table: createTable,
  drop_table: dropTable,
  add_column: addColumn,
  drop_column: dropColumn,
  rename_column: renameColumn,
  split_column: splitColumn,
  merge_columns: mergeColumns,
  change_type: changeType,
  set_not_null: setNotNull,
  add_index: addIndex,
  add_constraint: addConstraint,
  sql,
  drop_index: dropIndex,
  drop_constraint: dropConstraint,
  rename_constraint: renameConstraint,
  set_replica_identity: setReplicaIdentity,
  set_default: setDefault,
  set_comment: setComment,
  drop_not_null: dropNotNull,
  move_table: moveTable,
  rename_table: renameTable,
};

/** Every definition, in the registry's order. */
export const OPERATION_DEFINITIONS: readonly OperationDefinition[] = Object.values(
  DEFINITIONS,
) as OperationDefinition[];

/** The definition of an operation's kind. */
export function definitionOf<O extends Operation>(o: O): OperationDefinition<O> {
  return DEFINITIONS[o.op as OperationKind] as unknown as OperationDefinition<O>;
}

/** Every key a migration file may use, and the definition reading it. */
const SPELLINGS = new Map<string, FileSpelling>();
for (const d of OPERATION_DEFINITIONS)
  for (const s of d.spellings) {
    if (SPELLINGS.has(s.key)) throw new Error(`operation key ${s.key} is read twice`);
    SPELLINGS.set(s.key, s);
  }

/** How a key of a migration file's operation list is read, if it is one. */
export function spellingOf(key: string): FileSpelling | undefined {
  return SPELLINGS.get(key);
}

/** pgpact's operation keys; pgroll's shared ones carry pgroll's field names. */
export const PGPACT_OPERATIONS: string[] = [...SPELLINGS.values()]
  .filter((s) => s.format === 'pgpact')
  .map((s) => s.key);

/** pgroll operation keys read by mapping them onto pgpact's operations. */
export const PGROLL_ONLY_OPERATIONS: string[] = [...SPELLINGS.values()]
  .filter((s) => s.format === 'pgroll')
  .map((s) => s.key);

/** pgroll operations pgpact does not read, with what to write instead. */
export const PGROLL_UNSUPPORTED: Record<string, string> = {};
