/**
 * FROM items → range items of a query level: relations (through the search
 * path or qualified), WITH queries, sub-selects (LATERAL or not), functions,
 * VALUES, XMLTABLE/JSON_TABLE and joins (ON, USING, NATURAL, aliased joins).
 */
import type {
  JoinExpr,
  JsonTable,
  Node,
  RangeFunction,
  RangeSubselect,
  RangeTableSample,
  RangeVar,
} from 'libpg-query';
import { aliasColumns, type Obj, strings } from './ast.js';
import {
  type IndexedRelation,
  isSystemSchema,
  lookupRelation,
  type RangeColumn,
} from './catalog-index.js';
import { type AnalysisContext, q, readColumn, warn } from './context.js';
import { walkExpr } from './expressions.js';
import { analyzeQuery } from './query.js';
import {
  columnsNamed,
  derivedColumns,
  findCte,
  makeItem,
  type RangeItem,
  renameColumns,
  type Scope,
  withoutItems,
} from './scope.js';

function displayName(rv: RangeVar): string {
  return [rv.catalogname, rv.schemaname, rv.relname]
    .filter((p) => p !== undefined && p !== '')
    .join('.');
}

/** Warns about a relation the catalog does not hold (system relations get their own wording). */
export function warnMissingRelation(rv: RangeVar, ctx: AnalysisContext): void {
  const name = displayName(rv);
  const system =
    rv.schemaname !== undefined
      ? isSystemSchema(rv.schemaname)
      : (rv.relname ?? '').startsWith('pg_');
  if (system) warn(ctx, `system relation ${name} is not tracked`);
  else {
    const path =
      rv.schemaname === undefined ? ` (search_path: ${ctx.searchPath.join(', ') || 'empty'})` : '';
    warn(ctx, `relation ${q(name)} not found in the catalog${path}`);
  }
}

/**
 * The catalog relation a RangeVar names, through the search path; warns when there is none.
 * With ctx.outsidePath, an unqualified name missing from the path is taken as the one
 * relation of that name in any schema (with a warning), when there is exactly one.
 */
export function resolveRelation(rv: RangeVar, ctx: AnalysisContext): IndexedRelation | undefined {
  const name = rv.relname ?? '';
  const rel = lookupRelation(ctx.index, rv.schemaname, name, ctx.searchPath);
  if (rel) return rel;
  if (ctx.outsidePath && rv.schemaname === undefined && !name.startsWith('pg_')) {
    const candidates = ctx.index.relationsNamed.get(name) ?? [];
    const path = ctx.searchPath.join(', ') || 'empty';
    if (candidates.length === 1) {
      warn(
        ctx,
        `relation ${q(name)} is not on the search_path (${path}): taken as ${candidates[0]!.key}, the only relation of that name`,
      );
      return candidates[0];
    }
    if (candidates.length > 1) {
      warn(
        ctx,
        `relation ${q(name)} is not on the search_path (${path}) and several schemas have one: ${candidates.map((c) => c.key).join(', ')}`,
      );
      return undefined;
    }
  }
  warnMissingRelation(rv, ctx);
  return undefined;
}

/** The range item of a catalog relation named by a RangeVar (no WITH lookup), or an open item when missing. */
export function relationItem(rv: RangeVar, ctx: AnalysisContext): RangeItem {
  const rel = resolveRelation(rv, ctx);
  const alias = rv.alias;
  const refname = alias?.aliasname ?? rv.relname;
  if (!rel) {
    return makeItem(refname, [], { open: true, aliased: alias !== undefined });
  }
  const renamed = aliasColumns(alias);
  return makeItem(refname, renameColumns(rel.columns, renamed), {
    relation: rel,
    aliased: alias !== undefined,
    // Sequences have no columns in the snapshot: accept any reference to them.
    open: rel.kind === 'sequence',
    byName: renamed ? undefined : rel.byName,
  });
}

function addRangeVar(rv: RangeVar, scope: Scope, ctx: AnalysisContext): RangeItem {
  if (rv.schemaname === undefined && rv.catalogname === undefined) {
    const cte = findCte(scope, rv.relname ?? '');
    if (cte) {
      const item = makeItem(
        rv.alias?.aliasname ?? rv.relname,
        renameColumns(cte.columns, aliasColumns(rv.alias)),
        {
          open: cte.open,
          aliased: rv.alias !== undefined,
        },
      );
      scope.items.push(item);
      return item;
    }
  }
  const item = relationItem(rv, ctx);
  if (item.relation) ctx.relationsRead.add(item.relation.key);
  scope.items.push(item);
  return item;
}

function addSubselect(sub: RangeSubselect, scope: Scope, ctx: AnalysisContext): RangeItem {
  const out = sub.subquery
    ? analyzeQuery(sub.subquery, sub.lateral ? scope : withoutItems(scope), ctx)
    : { names: [], open: true };
  const item = makeItem(
    sub.alias?.aliasname,
    renameColumns(derivedColumns(out.names), aliasColumns(sub.alias)),
    {
      open: out.open,
      aliased: true,
    },
  );
  scope.items.push(item);
  return item;
}

function addFunction(fn: RangeFunction, scope: Scope, ctx: AnalysisContext): RangeItem {
  // Functions in FROM may always refer to earlier FROM items (implicitly LATERAL).
  const names: string[] = [];
  let open = false;
  for (const entry of fn.functions ?? []) {
    const [call, coldefs] = ((entry as { List?: { items?: Node[] } }).List?.items ?? []) as Node[];
    walkExpr(call, scope, ctx);
    const defs = (coldefs as { List?: { items?: Node[] } } | undefined)?.List?.items;
    if (defs && defs.length > 0) {
      for (const d of defs)
        names.push((d as { ColumnDef?: { colname?: string } }).ColumnDef?.colname ?? '?column?');
    } else if (fn.coldeflist && fn.coldeflist.length > 0) {
      for (const d of fn.coldeflist)
        names.push((d as { ColumnDef?: { colname?: string } }).ColumnDef?.colname ?? '?column?');
    } else {
      // A scalar function yields one column named after it; a composite one yields columns we cannot know.
      const funcname = strings(
        (call as { FuncCall?: { funcname?: Node[] } } | undefined)?.FuncCall?.funcname,
      );
      names.push(
        fn.functions!.length === 1 && fn.alias
          ? fn.alias.aliasname!
          : (funcname[funcname.length - 1] ?? '?column?'),
      );
      open = true;
    }
  }
  if (fn.ordinality) names.push('ordinality');
  const item = makeItem(
    fn.alias?.aliasname,
    renameColumns(derivedColumns(names), aliasColumns(fn.alias)),
    {
      open,
      aliased: true,
    },
  );
  scope.items.push(item);
  return item;
}

function jsonTableColumnNames(columns: Node[] | undefined, into: string[]): void {
  for (const c of columns ?? []) {
    const col = (c as { JsonTableColumn?: { name?: string; coltype?: string; columns?: Node[] } })
      .JsonTableColumn;
    if (!col) continue;
    if (col.coltype === 'JTC_NESTED') jsonTableColumnNames(col.columns, into);
    else if (col.name !== undefined) into.push(col.name);
  }
}

function addTableFunction(type: string, body: Obj, scope: Scope, ctx: AnalysisContext): RangeItem {
  walkExpr(body, scope, ctx);
  const names: string[] = [];
  if (type === 'JsonTable') jsonTableColumnNames((body as JsonTable).columns, names);
  else {
    for (const c of (body.columns as Node[] | undefined) ?? []) {
      names.push(
        (c as { RangeTableFuncCol?: { colname?: string } }).RangeTableFuncCol?.colname ??
          '?column?',
      );
    }
  }
  const alias = body.alias as RangeVar['alias'];
  const item = makeItem(
    alias?.aliasname,
    renameColumns(derivedColumns(names), aliasColumns(alias)),
    { aliased: true },
  );
  scope.items.push(item);
  return item;
}

/** Reads the columns a USING / NATURAL join compares on one side. */
function readJoinColumn(
  side: RangeItem,
  name: string,
  ctx: AnalysisContext,
): readonly RangeColumn[] {
  const found = columnsNamed(side, name);
  if (found) {
    for (const c of found) readColumn(ctx, c);
    return found;
  }
  if (!side.open) warn(ctx, `column ${q(name)} specified in USING clause does not exist`);
  return [];
}

function addJoin(join: JoinExpr, scope: Scope, ctx: AnalysisContext): RangeItem {
  const first = scope.items.length;
  const left = addFromItem(join.larg, scope, ctx);
  const right = addFromItem(join.rarg, scope, ctx);
  let merged: string[];
  if (join.isNatural) {
    const rightNames = new Set(right.columns.map((c) => c.name));
    merged = left.columns.map((c) => c.name).filter((n) => rightNames.has(n));
  } else {
    merged = strings(join.usingClause);
  }
  const mergedSet = new Set(merged);
  const columns: RangeColumn[] = [];
  for (const name of merged) {
    const sources = [
      ...readJoinColumn(left, name, ctx),
      ...readJoinColumn(right, name, ctx),
    ].flatMap((c) => c.sources);
    columns.push({ name, sources });
  }
  if (join.quals) walkExpr(join.quals, scope, ctx);
  for (const c of left.columns) if (!mergedSet.has(c.name)) columns.push(c);
  for (const c of right.columns) if (!mergedSet.has(c.name)) columns.push(c);
  // The join's columns are what unqualified references see; an alias also hides the joined names.
  for (let i = first; i < scope.items.length; i++) {
    scope.items[i]!.colsVisible = false;
    if (join.alias) scope.items[i]!.relVisible = false;
  }
  const item = makeItem(join.alias?.aliasname, renameColumns(columns, aliasColumns(join.alias)), {
    open: left.open || right.open,
    aliased: join.alias !== undefined,
  });
  item.relVisible = join.alias !== undefined || join.join_using_alias !== undefined;
  if (join.join_using_alias && !join.alias) {
    // `JOIN ... USING (a) AS j`: j names only the merged columns.
    const usingItem = makeItem(join.join_using_alias.aliasname, columns.slice(0, merged.length), {
      aliased: true,
    });
    usingItem.colsVisible = false;
    scope.items.push(usingItem);
    item.relVisible = false;
  }
  scope.items.push(item);
  return item;
}

/** Adds one FROM item to the level's namespace and returns the item standing for it. */
export function addFromItem(node: Node | undefined, scope: Scope, ctx: AnalysisContext): RangeItem {
  const n = (node ?? {}) as Record<string, Obj>;
  if (n.RangeVar) return addRangeVar(n.RangeVar as RangeVar, scope, ctx);
  if (n.JoinExpr) return addJoin(n.JoinExpr as JoinExpr, scope, ctx);
  if (n.RangeSubselect) return addSubselect(n.RangeSubselect as RangeSubselect, scope, ctx);
  if (n.RangeFunction) return addFunction(n.RangeFunction as RangeFunction, scope, ctx);
  if (n.RangeTableSample) {
    const sample = n.RangeTableSample as RangeTableSample;
    const item = addFromItem(sample.relation, scope, ctx);
    walkExpr(sample.args, scope, ctx);
    walkExpr(sample.repeatable, scope, ctx);
    return item;
  }
  if (n.RangeTableFunc) return addTableFunction('RangeTableFunc', n.RangeTableFunc, scope, ctx);
  if (n.JsonTable) return addTableFunction('JsonTable', n.JsonTable, scope, ctx);
  warn(ctx, `FROM item ${Object.keys(n)[0] ?? '(empty)'} is not analyzed`);
  const item = makeItem(undefined, [], { open: true });
  scope.items.push(item);
  return item;
}
