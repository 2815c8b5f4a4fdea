import { closestName } from '../manifest/closest.js';
import type { Fields } from './fields.js';
import {
  columnSpec,
  derivedColumn,
  expression,
  type ReadContext,
  references,
  type SqlToCheck,
  typeName,
} from './read-column.js';
import { PGROLL_READERS } from './read-pgroll.js';
import { readRenameTable } from './rename-table.js';
import { readTableConstraint } from './table-constraints.js';
import type { ColumnSpec, DerivedColumn, Operation, TableName } from './types.js';

/** pgpact's operations; pgroll's shared ones carry pgroll's field names. */
export const PGPACT_OPERATIONS = [
  'create_table',
  'drop_table',
  'add_column',
  'drop_column',
  'rename_column',
  'split_column',
  'merge_columns',
  'change_type',
  'set_not_null',
  'add_index',
  'add_constraint',
  'rename_table',
  'sql',
];

/** pgroll operations read by mapping them onto pgpact's. */
export const PGROLL_ONLY_OPERATIONS = [
  'alter_column',
  'create_index',
  'create_constraint',
  'drop_index',
  'drop_constraint',
  'drop_multicolumn_constraint',
  'rename_constraint',
  'set_replica_identity',
];

/** pgroll operations pgpact does not read, with what to write instead. */
export const PGROLL_UNSUPPORTED: Record<string, string> = {};

type Reader = (f: Fields, ctx: ReadContext) => Operation | Operation[] | undefined;

const READERS: Record<string, Reader> = {
  ...PGROLL_READERS,
  rename_table: readRenameTable,
  create_table(f, ctx) {
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
  drop_table(f, ctx) {
    const table = f.has('table')
      ? f.table('table', ctx.defaultSchema)
      : f.table('name', ctx.defaultSchema);
    f.ignore('table', 'name');
    f.reportUnknown();
    return table ? { op: 'drop_table', table } : undefined;
  },
  add_column(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const columnFields = f.object('column', 'a column', true);
    const column = columnFields ? columnSpec(columnFields, ctx) : undefined;
    const up = expression(f, 'up', ctx, false);
    f.reportUnknown();
    if (!table || !column) return undefined;
    return { op: 'add_column', table, column, ...(up === undefined ? {} : { up }) };
  },
  drop_column(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const column = f.name('column', true);
    const down = expression(f, 'down', ctx, false);
    f.reportUnknown();
    if (!table || column === undefined) return undefined;
    return { op: 'drop_column', table, column, ...(down === undefined ? {} : { down }) };
  },
  rename_column(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    // pgpact writes from/to; pgroll writes column/name.
    const from = f.has('column') ? f.name('column', true) : f.name('from', true);
    const to = f.has('name') ? f.name('name', true) : f.name('to', true);
    f.ignore('column', 'from', 'name', 'to');
    f.reportUnknown();
    if (!table || from === undefined || to === undefined) return undefined;
    return { op: 'rename_column', table, from, to };
  },
  split_column(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const from = f.name('from', true);
    const to = f.objects('to', 'a new column', true)?.map((c) => derivedColumn(c, ctx));
    const down = expression(f, 'down', ctx, true);
    f.reportUnknown();
    if (!table || from === undefined || !to || to.some((c) => !c) || down === undefined)
      return undefined;
    return { op: 'split_column', table, from, to: to as DerivedColumn[], down };
  },
  merge_columns(f, ctx) {
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
  change_type(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const column = f.name('column', true);
    const type = typeName(f, 'type', ctx, true);
    const up = expression(f, 'up', ctx, true);
    const down = expression(f, 'down', ctx, true);
    const rename = f.name('rename');
    f.reportUnknown();
    if (
      !table ||
      column === undefined ||
      type === undefined ||
      up === undefined ||
      down === undefined
    )
      return undefined;
    return {
      op: 'change_type',
      table,
      column,
      type,
      up,
      down,
      ...(rename === undefined ? {} : { rename }),
    };
  },
  set_not_null(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const column = f.name('column', true);
    const up = expression(f, 'up', ctx, false);
    f.reportUnknown();
    if (!table || column === undefined) return undefined;
    return { op: 'set_not_null', table, column, ...(up === undefined ? {} : { up }) };
  },
  add_index(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const name = f.name('name', true);
    const columns = f.names('columns', true);
    const unique = f.boolean('unique') ?? false;
    const method = f.string('method');
    const where = f.has('predicate')
      ? expression(f, 'predicate', ctx, true)
      : expression(f, 'where', ctx, false);
    f.ignore('predicate', 'where');
    if (f.has('storage_parameters'))
      f.report('storage_parameters', 'index storage parameters are not read');
    f.ignore('storage_parameters');
    f.reportUnknown();
    if (method !== undefined && !/^[a-z_][a-z0-9_]*$/.test(method)) {
      f.report(
        'method',
        `unknown index method \`${method}\``,
        'one of btree, hash, gist, spgist, gin, brin',
      );
    }
    if (
      !table ||
      name === undefined ||
      !columns ||
      (method !== undefined && !/^[a-z_][a-z0-9_]*$/.test(method))
    )
      return undefined;
    return {
      op: 'add_index',
      table,
      name,
      columns,
      unique,
      ...(method === undefined ? {} : { method }),
      ...(where === undefined ? {} : { where }),
    };
  },
  add_constraint(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const name = f.name('name', true);
    const type = f.string('type', true);
    const columns = f.names('columns') ?? [];
    const check = type === 'check' ? expression(f, 'check', ctx, true) : f.string('check');
    const refs = references(f.object('references', 'the referenced table'), ctx, true);
    // pgroll's create_constraint rewrites rows through up/down; pgpact validates the rows as they are.
    f.ignore('up', 'down');
    f.reportUnknown();
    if (!table || name === undefined || type === undefined) return undefined;
    if (type !== 'check' && type !== 'foreign_key' && type !== 'unique' && type !== 'primary_key') {
      f.report(
        'type',
        `unknown constraint type \`${type}\``,
        'one of check, foreign_key, unique, primary_key',
      );
      return undefined;
    }
    if (type !== 'check' && columns.length === 0)
      f.report(undefined, `a ${type} constraint needs \`columns\``);
    if (type === 'foreign_key' && !refs)
      f.report(undefined, 'a foreign_key constraint needs `references` (table, columns)');
    return {
      op: 'add_constraint',
      table,
      name,
      type,
      columns,
      ...(check === undefined ? {} : { check }),
      ...(refs
        ? {
            references: {
              table: refs.table,
              columns: refs.columns,
              ...(refs.onDelete ? { onDelete: refs.onDelete } : {}),
            },
          }
        : {}),
    };
  },
  sql(f, ctx) {
    const up = f.string('up', true);
    const down = f.string('down');
    const onComplete =
      (f.has('onComplete') ? f.boolean('onComplete') : f.boolean('on_complete')) ?? false;
    f.ignore('onComplete', 'on_complete');
    f.reportUnknown();
    if (up !== undefined) ctx.sql.push({ fields: f, key: 'up', sql: up, kind: 'script' });
    if (down !== undefined) ctx.sql.push({ fields: f, key: 'down', sql: down, kind: 'script' });
    if (up === undefined) return undefined;
    if (onComplete && down !== undefined)
      f.report(
        'down',
        'an on_complete sql operation has no down: it runs after the point of no return',
      );
    return { op: 'sql', up, ...(down === undefined ? {} : { down }), onComplete };
  },
  create_constraint(f, ctx) {
    return READERS.add_constraint!(f, ctx);
  },
};

/** Reads one operation mapping `{ kind: {...} }`; problems go to the source. */
export function readOperation(op: Fields, ctx: ReadContext): Operation | Operation[] | undefined {
  const keys = Object.keys(op.value);
  if (keys.length !== 1) {
    op.report(
      undefined,
      `an operation is a mapping with exactly one key (its kind), found ${keys.length}`,
      `kinds: ${PGPACT_OPERATIONS.join(', ')}`,
    );
    return undefined;
  }
  const kind = keys[0]!;
  const unsupported = PGROLL_UNSUPPORTED[kind];
  if (unsupported !== undefined) {
    op.report(kind, `the pgroll operation \`${kind}\` is not supported`, unsupported);
    return undefined;
  }
  const reader = READERS[kind];
  if (!reader) {
    const known = [...PGPACT_OPERATIONS, ...PGROLL_ONLY_OPERATIONS];
    const suggestion = closestName(kind, known);
    op.report(
      kind,
      `unknown operation \`${kind}\``,
      suggestion ? `did you mean \`${suggestion}\`?` : `kinds: ${known.join(', ')}`,
    );
    return undefined;
  }
  const body = op.object(kind, `${kind}`, true);
  if (!body) return undefined;
  return reader(body, ctx);
}

/** Whether a table name is the same as another. */
export function sameTable(a: TableName, b: TableName): boolean {
  return a.schema === b.schema && a.name === b.name;
}

export type { ReadContext, SqlToCheck };
