import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { planTwoWay } from '../plan-operations.js';
import { qualified } from '../plan-sql.js';
import { problem } from '../plan-state.js';
import type { TableName } from '../types.js';
import { columnLabel, type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/** A column renamed: the new name is added at start, kept equal both ways, and the old one dropped at complete. */
export interface RenameColumn {
  op: 'rename_column';
  table: TableName;
  from: string;
  to: string;
}

export const renameColumn: OperationDefinition<RenameColumn> = {
  kind: 'rename_column',
  spellings: [
    {
      key: 'rename_column',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        // pgpact writes from/to; pgroll writes column/name.
        const from = f.has('column') ? f.name('column', true) : f.name('from', true);
        const to = f.has('name') ? f.name('name', true) : f.name('to', true);
        f.ignore('column', 'from', 'name', 'to');
        f.reportUnknown();
        if (!table || from === undefined || to === undefined) return undefined;
        return { op: 'rename_column', table, from, to };
      },
    },
  ],
  footprint: (o) => ({ table: o.table, replacements: [o.to] }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
    if (o.from === o.to)
      file.report(`rename_column of ${columnLabel(o.table, o.from)} renames it to itself`);
    file.claim(o.table, o.from, o.op);
    file.claim(o.table, o.to, o.op);
  },
  planOnTable(ctx, w, o, i) {
    planTwoWay(
      ctx,
      w,
      {
        kind: o.op,
        olds: [o.from],
        oneToOne: true,
        derive([from]) {
          if (from!.default?.includes('nextval('))
            problem(
              ctx,
              i,
              `renaming ${tableKey(w.table)}.${o.from}, which takes its default from a sequence, is not supported`,
            );
          if (from!.default !== undefined && !from!.default.includes('nextval(')) {
            w.complete.push({
              sql: `ALTER TABLE ${qualified(w.table)} ALTER COLUMN ${quoteIdent(o.to)} SET DEFAULT ${from!.default}`,
            });
          }
          return {
            news: [
              { name: o.to, type: from!.type, up: quoteIdent(o.from), nullable: !from!.notNull },
            ],
            downs: [{ column: o.from, expression: quoteIdent(o.to) }],
            finalNames: [o.to],
          };
        },
      },
      i,
    );
  },
};
