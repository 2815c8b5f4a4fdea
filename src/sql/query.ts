/**
 * Query levels: SELECT (with WITH, set operations, VALUES, grouping, ordering,
 * windows), and the dispatch to data-modifying statements, which can also
 * appear as WITH queries.
 */
import type { CommonTableExpr, Node, ResTarget, SelectStmt, SortBy, WithClause } from 'libpg-query';
import { strings } from './ast.js';
import type { AnalysisContext } from './context.js';
import { warn } from './context.js';
import { figureColname, walkExpr } from './expressions.js';
import { addFromItem } from './from-clause.js';
import { analyzeDelete, analyzeInsert, analyzeMerge, analyzeUpdate } from './modify.js';
import {
  childScope,
  derivedColumns,
  lookupUnqualified,
  makeItem,
  type QueryOutput,
  resolveColumnRef,
  type Scope,
  withoutItems,
} from './scope.js';

/** Analyzes a query node (SELECT or a data-modifying statement) as a level below parent. */
export function analyzeQuery(node: Node, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const n = node as Record<string, unknown>;
  if (n.SelectStmt) return analyzeSelect(n.SelectStmt as SelectStmt, parent, ctx);
  if (n.InsertStmt) return analyzeInsert(n.InsertStmt as never, parent, ctx);
  if (n.UpdateStmt) return analyzeUpdate(n.UpdateStmt as never, parent, ctx);
  if (n.DeleteStmt) return analyzeDelete(n.DeleteStmt as never, parent, ctx);
  if (n.MergeStmt) return analyzeMerge(n.MergeStmt as never, parent, ctx);
  warn(ctx, `query ${Object.keys(n)[0] ?? '(empty)'} is not analyzed`);
  return { names: [], open: true };
}

/** Registers a WITH clause's queries on a level (recursive ones may refer to themselves and each other). */
export function analyzeWith(
  withClause: WithClause | undefined,
  level: Scope,
  ctx: AnalysisContext,
): void {
  if (!withClause?.ctes) return;
  level.ctes = new Map();
  const ctes = withClause.ctes.map(
    (c) => (c as { CommonTableExpr: CommonTableExpr }).CommonTableExpr,
  );
  if (withClause.recursive) {
    // Provisional shapes first: forward and self references are allowed.
    for (const cte of ctes) {
      const names = strings(cte.aliascolnames);
      level.ctes.set(cte.ctename ?? '', {
        columns: derivedColumns(names),
        open: names.length === 0,
      });
    }
  }
  for (const cte of ctes) {
    const out = cte.ctequery
      ? analyzeQuery(cte.ctequery, withoutItems(level), ctx)
      : { names: [], open: true };
    const aliases = strings(cte.aliascolnames);
    const names = out.names.map((name, i) => aliases[i] ?? name);
    for (let i = names.length; i < aliases.length; i++) names.push(aliases[i]!);
    const search = (cte.search_clause as { search_seq_column?: string } | undefined)
      ?.search_seq_column;
    if (search) names.push(search);
    const cycle = cte.cycle_clause as
      | { cycle_mark_column?: string; cycle_path_column?: string }
      | undefined;
    if (cycle?.cycle_mark_column) names.push(cycle.cycle_mark_column);
    if (cycle?.cycle_path_column) names.push(cycle.cycle_path_column);
    level.ctes.set(cte.ctename ?? '', { columns: derivedColumns(names), open: out.open });
  }
}

/** Walks a target list; `*` and `t.*` expand from the catalog. Returns the output columns. */
export function walkTargetList(
  targets: readonly Node[] | undefined,
  scope: Scope,
  ctx: AnalysisContext,
): QueryOutput {
  const names: string[] = [];
  let open = false;
  for (const t of targets ?? []) {
    const rt = (t as { ResTarget?: ResTarget }).ResTarget;
    if (!rt) continue;
    const val = rt.val as { ColumnRef?: { fields?: Node[] } } | undefined;
    const fields = val?.ColumnRef?.fields;
    if (fields && (fields[fields.length - 1] as { A_Star?: object }).A_Star) {
      const out = resolveColumnRef(fields, scope, ctx);
      if (out) {
        names.push(...out.names);
        open ||= out.open;
      }
      continue;
    }
    walkExpr(rt.val, scope, ctx);
    names.push(rt.name ?? figureColname(rt.val));
  }
  return { names, open };
}

function bareName(node: Node | undefined): string | undefined {
  const fields = (node as { ColumnRef?: { fields?: Node[] } } | undefined)?.ColumnRef?.fields;
  if (fields?.length !== 1) return undefined;
  return (fields[0] as { String?: { sval?: string } }).String?.sval;
}

function isConstant(node: Node | undefined): boolean {
  return (node as { A_Const?: object } | undefined)?.A_Const !== undefined;
}

/** ORDER BY: a bare name matching an output column is that column (already read); else an expression. */
function walkSortClause(
  sort: readonly Node[] | undefined,
  output: readonly string[],
  scope: Scope,
  ctx: AnalysisContext,
): void {
  for (const s of sort ?? []) {
    const node = (s as { SortBy?: SortBy }).SortBy?.node;
    const name = bareName(node);
    if ((name !== undefined && output.includes(name)) || isConstant(node)) continue;
    walkExpr(node, scope, ctx);
  }
}

/** GROUP BY: a bare name is an input column first, then an output column. */
function walkGroupItem(
  node: Node,
  output: readonly string[],
  scope: Scope,
  ctx: AnalysisContext,
): void {
  const set = (node as { GroupingSet?: { content?: Node[] } }).GroupingSet;
  if (set) {
    for (const c of set.content ?? []) walkGroupItem(c, output, scope, ctx);
    return;
  }
  if (isConstant(node)) return;
  const name = bareName(node);
  if (
    name !== undefined &&
    output.includes(name) &&
    !lookupUnqualified({ ...scope, parent: undefined }, name)
  )
    return;
  walkExpr(node, scope, ctx);
}

/** Analyzes a SELECT (one query level) and returns its output columns. */
export function analyzeSelect(stmt: SelectStmt, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const level = childScope(parent);
  analyzeWith(stmt.withClause, level, ctx);
  if (stmt.op !== undefined && stmt.op !== 'SETOP_NONE') {
    const left = stmt.larg ? analyzeSelect(stmt.larg, level, ctx) : { names: [], open: true };
    if (stmt.rarg) analyzeSelect(stmt.rarg, level, ctx);
    const outputLevel = childScope(level);
    outputLevel.items.push(makeItem(undefined, derivedColumns(left.names), { open: left.open }));
    walkSortClause(stmt.sortClause, left.names, outputLevel, ctx);
    walkExpr(stmt.limitCount, level, ctx);
    walkExpr(stmt.limitOffset, level, ctx);
    return left;
  }
  if (stmt.valuesLists) {
    let width = 0;
    for (const list of stmt.valuesLists) {
      const items = (list as { List?: { items?: Node[] } }).List?.items ?? [];
      width = Math.max(width, items.length);
      walkExpr(items, level, ctx);
    }
    const names = Array.from({ length: width }, (_, i) => `column${i + 1}`);
    walkSortClause(stmt.sortClause, names, level, ctx);
    walkExpr(stmt.limitCount, level, ctx);
    walkExpr(stmt.limitOffset, level, ctx);
    return { names, open: false };
  }
  for (const from of stmt.fromClause ?? []) addFromItem(from, level, ctx);
  const out = walkTargetList(stmt.targetList, level, ctx);
  walkExpr(stmt.whereClause, level, ctx);
  for (const g of stmt.groupClause ?? []) walkGroupItem(g, out.names, level, ctx);
  walkExpr(stmt.havingClause, level, ctx);
  walkExpr(stmt.windowClause, level, ctx);
  for (const d of stmt.distinctClause ?? []) {
    const name = bareName(d);
    if (name === undefined || !out.names.includes(name)) walkExpr(d, level, ctx);
  }
  walkSortClause(stmt.sortClause, out.names, level, ctx);
  walkExpr(stmt.limitCount, level, ctx);
  walkExpr(stmt.limitOffset, level, ctx);
  return out;
}
