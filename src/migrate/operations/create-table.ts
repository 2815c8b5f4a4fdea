import { findRelation } from '../../postgres/catalog.js';
import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { columnDefinition, commentSql, qualified, tableCommentSql } from '../plan-sql.js';
import { problem } from '../plan-state.js';
import type { GuardedStatement } from '../plan-types.js';
import { columnSpec } from '../read-column.js';
import {
  readTableConstraint,
  type TableConstraint,
  tableConstraintSql,
} from '../table-constraints.js';
import type { ColumnSpec, TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** A new table: created in the expand (nobody reads it yet), dropped by a rollback. */
export interface CreateTable {
  op: 'create_table';
  table: TableName;
  columns: ColumnSpec[];
  comment?: string;
  constraints?: TableConstraint[];
}

export const createTable: OperationDefinition<CreateTable> = {
  kind: 'create_table',
  spellings: [
    {
      key: 'create_table',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.has('table')
          ? f.table('table', ctx.defaultSchema)
          : f.table('name', ctx.defaultSchema);
        f.ignore('table', 'name');
        const comment = f.string('comment');
        const constraints = f
          .objects('constraints', 'a table constraint')
          ?.map((c) => readTableConstraint(c, ctx));
        const columns = f.objects('columns', 'a column', true)?.map((c) => columnSpec(c, ctx));
        f.reportUnknown();
        if (!table || !columns || columns.some((c) => c === undefined)) return undefined;
        return {
          op: 'create_table',
          table,
          columns: columns as ColumnSpec[],
          ...(comment === undefined ? {} : { comment }),
          ...(constraints && constraints.length > 0
            ? { constraints: constraints.filter((c) => c !== undefined) }
            : {}),
        };
      },
    },
  ],
  footprint: (o) => ({ table: o.table, createsTable: true }),
  plan(ctx, o, i) {
    const key = tableKey(o.table);
    if (findRelation(ctx.catalog, o.table.schema, o.table.name))
      problem(ctx, i, `table ${key} already exists`);
    if (!ctx.catalog.schemas.some((s) => s.name === o.table.schema))
      problem(
        ctx,
        i,
        `schema ${o.table.schema} does not exist`,
        'create it first (pgpact apply provisions owned schemas)',
      );
    const pk = o.columns.filter((c) => c.primaryKey).map((c) => c.name);
    const defs = o.columns.map((c) => columnDefinition(o.table, c, pk.length === 1));
    if (pk.length > 1) defs.push(`PRIMARY KEY (${pk.map(quoteIdent).join(', ')})`);
    for (const c of o.constraints ?? []) defs.push(tableConstraintSql(c));
    const statements: GuardedStatement[] = [
      { sql: `CREATE TABLE IF NOT EXISTS ${qualified(o.table)} (\n  ${defs.join(',\n  ')}\n)` },
    ];
    for (const c of o.columns)
      if (c.comment !== undefined) statements.push({ sql: commentSql(o.table, c.name, c.comment) });
    if (o.comment !== undefined) statements.push({ sql: tableCommentSql(o.table, o.comment) });
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `create-table:${key}`,
      description: `create table ${key}`,
      statements,
    });
    ctx.undo.created.push({
      kind: 'ddl',
      id: `rollback:create-table:${key}`,
      description: `drop table ${key}`,
      statements: [{ sql: `DROP TABLE IF EXISTS ${qualified(o.table)}` }],
    });
  },
};
