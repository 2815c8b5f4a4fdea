import { quoteIdent, quoteLiteral } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { doBlock, qualified } from '../plan-sql.js';
import { problem } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** A constraint renamed at start (names are no reader's shape); renamed back by a rollback. */
export interface RenameConstraint {
  op: 'rename_constraint';
  table: TableName;
  from: string;
  to: string;
}

export const renameConstraint: OperationDefinition<RenameConstraint> = {
  kind: 'rename_constraint',
  spellings: [
    {
      key: 'rename_constraint',
      format: 'pgroll',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const from = f.name('from', true);
        const to = f.name('to', true);
        f.reportUnknown();
        if (!table || from === undefined || to === undefined) return undefined;
        return { op: 'rename_constraint', table, from, to };
      },
    },
  ],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    if (!w.relation.constraints.some((c) => c.name === o.from)) {
      problem(ctx, i, `constraint ${o.from} does not exist on ${tableKey(w.table)}`);
      return;
    }
    const t = qualified(w.table);
    // Guarded so a resume does not rename twice.
    const rename = (from: string, to: string) =>
      doBlock(
        `IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ${quoteLiteral(t)}::regclass AND conname = ${quoteLiteral(from)}) THEN EXECUTE ${quoteLiteral(`ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(from)} TO ${quoteIdent(to)}`)}; END IF;`,
      );
    w.afterAdd.push({ sql: rename(o.from, o.to) });
    w.rollback.push({ sql: rename(o.to, o.from) });
  },
};
