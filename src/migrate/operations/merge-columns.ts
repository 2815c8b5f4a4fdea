import { tableKey } from '../names.js';
import { planTwoWay } from '../plan-operations.js';
import { derivedColumn, expression } from '../read-column.js';
import type { DerivedColumn, TableName } from '../types.js';
import { type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/** Several columns merged into one derived by `up`; `down` rebuilds each old one. */
export interface MergeColumns {
  op: 'merge_columns';
  table: TableName;
  from: string[];
  to: DerivedColumn;
  /** Old column → SQL expression over the new column deriving it. */
  down: Record<string, string>;
}

export const mergeColumns: OperationDefinition<MergeColumns> = {
  kind: 'merge_columns',
  spellings: [
    {
      key: 'merge_columns',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const from = f.names('from', true);
        const toFields = f.object('to', 'the new column', true);
        const to = toFields ? derivedColumn(toFields, ctx) : undefined;
        const downFields = f.object('down', 'the down expressions (old column: expression)', true);
        const down: Record<string, string> = {};
        if (downFields) {
          for (const key of Object.keys(downFields.value)) {
            const sql = expression(downFields, key, ctx, true);
            if (sql !== undefined) down[key] = sql;
          }
          for (const column of from ?? []) {
            if (down[column] === undefined)
              f.report('down', `\`down\` needs an expression for the old column \`${column}\``);
          }
          for (const key of Object.keys(down)) {
            if (from && !from.includes(key))
              f.report('down', `\`down\` names \`${key}\`, which is not in \`from\``);
          }
        }
        f.reportUnknown();
        if (!table || !from || !to || !downFields) return undefined;
        return { op: 'merge_columns', table, from, to, down };
      },
    },
  ],
  footprint: (o) => ({ table: o.table, replacements: [o.to.name] }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
    if (o.from.length < 2)
      file.report(`merge_columns on ${tableKey(o.table)} needs at least two columns in \`from\``);
    for (const c of o.from) file.claim(o.table, c, o.op);
    if (o.from.includes(o.to.name))
      file.report(`merge_columns on ${tableKey(o.table)}: the new column keeps an old name`);
    file.claim(o.table, o.to.name, o.op);
  },
  planOnTable(ctx, w, o, i) {
    planTwoWay(
      ctx,
      w,
      {
        kind: o.op,
        olds: o.from,
        oneToOne: false,
        derive: () => ({
          news: [o.to],
          downs: o.from.map((c) => ({ column: c, expression: o.down[c]! })),
          finalNames: [o.to.name],
        }),
      },
      i,
    );
  },
};
