import { quoteIdent, quoteLiteral } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { qualified, tableCommentSql } from '../plan-sql.js';
import { existingColumn } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** pgroll's alter_column `comment` (`null` removes it), on a column or the table: set at start, not restored. */
export interface SetComment {
  op: 'set_comment';
  table: TableName;
  column?: string;
  comment: string | null;
}

export const setComment: OperationDefinition<SetComment> = {
  kind: 'set_comment',
  // Read from pgroll's alter_column (alter-column.ts).
  spellings: [],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    if (o.column !== undefined && !existingColumn(ctx, w, o.column, i)) return;
    const t = qualified(w.table);
    const target = o.column === undefined ? `TABLE ${t}` : `COLUMN ${t}.${quoteIdent(o.column)}`;
    w.afterAdd.push({
      sql: `COMMENT ON ${target} IS ${o.comment === null ? 'NULL' : quoteLiteral(o.comment)}`,
    });
  },
  planOnCreatedTable(ctx, o, i) {
    // On a table nobody reads yet: applied in the expand like the table itself.
    const sql =
      o.column === undefined
        ? tableCommentSql(o.table, o.comment)
        : `COMMENT ON COLUMN ${qualified(o.table)}.${quoteIdent(o.column)} IS ${o.comment === null ? 'NULL' : quoteLiteral(o.comment)}`;
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `alter:${i}`,
      description: `alter ${tableKey(o.table)}`,
      statements: [{ sql }],
    });
  },
};
