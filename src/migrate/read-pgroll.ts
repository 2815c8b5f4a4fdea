import type { Fields } from './fields.js';
import { expression, type ReadContext, references, typeName } from './read-column.js';
import type { ColumnExtras, Operation, TableName } from './types.js';

/**
 * Readers of pgroll operations with no pgpact spelling of their own: each maps onto pgpact's
 * operations with pgroll's semantics (FORMAT.md says when each lands).
 */

type Reader = (f: Fields, ctx: ReadContext) => Operation | Operation[] | undefined;

/** A string, or null where pgroll writes `null` to remove (comment, default). */
function nullable(
  f: Fields,
  key: string,
  read: () => string | undefined,
): string | null | undefined {
  if (f.value[key] === null) {
    f.ignore(key);
    return null;
  }
  return read();
}

/** pgroll's `up`/`down` of operations pgpact does not rewrite rows for: accepted, not used. */
function ignoredRewrites(f: Fields): void {
  f.ignore('up', 'down');
}

const alterColumn: Reader = (f, ctx) => {
  const table = f.table('table', ctx.defaultSchema);
  const column = f.name('column', true);
  const name = f.name('name');
  const type = typeName(f, 'type', ctx, false);
  const isNullable = f.boolean('nullable');
  const def = nullable(f, 'default', () => expression(f, 'default', ctx, false));
  const comment = nullable(f, 'comment', () => f.string('comment'));
  const uniqueFields = f.object('unique', 'the unique constraint');
  const unique = uniqueFields ? { name: uniqueFields.name('name') } : undefined;
  uniqueFields?.reportUnknown();
  const checkFields = f.object('check', 'the check constraint');
  let check: ColumnExtras['check'];
  if (checkFields) {
    const expr = expression(checkFields, 'constraint', ctx, true);
    const checkName = checkFields.name('name');
    checkFields.ignore('no_inherit');
    checkFields.reportUnknown();
    if (expr !== undefined) check = { expression: expr, ...(checkName ? { name: checkName } : {}) };
  }
  const refs = references(f.object('references', 'the referenced column'), ctx, false);
  const hasUp = f.has('up');
  const up = expression(f, 'up', ctx, false);
  const down = expression(f, 'down', ctx, false);
  f.reportUnknown();
  if (table === undefined || column === undefined) return undefined;
  // The column is replaced (pgroll duplicates it) when its data or constraints change.
  const replaces = type !== undefined || unique || check || refs;
  if (!replaces) {
    const ops: Operation[] = [];
    if (isNullable === false)
      ops.push({ op: 'set_not_null', table, column, ...(hasUp && up ? { up } : {}) });
    if (isNullable === true) ops.push({ op: 'drop_not_null', table, column });
    if (def !== undefined) ops.push({ op: 'set_default', table, column, default: def });
    if (comment !== undefined) ops.push({ op: 'set_comment', table, column, comment });
    if (name !== undefined) ops.push({ op: 'rename_column', table, from: column, to: name });
    const CHANGES = [
      'name',
      'type',
      'nullable',
      'default',
      'comment',
      'unique',
      'check',
      'references',
    ];
    if (ops.length === 0 && !CHANGES.some((k) => k in f.value))
      f.report(
        undefined,
        'alter_column needs one of `name`, `type`, `nullable`, `default`, `comment`, `unique`, `check`, `references`',
      );
    return ops;
  }
  const extras: ColumnExtras = {
    ...(isNullable === undefined ? {} : { nullable: isNullable }),
    ...(def === undefined ? {} : { default: def }),
    ...(comment === undefined ? {} : { comment }),
    ...(unique ? { unique: unique.name === undefined ? {} : { name: unique.name } } : {}),
    ...(check ? { check } : {}),
    ...(refs ? { references: refs } : {}),
  };
  const same = `"${column.replaceAll('"', '""')}"`;
  return {
    op: 'change_type',
    table,
    column,
    ...(type === undefined ? {} : { type }),
    up: up ?? same,
    down: down ?? same,
    ...(name === undefined ? {} : { rename: name }),
    extras,
  };
};

/** pgroll's index columns: a list of names, a list of `{column, opclass?…}` maps, or a map. */
function indexColumns(f: Fields): { name: string; opclass?: string }[] | undefined {
  const value = f.value.columns;
  const out: { name: string; opclass?: string }[] = [];
  const add = (name: unknown, options: unknown) => {
    if (typeof name !== 'string' || name === '') return false;
    const opclass = (options as { opclass?: { name?: unknown } } | undefined)?.opclass?.name;
    if (
      opclass !== undefined &&
      (typeof opclass !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opclass))
    )
      return false;
    out.push({ name, ...(opclass === undefined ? {} : { opclass }) });
    return true;
  };
  let ok = true;
  if (Array.isArray(value)) {
    for (const item of value)
      ok &&=
        typeof item === 'string'
          ? add(item, undefined)
          : add((item as { column?: unknown } | null)?.column, item);
  } else if (value && typeof value === 'object') {
    for (const [name, options] of Object.entries(value)) ok &&= add(name, options);
  } else ok = false;
  f.ignore('columns');
  if (!ok || out.length === 0) {
    f.report(
      'columns',
      '`columns` of create_index: a list of names, of `{column: name, opclass: {name}}` maps, or a map of them',
    );
    return undefined;
  }
  return out;
}

/** `fillfactor = 70, deduplicate_items = off`: names and plain values only. */
function storageParameters(f: Fields): string | undefined {
  const text = f.string('storage_parameters');
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => /^[a-z_]+\s*=\s*[A-Za-z0-9_.]+$/.test(p)))
    return parts.map((p) => p.replace(/\s*=\s*/, ' = ')).join(', ');
  f.report('storage_parameters', 'storage parameters are `name = value` pairs separated by commas');
  return undefined;
}

const createIndex: Reader = (f, ctx) => {
  const table = f.table('table', ctx.defaultSchema);
  const name = f.name('name', true);
  const columns = indexColumns(f);
  const unique = f.boolean('unique') ?? false;
  const method = f.string('method');
  const where = f.has('predicate')
    ? expression(f, 'predicate', ctx, true)
    : expression(f, 'where', ctx, false);
  f.ignore('predicate', 'where');
  const storage = storageParameters(f);
  f.reportUnknown();
  if (method !== undefined && !/^[a-z_][a-z0-9_]*$/.test(method))
    f.report(
      'method',
      `unknown index method \`${method}\``,
      'one of btree, hash, gist, spgist, gin, brin',
    );
  if (
    !table ||
    name === undefined ||
    !columns ||
    (method !== undefined && !/^[a-z_][a-z0-9_]*$/.test(method))
  )
    return undefined;
  const opclasses = Object.fromEntries(
    columns.flatMap((c) => (c.opclass ? [[c.name, c.opclass]] : [])),
  );
  return {
    op: 'add_index',
    table,
    name,
    columns: columns.map((c) => c.name),
    unique,
    ...(method === undefined ? {} : { method }),
    ...(where === undefined ? {} : { where }),
    ...(Object.keys(opclasses).length > 0 ? { opclasses } : {}),
    ...(storage === undefined ? {} : { storage }),
  };
};

const dropConstraint: Reader = (f, ctx) => {
  const table = f.table('table', ctx.defaultSchema);
  const name = f.name('name', true);
  f.ignore('column');
  ignoredRewrites(f);
  f.reportUnknown();
  if (!table || name === undefined) return undefined;
  return { op: 'drop_constraint', table, name };
};

export const PGROLL_READERS: Record<string, Reader> = {
  alter_column: alterColumn,
  create_index: createIndex,
  drop_constraint: dropConstraint,
  drop_multicolumn_constraint: dropConstraint,
  drop_index(f, ctx) {
    const text = f.string('name', true);
    f.reportUnknown();
    if (text === undefined) return undefined;
    // pgroll names the index alone; a schema-qualified name is read as schema.index.
    const index: TableName | undefined = f.table('name', ctx.defaultSchema);
    return index ? { op: 'drop_index', schema: index.schema, name: index.name } : undefined;
  },
  rename_constraint(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const from = f.name('from', true);
    const to = f.name('to', true);
    f.reportUnknown();
    if (!table || from === undefined || to === undefined) return undefined;
    return { op: 'rename_constraint', table, from, to };
  },
  set_replica_identity(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const identity = f.object('identity', 'the replica identity', true);
    const type = identity?.string('type', true)?.toLowerCase();
    const index = identity?.name('index');
    identity?.reportUnknown();
    f.reportUnknown();
    if (!table || type === undefined) return undefined;
    if (type !== 'default' && type !== 'full' && type !== 'nothing' && type !== 'index') {
      f.report(
        'identity',
        `unknown replica identity \`${type}\``,
        'one of default, full, nothing, index',
      );
      return undefined;
    }
    if (type === 'index' && index === undefined) {
      f.report('identity', 'a replica identity of type index names the `index`');
      return undefined;
    }
    return {
      op: 'set_replica_identity',
      table,
      identity: type,
      ...(type === 'index' && index !== undefined ? { index } : {}),
    };
  },
};
