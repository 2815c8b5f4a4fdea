import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import type { TableName } from '../types.js';
import { type OperationDefinition, refuseOnCreatedTable } from './definition.js';

/** A table dropped at complete; every reader of it blocks complete until then. */
export interface DropTable {
  op: 'drop_table';
  table: TableName;
}

export const dropTable: OperationDefinition<DropTable> = {
  kind: 'drop_table',
  spellings: [
    {
      key: 'drop_table',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.has('table')
          ? f.table('table', ctx.defaultSchema)
          : f.table('name', ctx.defaultSchema);
        f.ignore('table', 'name');
        f.reportUnknown();
        return table ? { op: 'drop_table', table } : undefined;
      },
    },
  ],
  footprint: (o) => ({ table: o.table }),
  checkFile(o, file) {
    refuseOnCreatedTable(file, o.op, o.table);
  },
  planOnTable(ctx, w, o) {
    const key = tableKey(o.table);
    ctx.work.delete(key);
    ctx.plan.droppedTables.push(o.table);
    for (const c of w.relation.columns)
      ctx.plan.oldShape.push({
        table: o.table,
        column: c.name,
        replacedBy: [],
        operation: `drop_table ${key}`,
        blocking: true,
      });
    ctx.plan.complete.push({
      kind: 'ddl',
      id: `drop-table:${key}`,
      description: `drop table ${key}`,
      statements: [{ sql: `DROP TABLE IF EXISTS ${qualified(w.table)}` }],
    });
  },
};
