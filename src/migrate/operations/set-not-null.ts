import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import {
  addNotNullCheck,
  existingColumn,
  expressionInputs,
  recordNotNullAtComplete,
  setNotNullAtComplete,
} from '../plan-state.js';
import { expression } from '../read-column.js';
import type { TableName } from '../types.js';
import { type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/**
 * NOT NULL without a long lock: `CHECK (column IS NOT NULL) NOT VALID` at start (with `up`, NULLs
 * filled in place), validated after the backfill, `SET NOT NULL` at complete.
 */
export interface SetNotNull {
  op: 'set_not_null';
  table: TableName;
  column: string;
  up?: string;
}

export const setNotNull: OperationDefinition<SetNotNull> = {
  kind: 'set_not_null',
  spellings: [
    {
      key: 'set_not_null',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const column = f.name('column', true);
        const up = expression(f, 'up', ctx, false);
        f.reportUnknown();
        if (!table || column === undefined) return undefined;
        return { op: 'set_not_null', table, column, ...(up === undefined ? {} : { up }) };
      },
    },
  ],
  footprint: (o) => ({ table: o.table }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
    file.claim(o.table, o.column, o.op);
  },
  planOnTable(ctx, w, o, i) {
    const column = existingColumn(ctx, w, o.column, i);
    if (!column) return;
    if (column.notNull) {
      ctx.plan.notes.push(`${tableKey(w.table)}.${o.column} is already NOT NULL`);
      return;
    }
    if (o.up !== undefined) {
      const inputs = expressionInputs(ctx, w, o.up, i);
      w.rules.push({
        kind: 'fill-null',
        operation: `set_not_null ${o.column}`,
        column: o.column,
        expression: o.up,
        inputs,
      });
      w.backfill.push({
        assignments: [{ column: o.column, expression: o.up }],
        condition: `${quoteIdent(o.column)} IS NULL`,
      });
    }
    setNotNullAtComplete(w, o.column, addNotNullCheck(ctx, w, o.column));
    if (column.default === undefined)
      recordNotNullAtComplete(ctx, w.table, o.column, `set_not_null ${o.column}`);
  },
};
