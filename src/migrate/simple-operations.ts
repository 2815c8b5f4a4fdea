import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import { tableKey } from './names.js';
import { doBlock, qualified } from './plan-sql.js';
import { existingColumn, type PlanState, problem, type TableWork } from './plan-state.js';
import type { TableName } from './types.js';

/**
 * pgroll operations that change no column's data, so need no second shape: each one is a
 * statement at start or at complete, and its undo. One place per operation: the type, the
 * planning, and (in FORMAT.md) when it lands.
 */

export type SimpleOperation =
  | { op: 'set_default'; table: TableName; column: string; default: string | null }
  | { op: 'set_comment'; table: TableName; column?: string; comment: string | null }
  | { op: 'drop_not_null'; table: TableName; column: string }
  | { op: 'rename_constraint'; table: TableName; from: string; to: string }
  | { op: 'drop_constraint'; table: TableName; name: string }
  | {
      op: 'set_replica_identity';
      table: TableName;
      identity: 'default' | 'full' | 'nothing' | 'index';
      index?: string;
    };

export const SIMPLE_OPERATIONS = [
  'set_default',
  'set_comment',
  'drop_not_null',
  'rename_constraint',
  'drop_constraint',
  'set_replica_identity',
] as const;

/** Whether an operation is one of these. */
export function isSimple(o: { op: string }): o is SimpleOperation {
  return (SIMPLE_OPERATIONS as readonly string[]).includes(o.op);
}

/** Plans one simple operation on an existing table. */
export function planSimple(ctx: PlanState, w: TableWork, o: SimpleOperation, i: number): void {
  const t = qualified(w.table);
  const key = tableKey(w.table);
  switch (o.op) {
    case 'set_default': {
      // At start: a default only decides what an INSERT leaving the column out gets; old and
      // new code share the column. The rollback restores the default it had.
      const column = existingColumn(ctx, w, o.column, i);
      if (!column) return;
      const alter = `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(o.column)}`;
      w.afterAdd.push({
        sql: o.default === null ? `${alter} DROP DEFAULT` : `${alter} SET DEFAULT (${o.default})`,
      });
      w.rollback.push({
        sql:
          column.default === undefined
            ? `${alter} DROP DEFAULT`
            : `${alter} SET DEFAULT ${column.default}`,
      });
      return;
    }
    case 'set_comment': {
      if (o.column !== undefined && !existingColumn(ctx, w, o.column, i)) return;
      const target = o.column === undefined ? `TABLE ${t}` : `COLUMN ${t}.${quoteIdent(o.column)}`;
      w.afterAdd.push({
        sql: `COMMENT ON ${target} IS ${o.comment === null ? 'NULL' : quoteLiteral(o.comment)}`,
      });
      return;
    }
    case 'drop_not_null': {
      // At complete: until then old readers may rely on the column never being NULL.
      const column = existingColumn(ctx, w, o.column, i);
      if (!column) return;
      if (!column.notNull) ctx.plan.notes.push(`${key}.${o.column} is already nullable`);
      w.complete.push({
        sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(o.column)} DROP NOT NULL`,
      });
      return;
    }
    case 'rename_constraint': {
      if (!w.relation.constraints.some((c) => c.name === o.from)) {
        problem(ctx, i, `constraint ${o.from} does not exist on ${key}`);
        return;
      }
      // At start (constraint names are not part of any reader's shape), guarded so a resume
      // does not rename twice; the rollback renames it back.
      const rename = (from: string, to: string) =>
        doBlock(
          `IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ${quoteLiteral(t)}::regclass AND conname = ${quoteLiteral(from)}) THEN EXECUTE ${quoteLiteral(`ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`)}; END IF;`,
        );
      w.afterAdd.push({ sql: rename(o.from, o.to) });
      w.rollback.push({ sql: rename(o.to, o.from) });
      return;
    }
    case 'drop_constraint': {
      if (!w.relation.constraints.some((c) => c.name === o.name)) {
        problem(ctx, i, `constraint ${o.name} does not exist on ${key}`);
        return;
      }
      // At complete: old code may rely on it until then.
      w.complete.push({ sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}` });
      return;
    }
    case 'set_replica_identity': {
      if (o.identity === 'index' && !w.relation.indexes.some((x) => x.name === o.index)) {
        problem(ctx, i, `index ${o.index} does not exist on ${key}`);
        return;
      }
      const what =
        o.identity === 'index' ? `USING INDEX ${quoteIdent(o.index!)}` : o.identity.toUpperCase();
      w.afterAdd.push({ sql: `ALTER TABLE ${t} REPLICA IDENTITY ${what}` });
      return;
    }
  }
}
