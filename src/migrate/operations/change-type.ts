import { quoteIdent, quoteLiteral } from '../../postgres/quote.js';
import { renameColumnRefs } from '../expressions.js';
import { temporaryColumnName } from '../names.js';
import { planColumnExtras, planTwoWay } from '../plan-operations.js';
import { carryDefaultSql, defaultConstraintName, qualified } from '../plan-sql.js';
import { type PlanState, recordNotNullAtComplete, type TableWork } from '../plan-state.js';
import { expression, typeName } from '../read-column.js';
import type { ColumnExtras, ColumnSpec, TableName } from '../types.js';
import { alterColumnSpelling } from './alter-column.js';
import { type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/**
 * A column replaced by one of another type (or the same, for pgroll's alter_column adding a
 * constraint): `_pgpact_new_<column>` (or `rename`) = up(old), old = down(new), in sync both
 * ways; complete drops the old column and gives the new one its name.
 */
export interface ChangeType {
  op: 'change_type';
  table: TableName;
  column: string;
  /** The new type; absent: the column's own (pgroll's alter_column adding a constraint through up/down). */
  type?: string;
  up: string;
  down: string;
  /** Final name of the column; the old name is kept when absent. */
  rename?: string;
  /**
   * pgroll's alter_column changing several things at once: the new column gets these too
   * (nullability, default and comment at complete; constraints on the new column).
   */
  extras?: ColumnExtras;
}

export const changeType: OperationDefinition<ChangeType> = {
  kind: 'change_type',
  spellings: [
    {
      key: 'change_type',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const column = f.name('column', true);
        const type = typeName(f, 'type', ctx, true);
        const up = expression(f, 'up', ctx, true);
        const down = expression(f, 'down', ctx, true);
        const rename = f.name('rename');
        f.reportUnknown();
        if (
          !table ||
          column === undefined ||
          type === undefined ||
          up === undefined ||
          down === undefined
        )
          return undefined;
        return {
          op: 'change_type',
          table,
          column,
          type,
          up,
          down,
          ...(rename === undefined ? {} : { rename }),
        };
      },
    },
    alterColumnSpelling,
  ],
  footprint: (o) => ({ table: o.table, replacements: [o.rename ?? temporaryColumnName(o.column)] }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
    file.claim(o.table, o.column, o.op);
    if (o.rename !== undefined && o.rename !== o.column) file.claim(o.table, o.rename, o.op);
  },
  planOnTable(ctx, w, o, i) {
    const target = o.rename ?? temporaryColumnName(o.column);
    planTwoWay(
      ctx,
      w,
      {
        kind: o.op,
        olds: [o.column],
        oneToOne: true,
        keepsName: o.rename === undefined,
        derive: ([old]) => ({
          news: [
            {
              name: target,
              type: o.type ?? old!.type,
              up: o.up,
              nullable: o.extras?.nullable ?? !old!.notNull,
            },
          ],
          downs: [{ column: o.column, expression: o.down }],
          // Without a rename, `down` names the new value by the column's own name.
          alias: o.rename === undefined ? { [o.column]: target } : {},
          finalNames: [o.rename ?? o.column],
        }),
        afterAdd([old], [added]) {
          // A sequence default is not carried: the sequence belongs to the old column and goes with it.
          if (
            o.extras?.default === undefined &&
            old!.default !== undefined &&
            !old!.default.includes('nextval(')
          )
            w.complete.push({
              sql: carryDefaultSql(w.table, added!.name, old!.default, added!.type),
            });
          if (o.extras) planExtras(ctx, w, o.column, added!.name, o.extras, i);
          // Made NOT NULL here, with no default at complete: an INSERT leaving the column out
          // works while the sync trigger fills it, and fails after complete.
          const carried =
            old!.default !== undefined && !old!.default.includes('nextval(')
              ? old!.default
              : undefined;
          const finalDefault =
            o.extras?.default === undefined ? carried : (o.extras.default ?? undefined);
          if (o.extras?.nullable === false && !old!.notNull && finalDefault === undefined)
            recordNotNullAtComplete(ctx, w.table, o.column, `change_type ${o.column}`);
        },
      },
      i,
    );
  },
};

/**
 * What a pgroll alter_column sets on the replacing column besides its type: the comment at
 * start, the default at complete (a non-NULL new column means "written by new code" until then),
 * constraints on the new column (NOT VALID, validated after the backfill; unique by an index).
 */
function planExtras(
  ctx: PlanState,
  w: TableWork,
  column: string,
  target: string,
  extras: ColumnExtras,
  i: number,
): void {
  const t = qualified(w.table);
  if (extras.comment !== undefined)
    w.afterAdd.push({
      sql: `COMMENT ON COLUMN ${t}.${quoteIdent(target)} IS ${extras.comment === null ? 'NULL' : quoteLiteral(extras.comment)}`,
    });
  if (extras.default !== undefined)
    w.complete.push({
      sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(target)} ${extras.default === null ? 'DROP DEFAULT' : `SET DEFAULT (${renameColumnRefs(extras.default, column, target)})`}`,
    });
  const spec: ColumnSpec = {
    name: target,
    type: '',
    nullable: true,
    ...(extras.unique ? { unique: true } : {}),
    ...(extras.check
      ? {
          check: {
            name: extras.check.name ?? defaultConstraintName(w.table, [column], 'check'),
            expression: renameColumnRefs(extras.check.expression, column, target),
          },
        }
      : {}),
    ...(extras.references
      ? {
          references: {
            ...extras.references,
            name: extras.references.name ?? defaultConstraintName(w.table, [column], 'fkey'),
          },
        }
      : {}),
  };
  planColumnExtras(
    ctx,
    w,
    spec,
    i,
    extras.unique?.name ?? defaultConstraintName(w.table, [column], 'key'),
  );
}
