import { quoteIdent } from '../../postgres/quote.js';
import { callsFunction } from '../expressions.js';
import { tableKey } from '../names.js';
import { planColumnExtras } from '../plan-operations.js';
import { columnDefinition, qualified } from '../plan-sql.js';
import {
  absent,
  addNewColumn,
  addNotNullCheck,
  expressionInputs,
  problem,
  recordNotNullAtComplete,
  setNotNullAtComplete,
} from '../plan-state.js';
import { columnSpec, expression } from '../read-column.js';
import type { ColumnSpec, TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** A new column; with `up`, existing rows are backfilled and old-shape writes get `up`. */
export interface AddColumn {
  op: 'add_column';
  table: TableName;
  column: ColumnSpec;
  up?: string;
}

export const addColumn: OperationDefinition<AddColumn> = {
  kind: 'add_column',
  spellings: [
    {
      key: 'add_column',
      format: 'pgpact',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const columnFields = f.object('column', 'a column', true);
        const column = columnFields ? columnSpec(columnFields, ctx) : undefined;
        const up = expression(f, 'up', ctx, false);
        f.reportUnknown();
        if (!table || !column) return undefined;
        return { op: 'add_column', table, column, ...(up === undefined ? {} : { up }) };
      },
    },
  ],
  footprint: (o) => ({ table: o.table, added: [o.column.name] }),
  checkFile(o, file) {
    file.claim(o.table, o.column.name, o.op);
  },
  planOnTable(ctx, w, o, i) {
    const key = tableKey(w.table);
    const t = qualified(w.table);
    const c = o.column;
    if (!absent(ctx, w, c.name, i)) return;
    if (c.primaryKey)
      problem(ctx, i, `add_column ${key}.${c.name}: pk is only read by create_table`);
    if (c.identity || c.generated !== undefined)
      problem(
        ctx,
        i,
        `add_column ${key}.${c.name}: an identity or generated column fills every row under an exclusive lock`,
        'add a plain column with `up`, or create the table with it',
      );
    if (o.up === undefined) {
      if (!c.nullable && c.default === undefined)
        problem(
          ctx,
          i,
          `add_column ${key}.${c.name} is NOT NULL without a default or up`,
          'give `up` (an expression filling existing and old-code rows) or a default, or nullable: true',
        );
      w.addColumns.push({
        sql: `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${c.type}${c.default === undefined ? '' : ` DEFAULT (${c.default})`}${c.nullable ? '' : ' NOT NULL'}`,
      });
      if (c.default !== undefined && callsFunction(c.default))
        ctx.plan.notes.push(
          `${key}.${c.name}: its default calls a function; a volatile one (random(), clock_timestamp()...) rewrites the table under an exclusive lock: write it as \`up\` instead`,
        );
      w.rollback.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(c.name)}` });
    } else {
      addNewColumn(w, c.name, c.type);
      if (c.default !== undefined)
        w.afterAdd.push({
          sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT (${c.default})`,
        });
      const inputs = expressionInputs(ctx, w, o.up, i);
      w.rules.push({
        kind: 'fill-null',
        operation: `add_column ${c.name}`,
        column: c.name,
        expression: o.up,
        inputs,
        onInputChange: true,
      });
      w.backfill.push({
        assignments: [{ column: c.name, expression: o.up }],
        condition: `${quoteIdent(c.name)} IS NULL`,
      });
      if (!c.nullable) {
        setNotNullAtComplete(w, c.name, addNotNullCheck(ctx, w, c.name));
        if (c.default === undefined)
          recordNotNullAtComplete(ctx, w.table, c.name, `add_column ${c.name}`);
      }
    }
    planColumnExtras(ctx, w, c, i);
  },
  planOnCreatedTable(ctx, o, i) {
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `add-column:${i}`,
      description: `add ${o.column.name}`,
      statements: [
        {
          sql: `ALTER TABLE ${qualified(o.table)} ADD COLUMN IF NOT EXISTS ${columnDefinition(o.table, o.column, true)}`,
        },
      ],
    });
  },
};
