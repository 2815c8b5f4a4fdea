import { planTwoWay } from '../plan-operations.js';
import { derivedColumn, expression } from '../read-column.js';
import type { DerivedColumn, TableName } from '../types.js';
import { columnLabel, type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/** One column split into several, each derived by `up`; `down` rebuilds the old one. */
export interface SplitColumn {
  op: 'split_column';
  table: TableName;
  from: string;
  to: DerivedColumn[];
  down: string;
}

export const splitColumn: OperationDefinition<SplitColumn> = {
  kind: 'split_column',
  spellings: [
    {
      key: 'split_column',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const from = f.name('from', true);
        const to = f.objects('to', 'a new column', true)?.map((c) => derivedColumn(c, ctx));
        const down = expression(f, 'down', ctx, true);
        f.reportUnknown();
        if (!table || from === undefined || !to || to.some((c) => !c) || down === undefined)
          return undefined;
        return { op: 'split_column', table, from, to: to as DerivedColumn[], down };
      },
    },
  ],
  footprint: (o) => ({ table: o.table, replacements: o.to.map((c) => c.name) }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
    file.claim(o.table, o.from, o.op);
    const names = o.to.map((c) => c.name);
    if (new Set(names).size !== names.length)
      file.report(`split_column of ${columnLabel(o.table, o.from)} names a new column twice`);
    for (const c of o.to) {
      if (c.name === o.from)
        file.report(
          `split_column of ${columnLabel(o.table, o.from)}: a new column keeps the old name`,
          'give every new column a new name',
        );
      file.claim(o.table, c.name, o.op);
    }
  },
  planOnTable(ctx, w, o, i) {
    planTwoWay(
      ctx,
      w,
      {
        kind: o.op,
        olds: [o.from],
        oneToOne: false,
        derive: () => ({
          news: o.to,
          downs: [{ column: o.from, expression: o.down }],
          finalNames: o.to.map((c) => c.name),
        }),
      },
      i,
    );
  },
};
