import { findRelation } from '../../postgres/catalog.js';
import { quoteIdent } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { type PlanState, problem } from '../plan-state.js';
import { expression } from '../read-column.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** An index built with CREATE INDEX CONCURRENTLY after the backfill; a rollback drops it concurrently. */
export interface AddIndex {
  op: 'add_index';
  table: TableName;
  name: string;
  columns: string[];
  unique: boolean;
  method?: string;
  where?: string;
  /** Operator class per column (pgroll's `opclass`). */
  opclasses?: Record<string, string>;
  /** `WITH (...)` storage parameters, already checked as `name = value` pairs. */
  storage?: string;
}

const METHOD = /^[a-z_][a-z0-9_]*$/;

/** Reports an index method that is not one word. */
function checkMethod(f: Fields, method: string | undefined): void {
  if (method !== undefined && !METHOD.test(method))
    f.report(
      'method',
      `unknown index method \`${method}\``,
      'one of btree, hash, gist, spgist, gin, brin',
    );
}

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

/** CREATE INDEX CONCURRENTLY after the backfill; dropped concurrently by a rollback. */
function planAddIndex(ctx: PlanState, o: AddIndex, i: number): void {
  const key = tableKey(o.table);
  const relation = findRelation(ctx.catalog, o.table.schema, o.table.name);
  if (!relation && !ctx.created.has(key)) {
    problem(ctx, i, `table ${key} does not exist`);
    return;
  }
  const taken = ctx.catalog.relations.some(
    (r) =>
      r.schema === o.table.schema &&
      (r.name === o.name || r.indexes.some((x) => x.name === o.name)),
  );
  if (taken)
    problem(ctx, i, `a relation or index named ${o.table.schema}.${o.name} already exists`);
  const using = o.method === undefined ? '' : ` USING ${quoteIdent(o.method)}`;
  const where = o.where === undefined ? '' : ` WHERE (${o.where})`;
  const columns = o.columns
    .map((c) => {
      const opclass = o.opclasses?.[c];
      return opclass === undefined ? quoteIdent(c) : `${quoteIdent(c)} ${quoteIdent(opclass)}`;
    })
    .join(', ');
  const storage = o.storage === undefined ? '' : ` WITH (${o.storage})`;
  ctx.plan.validate.push({
    kind: 'create-index',
    id: `index:${o.table.schema}.${o.name}`,
    description: `index ${o.name} on ${key}`,
    schema: o.table.schema,
    name: o.name,
    sql: `CREATE ${o.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(o.name)} ON ${qualified(o.table)}${using} (${columns})${storage}${where}`,
  });
  ctx.undo.indexes.push({
    kind: 'drop-index',
    id: `rollback:index:${o.table.schema}.${o.name}`,
    description: `drop index ${o.name}`,
    schema: o.table.schema,
    name: o.name,
  });
}

export const addIndex: OperationDefinition<AddIndex> = {
  kind: 'add_index',
  spellings: [
    {
      key: 'add_index',
      format: 'pgpact',
      read(f, ctx) {
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
        checkMethod(f, method);
        if (
          !table ||
          name === undefined ||
          !columns ||
          (method !== undefined && !METHOD.test(method))
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
    },
    {
      key: 'create_index',
      format: 'pgroll',
      read(f, ctx) {
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
        checkMethod(f, method);
        if (
          !table ||
          name === undefined ||
          !columns ||
          (method !== undefined && !METHOD.test(method))
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
      },
    },
  ],
  footprint: (o) => ({ table: o.table }),
  // No table work: the index is built after the backfill, outside the table's expand step.
  plan: planAddIndex,
  planOnCreatedTable: planAddIndex,
};
