/**
 * Walks expressions: every ColumnRef is resolved (and read), every sub-select is
 * analyzed as a nested query level, user-defined functions are flagged opaque.
 * Node types without names in them are walked generically.
 */
import type {
  A_Indirection,
  ColumnRef,
  FuncCall,
  MultiAssignRef,
  Node,
  SubLink,
  TypeCast,
} from 'libpg-query';
import { strings } from './ast.js';
import { lookupFunctionSchema } from './catalog-index.js';
import { type AnalysisContext, warn } from './context.js';
import { analyzeQuery } from './query.js';
import { findItem, lookupUnqualified, resolveColumnRef, type Scope } from './scope.js';

/** Warns when a called function is user-defined (or unknown and schema-qualified): what it reads is not visible. */
export function checkFunction(funcname: readonly Node[] | undefined, ctx: AnalysisContext): void {
  const parts = strings(funcname);
  if (parts.length === 0) return;
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  if (schema === 'pg_catalog') return;
  const found = lookupFunctionSchema(ctx.index, schema, name, ctx.searchPath);
  if (found !== undefined) {
    warn(ctx, `function ${found}.${name} is opaque: what it reads and writes is not reported`);
  } else if (schema !== undefined) {
    warn(ctx, `function ${schema}.${name} is not in the catalog: treated as opaque`);
  }
}

/** `(t).col` on a whole-row reference reads just that column, as Postgres resolves it. */
function walkIndirection(node: A_Indirection, scope: Scope, ctx: AnalysisContext): void {
  const fields = (node.arg as { ColumnRef?: ColumnRef } | undefined)?.ColumnRef?.fields;
  const first = node.indirection?.[0] as { String?: { sval?: string } } | undefined;
  const name = (fields?.[0] as { String?: { sval?: string } } | undefined)?.String?.sval;
  if (
    fields?.length === 1 &&
    name !== undefined &&
    first?.String &&
    !lookupUnqualified(scope, name) &&
    findItem(scope, [name])
  ) {
    resolveColumnRef([fields[0]!, node.indirection![0]!], scope, ctx);
    walkExpr(node.indirection!.slice(1), scope, ctx);
    return;
  }
  walkExpr(node.arg, scope, ctx);
  walkExpr(node.indirection, scope, ctx);
}

/** Walks an expression (or a list of them) in a scope, recording what it reads. */
export function walkExpr(node: unknown, scope: Scope, ctx: AnalysisContext): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) walkExpr(node[i], scope, ctx);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const body = obj[key];
    if (body === null || typeof body !== 'object') continue;
    switch (key) {
      case 'ColumnRef':
        resolveColumnRef((body as ColumnRef).fields, scope, ctx);
        break;
      case 'SubLink': {
        const link = body as SubLink;
        walkExpr(link.testexpr, scope, ctx);
        if (link.subselect) analyzeQuery(link.subselect, scope, ctx);
        break;
      }
      case 'FuncCall': {
        const call = body as FuncCall;
        checkFunction(call.funcname, ctx);
        walkExpr(call.args, scope, ctx);
        walkExpr(call.agg_order, scope, ctx);
        walkExpr(call.agg_filter, scope, ctx);
        walkExpr(call.over, scope, ctx);
        break;
      }
      case 'TypeCast':
        walkExpr((body as TypeCast).arg, scope, ctx);
        break;
      case 'A_Indirection':
        walkIndirection(body as A_Indirection, scope, ctx);
        break;
      case 'MultiAssignRef': {
        // `SET (a, b) = (SELECT ...)`: the same source repeats for each column; walk it once.
        const ref = body as MultiAssignRef;
        if ((ref.colno ?? 1) === 1) walkExpr(ref.source, scope, ctx);
        break;
      }
      case 'A_Const':
      case 'ParamRef':
      case 'String':
      case 'Integer':
      case 'Float':
      case 'Boolean':
      case 'BitString':
      case 'TypeName':
      case 'A_Star':
      case 'SQLValueFunction':
      case 'typeName':
        break;
      default:
        walkExpr(body, scope, ctx);
    }
  }
}

/** The name Postgres gives an unnamed target-list entry (FigureColname), enough to reference it later. */
export function figureColname(node: Node | undefined): string {
  if (!node) return '?column?';
  const n = node as unknown as Record<string, Record<string, unknown>>;
  if (n.ColumnRef) {
    const names = strings((n.ColumnRef as { fields?: Node[] }).fields);
    return names.length > 0 ? names[names.length - 1]! : '?column?';
  }
  if (n.FuncCall) {
    const names = strings((n.FuncCall as { funcname?: Node[] }).funcname);
    return names[names.length - 1] ?? '?column?';
  }
  if (n.TypeCast) {
    const inner = figureColname((n.TypeCast as { arg?: Node }).arg);
    if (inner !== '?column?') return inner;
    const type = strings((n.TypeCast as { typeName?: { names?: Node[] } }).typeName?.names);
    return type[type.length - 1] ?? '?column?';
  }
  if (n.A_Indirection) {
    const ind = (n.A_Indirection as { indirection?: Node[] }).indirection ?? [];
    const last = strings(ind.slice(-1));
    return last[0] ?? figureColname((n.A_Indirection as { arg?: Node }).arg);
  }
  if (n.SubLink) {
    const link = n.SubLink as { subLinkType?: string; subselect?: Node };
    if (link.subLinkType === 'EXISTS_SUBLINK') return 'exists';
    if (link.subLinkType === 'ARRAY_SUBLINK') return 'array';
    const first = (
      link.subselect as {
        SelectStmt?: { targetList?: { ResTarget?: { name?: string; val?: Node } }[] };
      }
    )?.SelectStmt?.targetList?.[0]?.ResTarget;
    return first ? (first.name ?? figureColname(first.val)) : '?column?';
  }
  if (n.CaseExpr) return 'case';
  if (n.CoalesceExpr) return 'coalesce';
  if (n.A_ArrayExpr) return 'array';
  if (n.RowExpr) return 'row';
  if (n.NullIfExpr) return 'nullif';
  if (n.MinMaxExpr)
    return (n.MinMaxExpr as { op?: string }).op === 'IS_LEAST' ? 'least' : 'greatest';
  if (n.GroupingFunc) return 'grouping';
  return '?column?';
}
