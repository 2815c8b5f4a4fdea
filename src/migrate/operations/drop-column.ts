import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { existingColumn, expressionInputs, notInKey } from '../plan-state.js';
import { expression } from '../read-column.js';
import type { TableName } from '../types.js';
import { type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/** A column dropped at complete; with `down`, writes leaving it NULL (new code) get `down`. */
export interface DropColumn {
  op: 'drop_column';
  table: TableName;
  column: string;
  down?: string;
}

export const dropColumn: OperationDefinition<DropColumn> = {
  kind: 'drop_column',
  spellings: [
    {
      key: 'drop_column',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const column = f.name('column', true);
        const down = expression(f, 'down', ctx, false);
        f.reportUnknown();
        if (!table || column === undefined) return undefined;
        return { op: 'drop_column', table, column, ...(down === undefined ? {} : { down }) };
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
    notInKey(ctx, w, o.column, i, 'dropping');
    if (o.down !== undefined) {
      const inputs = expressionInputs(ctx, w, o.down, i);
      w.rules.push({
        kind: 'fill-null',
        operation: `drop_column ${o.column}`,
        column: o.column,
        expression: o.down,
        inputs,
        onInputChange: true,
      });
    } else if (column.notNull && column.default === undefined) {
      ctx.plan.notes.push(
        `${tableKey(w.table)}.${o.column} is NOT NULL without a default: code that stops writing it fails until complete; give \`down\``,
      );
    }
    w.complete.push({
      sql: `ALTER TABLE ${qualified(w.table)} DROP COLUMN IF EXISTS ${quoteIdent(o.column)}`,
    });
    ctx.plan.oldShape.push({
      table: o.table,
      column: o.column,
      replacedBy: [],
      operation: `drop_column ${o.column}`,
      blocking: true,
    });
  },
};
