import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { existingColumn } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** pgroll's alter_column `nullable: true`: `DROP NOT NULL` at complete (old readers may rely on it until then). */
export interface DropNotNull {
  op: 'drop_not_null';
  table: TableName;
  column: string;
}

export const dropNotNull: OperationDefinition<DropNotNull> = {
  kind: 'drop_not_null',
  // Read from pgroll's alter_column (alter-column.ts).
  spellings: [],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    const column = existingColumn(ctx, w, o.column, i);
    if (!column) return;
    if (!column.notNull)
      ctx.plan.notes.push(`${tableKey(w.table)}.${o.column} is already nullable`);
    w.complete.push({
      sql: `ALTER TABLE ${qualified(w.table)} ALTER COLUMN ${quoteIdent(o.column)} DROP NOT NULL`,
    });
  },
};
