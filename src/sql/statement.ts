/** Top-level statements: DML and queries are analyzed; utility statements that touch data are mapped; the rest noted. */
import type { CallStmt, CopyStmt, Node, RangeVar, TruncateStmt } from 'libpg-query';
import { nodeBody, nodeType, strings } from './ast.js';
import { type AnalysisContext, q, readColumn, warn, writeSources } from './context.js';
import { checkFunction, walkExpr } from './expressions.js';
import { resolveRelation } from './from-clause.js';
import { analyzeQuery } from './query.js';
import { childScope, type Scope } from './scope.js';

/** Statements that read and write no table data: no warning for them. */
const NO_DATA = new Set([
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'DiscardStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'LockStmt',
  'CheckPointStmt',
  'VacuumStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'DeallocateStmt',
  'LoadStmt',
  'ConstraintsSetStmt',
]);

const QUERIES = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

function analyzeCopy(copy: CopyStmt, root: Scope, ctx: AnalysisContext): void {
  if (copy.query) {
    analyzeQuery(copy.query, root, ctx);
    return;
  }
  const rv = copy.relation as RangeVar | undefined;
  if (!rv) return;
  const rel = resolveRelation(rv, ctx);
  if (!rel) return;
  const listed = strings(copy.attlist);
  const columns =
    listed.length > 0 ? listed.map((name) => ({ name, column: rel.byName.get(name) })) : undefined;
  const chosen = columns ? columns.flatMap((c) => (c.column ? [c.column] : [])) : rel.columns;
  for (const c of columns ?? [])
    if (!c.column) warn(ctx, `column ${q(c.name)} of relation ${rel.key} not found`);
  if (copy.is_from) {
    ctx.relationsWritten.add(rel.key);
    for (const c of chosen) writeSources(ctx, c.sources);
    if (!columns)
      warn(
        ctx,
        `no column list: the columns written to ${rel.key} are taken from the catalog by position`,
      );
  } else {
    ctx.relationsRead.add(rel.key);
    for (const c of chosen) readColumn(ctx, c);
    if (!columns) warn(ctx, `COPY expanded from the catalog: reads every column of ${rel.key}`);
  }
}

function analyzeTruncate(stmt: TruncateStmt, ctx: AnalysisContext): void {
  for (const r of stmt.relations ?? []) {
    const rv = (r as { RangeVar?: RangeVar }).RangeVar;
    if (!rv) continue;
    const rel = resolveRelation(rv, ctx);
    if (rel) ctx.relationsWritten.add(rel.key);
  }
}

/** Analyzes one top-level statement node into the context. */
export function analyzeNode(node: Node, ctx: AnalysisContext): void {
  const type = nodeType(node);
  if (type === undefined) return;
  const root = childScope(undefined);
  if (QUERIES.has(type)) {
    analyzeQuery(node, root, ctx);
    return;
  }
  if (NO_DATA.has(type)) return;
  const body = nodeBody<Record<string, unknown>>(node);
  switch (type) {
    case 'CopyStmt':
      analyzeCopy(body as CopyStmt, root, ctx);
      return;
    case 'ExplainStmt':
      if (body.query) analyzeNode(body.query as Node, ctx);
      return;
    case 'CreateTableAsStmt':
    case 'PrepareStmt':
    case 'DeclareCursorStmt':
      if (body.query) analyzeQuery(body.query as Node, root, ctx);
      return;
    case 'TruncateStmt':
      analyzeTruncate(body as TruncateStmt, ctx);
      return;
    case 'RefreshMatViewStmt': {
      const rv = body.relation as RangeVar | undefined;
      const rel = rv && resolveRelation(rv, ctx);
      if (rel) ctx.relationsWritten.add(rel.key);
      return;
    }
    case 'CallStmt': {
      const call = (body as CallStmt).funccall;
      checkFunction(call?.funcname, ctx);
      walkExpr(call?.args, root, ctx);
      return;
    }
    case 'DoStmt':
      warn(ctx, 'DO block is opaque: what it reads and writes is not reported');
      return;
    case 'ExecuteStmt':
      warn(
        ctx,
        `EXECUTE ${q(String(body.name ?? ''))} runs a prepared statement: analyze its PREPARE`,
      );
      return;
    default:
      warn(ctx, `${type} is not analyzed for data access`);
  }
}
