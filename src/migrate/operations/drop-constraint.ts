import { quoteIdent } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { problem } from '../plan-state.js';
import type { ReadContext } from '../read-column.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** A constraint dropped at complete (old writers stay bound by it until then). */
export interface DropConstraint {
  op: 'drop_constraint';
  table: TableName;
  name: string;
}

/** pgroll's drop_constraint and drop_multicolumn_constraint read the same fields. */
function read(f: Fields, ctx: ReadContext): DropConstraint | undefined {
  const table = f.table('table', ctx.defaultSchema);
  const name = f.name('name', true);
  f.ignore('column');
  // pgroll's up/down: accepted, not needed (the column is not replaced).
  f.ignore('up', 'down');
  f.reportUnknown();
  if (!table || name === undefined) return undefined;
  return { op: 'drop_constraint', table, name };
}

export const dropConstraint: OperationDefinition<DropConstraint> = {
  kind: 'drop_constraint',
  spellings: [
    { key: 'drop_constraint', format: 'pgroll', read },
    { key: 'drop_multicolumn_constraint', format: 'pgroll', read },
  ],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    if (!w.relation.constraints.some((c) => c.name === o.name)) {
      problem(ctx, i, `constraint ${o.name} does not exist on ${tableKey(w.table)}`);
      return;
    }
    w.complete.push({
      sql: `ALTER TABLE ${qualified(w.table)} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}`,
    });
  },
};
