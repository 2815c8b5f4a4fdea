/**
 * Name resolution the way Postgres's parse analysis does it: each query level
 * has a namespace of range items (FROM items, the target of a DML statement),
 * columns resolve innermost level first, then outward (correlated subqueries).
 */
import type { Node } from 'libpg-query';
import type { IndexedRelation, RangeColumn } from './catalog-index.js';
import { type AnalysisContext, q, readColumn, warn } from './context.js';

/** One entry of a query level's namespace. */
export interface RangeItem {
  /** The name qualified references use: the alias, else the relation or CTE name. */
  refname: string | undefined;
  /** The catalog relation, for `schema.table.column` references (only when not aliased). */
  relation: IndexedRelation | undefined;
  aliased: boolean;
  columns: readonly RangeColumn[];
  byName: ReadonlyMap<string, RangeColumn> | undefined;
  /** More columns than listed may exist (unresolved relation, function of unknown shape). */
  open: boolean;
  /** Reachable by qualified references (`t.col`). */
  relVisible: boolean;
  /** Searched by unqualified column references. */
  colsVisible: boolean;
}

/** A WITH query as later references see it. */
export interface CteDef {
  columns: readonly RangeColumn[];
  open: boolean;
}

/** One query level. */
export interface Scope {
  items: RangeItem[];
  parent: Scope | undefined;
  ctes: Map<string, CteDef> | undefined;
}

/** The output columns of a query (names in order), or open when not all are known. */
export interface QueryOutput {
  names: string[];
  open: boolean;
}

/** A new query level below parent. */
export function childScope(parent: Scope | undefined): Scope {
  return { items: [], parent, ctes: undefined };
}

/** The view of a level a non-LATERAL FROM subquery gets: its WITH queries, not its FROM items. */
export function withoutItems(scope: Scope): Scope {
  return { items: [], parent: scope.parent, ctes: scope.ctes };
}

/** Finds a WITH query by name, innermost level first. */
export function findCte(scope: Scope | undefined, name: string): CteDef | undefined {
  for (let s = scope; s; s = s.parent) {
    const found = s.ctes?.get(name);
    if (found) return found;
  }
  return undefined;
}

/** Columns with no stored source (subquery, CTE, function outputs). */
export function derivedColumns(names: readonly string[]): RangeColumn[] {
  return names.map((name) => ({ name, sources: [] }));
}

/** Applies `AS alias(a, b, ...)`: the first columns take the new names. */
export function renameColumns(
  columns: readonly RangeColumn[],
  names: readonly string[] | undefined,
): readonly RangeColumn[] {
  if (!names || names.length === 0) return columns;
  return columns.map((c, i) => (i < names.length ? { name: names[i]!, sources: c.sources } : c));
}

/** A range item; byName is kept only when columns are the relation's own (fast lookups). */
export function makeItem(
  refname: string | undefined,
  columns: readonly RangeColumn[],
  options: {
    relation?: IndexedRelation;
    aliased?: boolean;
    open?: boolean;
    byName?: ReadonlyMap<string, RangeColumn>;
  } = {},
): RangeItem {
  return {
    refname,
    relation: options.relation,
    aliased: options.aliased ?? false,
    columns,
    byName: options.byName,
    open: options.open ?? false,
    relVisible: true,
    colsVisible: true,
  };
}

/** The columns of an item with a name (several only in joins with duplicate names). */
export function columnsNamed(item: RangeItem, name: string): RangeColumn[] | undefined {
  if (item.byName) {
    const c = item.byName.get(name);
    return c ? [c] : undefined;
  }
  let found: RangeColumn[] | undefined;
  const cols = item.columns;
  for (let i = 0; i < cols.length; i++) {
    if (cols[i]!.name !== name) continue;
    if (found) found.push(cols[i]!);
    else found = [cols[i]!];
  }
  return found;
}

/** Finds the item a qualifier names (`t`, `schema.t` or `db.schema.t`), innermost level first. */
export function findItem(
  scope: Scope | undefined,
  qualifier: readonly string[],
): RangeItem | undefined {
  const n = qualifier.length;
  for (let s = scope; s; s = s.parent) {
    for (const item of s.items) {
      if (!item.relVisible) continue;
      if (n === 1) {
        if (item.refname === qualifier[0]) return item;
      } else if (
        !item.aliased &&
        item.relation !== undefined &&
        item.relation.schema === qualifier[n - 2] &&
        item.relation.name === qualifier[n - 1]
      ) {
        return item;
      }
    }
  }
  return undefined;
}

/** Looks an unqualified column up, innermost level first; `open` when it may belong to an item of unknown shape. */
export function lookupUnqualified(
  scope: Scope | undefined,
  name: string,
): { columns: RangeColumn[]; open: boolean } | undefined {
  for (let s = scope; s; s = s.parent) {
    let columns: RangeColumn[] | undefined;
    let open = false;
    for (const item of s.items) {
      if (!item.colsVisible) continue;
      const found = columnsNamed(item, name);
      if (found) columns = columns ? columns.concat(found) : found;
      else if (item.open) open = true;
    }
    if (columns) return { columns, open: false };
    if (open) return { columns: [], open: true };
  }
  return undefined;
}

function warnWholeRow(ctx: AnalysisContext, columns: readonly RangeColumn[], what: string): void {
  const relations = new Set<string>();
  for (const c of columns) for (const s of c.sources) relations.add(s.relation);
  for (const r of relations)
    warn(ctx, `${what} expanded from the catalog: reads every column of ${r}`);
}

/** Reads every column of an item (`t.*`, a whole-row reference) and returns them. */
export function expandItem(item: RangeItem, ctx: AnalysisContext, what: string): QueryOutput {
  for (const c of item.columns) readColumn(ctx, c);
  warnWholeRow(ctx, item.columns, what);
  return { names: item.columns.map((c) => c.name), open: item.open };
}

/** Expands `*`: every column of every column-visible item of the current level. */
export function expandStar(scope: Scope, ctx: AnalysisContext): QueryOutput {
  const names: string[] = [];
  let open = false;
  const all: RangeColumn[] = [];
  for (const item of scope.items) {
    if (!item.colsVisible) continue;
    for (const c of item.columns) {
      readColumn(ctx, c);
      names.push(c.name);
      all.push(c);
    }
    open ||= item.open;
  }
  warnWholeRow(ctx, all, '*');
  return { names, open };
}

function readAll(
  ctx: AnalysisContext,
  columns: readonly RangeColumn[],
  name: readonly string[],
): void {
  for (let i = 0; i < columns.length; i++) readColumn(ctx, columns[i]!);
  if (columns.length > 1) warn(ctx, `column reference ${q(name.join('.'))} is ambiguous`);
}

function resolveUnqualified(
  scope: Scope,
  name: string,
  ctx: AnalysisContext,
  display: readonly string[],
): void {
  const found = lookupUnqualified(scope, name);
  if (found) {
    readAll(ctx, found.columns, display);
    return;
  }
  const item = findItem(scope, [name]);
  if (item) {
    expandItem(item, ctx, `whole-row reference ${q(name)}`);
    return;
  }
  warn(ctx, `column ${q(display.join('.'))} not found`);
}

function resolveIn(
  item: RangeItem,
  column: string,
  ctx: AnalysisContext,
  display: readonly string[],
): void {
  const found = columnsNamed(item, column);
  if (found) readAll(ctx, found, display);
  else if (!item.open) warn(ctx, `column ${q(display.join('.'))} not found`);
}

/**
 * Resolves a ColumnRef and records what it reads. For `*` and `t.*` it returns
 * the expanded output columns (the caller names target-list entries with them).
 */
export function resolveColumnRef(
  fields: readonly Node[] | undefined,
  scope: Scope,
  ctx: AnalysisContext,
): QueryOutput | undefined {
  if (!fields || fields.length === 0) return undefined;
  const n = fields.length;
  const names: string[] = [];
  let star = false;
  for (let i = 0; i < n; i++) {
    const f = fields[i] as { String?: { sval?: string }; A_Star?: object };
    if (f.String) names.push(f.String.sval ?? '');
    else if (f.A_Star && i === n - 1) star = true;
    else return undefined;
  }
  if (star) {
    if (names.length === 0) return expandStar(scope, ctx);
    const item = findItem(scope, names);
    if (item) return expandItem(item, ctx, `${names.join('.')}.*`);
    warn(ctx, `missing FROM-clause entry for ${q(names.join('.'))}`);
    return { names: [], open: true };
  }
  if (n === 1) {
    resolveUnqualified(scope, names[0]!, ctx, names);
    return undefined;
  }
  if (n === 2) {
    // `t.col`, else `col.field` of a composite column.
    const item = findItem(scope, [names[0]!]);
    if (item) resolveIn(item, names[1]!, ctx, names);
    else resolveUnqualified(scope, names[0]!, ctx, names);
    return undefined;
  }
  // `schema.t.col` (or `db.schema.t.col`), else `t.col.field`.
  const qualified = findItem(scope, names.slice(0, n - 1));
  if (qualified && n <= 4) {
    resolveIn(qualified, names[n - 1]!, ctx, names);
    return undefined;
  }
  const item = findItem(scope, [names[0]!]);
  if (item) resolveIn(item, names[1]!, ctx, names);
  else warn(ctx, `column ${q(names.join('.'))} not found`);
  return undefined;
}
