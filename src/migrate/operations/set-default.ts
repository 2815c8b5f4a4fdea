import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { existingColumn } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** pgroll's alter_column `default` alone (`null` drops it): set at start, restored by a rollback. */
export interface SetDefault {
  op: 'set_default';
  table: TableName;
  column: string;
  default: string | null;
}

function alterSql(o: SetDefault): string {
  const alter = `ALTER TABLE ${qualified(o.table)} ALTER COLUMN ${quoteIdent(o.column)}`;
  return o.default === null ? `${alter} DROP DEFAULT` : `${alter} SET DEFAULT (${o.default})`;
}

export const setDefault: OperationDefinition<SetDefault> = {
  kind: 'set_default',
  // Read from pgroll's alter_column (alter-column.ts).
  spellings: [],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    // At start: a default only decides what an INSERT leaving the column out gets; old and
    // new code share the column. The rollback restores the default it had.
    const column = existingColumn(ctx, w, o.column, i);
    if (!column) return;
    const alter = `ALTER TABLE ${qualified(w.table)} ALTER COLUMN ${quoteIdent(o.column)}`;
    w.afterAdd.push({
      sql: o.default === null ? `${alter} DROP DEFAULT` : `${alter} SET DEFAULT (${o.default})`,
    });
    w.rollback.push({
      sql:
        column.default === undefined
          ? `${alter} DROP DEFAULT`
          : `${alter} SET DEFAULT ${column.default}`,
    });
  },
  planOnCreatedTable(ctx, o, i) {
    // On a table nobody reads yet: applied in the expand like the table itself.
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `alter:${i}`,
      description: `alter ${tableKey(o.table)}`,
      statements: [{ sql: alterSql(o) }],
    });
  },
};
