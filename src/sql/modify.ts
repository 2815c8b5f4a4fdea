/**
 * Data-modifying statements: INSERT (... SELECT, ON CONFLICT), UPDATE (... FROM),
 * DELETE (... USING), MERGE, each with RETURNING (including PG 18's old/new).
 */
import type {
  DeleteStmt,
  IndexElem,
  InsertStmt,
  MergeStmt,
  MergeWhenClause,
  Node,
  ResTarget,
  ReturningClause,
  UpdateStmt,
} from 'libpg-query';
import type { RangeColumn } from './catalog-index.js';
import { type AnalysisContext, q, readColumn, warn, writeSources } from './context.js';
import { walkExpr } from './expressions.js';
import { addFromItem, relationItem } from './from-clause.js';
import { analyzeSelect, analyzeWith, walkTargetList } from './query.js';
import {
  childScope,
  columnsNamed,
  derivedColumns,
  makeItem,
  type QueryOutput,
  type RangeItem,
  type Scope,
} from './scope.js';

/** The target of a data-modifying statement: its item (not marked read: only the columns it reads are). */
function targetItem(
  node: { relation?: Node | object } | undefined,
  ctx: AnalysisContext,
): RangeItem {
  const item = relationItem((node?.relation ?? {}) as never, ctx);
  if (item.relation) ctx.relationsWritten.add(item.relation.key);
  return item;
}

function writeColumn(item: RangeItem, name: string | undefined, ctx: AnalysisContext): void {
  if (name === undefined) return;
  const found = columnsNamed(item, name);
  if (found) for (const c of found) writeSources(ctx, c.sources);
  else if (!item.open)
    warn(ctx, `column ${q(name)} of relation ${item.relation?.key ?? item.refname} not found`);
}

/** Writes the first `count` columns by position (INSERT without a column list). */
function writeByPosition(item: RangeItem, count: number | undefined, ctx: AnalysisContext): void {
  const columns = item.columns.slice(0, count ?? item.columns.length);
  for (const c of columns) writeSources(ctx, c.sources);
  if (item.relation)
    warn(
      ctx,
      `no column list: the columns written to ${item.relation.key} are taken from the catalog by position`,
    );
}

function readTargetColumn(item: RangeItem, name: string, ctx: AnalysisContext): void {
  const found = columnsNamed(item, name);
  if (found) for (const c of found) readColumn(ctx, c);
  else if (!item.open) warn(ctx, `column ${q(name)} not found`);
}

/** SET list: each named column is written, each value expression read. */
function walkAssignments(
  targets: readonly Node[] | undefined,
  target: RangeItem,
  scope: Scope,
  ctx: AnalysisContext,
): void {
  for (const t of targets ?? []) {
    const rt = (t as { ResTarget?: ResTarget }).ResTarget;
    if (!rt) continue;
    writeColumn(target, rt.name, ctx);
    walkExpr(rt.val, scope, ctx);
  }
}

/** RETURNING: the level's items plus `old` / `new` (or their renamed aliases) for the target. */
function walkReturning(
  clause: ReturningClause | undefined,
  level: Scope,
  target: RangeItem,
  ctx: AnalysisContext,
): QueryOutput {
  if (!clause?.exprs) return { names: [], open: false };
  let oldName = 'old';
  let newName = 'new';
  for (const o of clause.options ?? []) {
    const opt = (o as { ReturningOption?: { option?: string; value?: string } }).ReturningOption;
    if (opt?.option === 'RETURNING_OPTION_OLD' && opt.value) oldName = opt.value;
    if (opt?.option === 'RETURNING_OPTION_NEW' && opt.value) newName = opt.value;
  }
  const version = (name: string): RangeItem => ({
    ...target,
    refname: name,
    aliased: true,
    colsVisible: false,
    relVisible: true,
  });
  const scope: Scope = {
    items: [...level.items, version(oldName), version(newName)],
    parent: level.parent,
    ctes: level.ctes,
  };
  return walkTargetList(clause.exprs, scope, ctx);
}

/** The rows an INSERT adds to the target's stored relations, and the columns it gives them. */
function recordInsert(target: RangeItem, given: RangeColumn[], ctx: AnalysisContext): void {
  if (target.open) return;
  for (const c of target.columns)
    for (const s of c.sources)
      if (!ctx.inserts.has(s.relation)) ctx.inserts.set(s.relation, new Set());
  for (const c of given) for (const s of c.sources) ctx.inserts.get(s.relation)?.add(s.key);
}

/** INSERT: target columns written (all, by position, when the list is omitted); the source query read. */
export function analyzeInsert(stmt: InsertStmt, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const level = childScope(parent);
  analyzeWith(stmt.withClause, level, ctx);
  const target = targetItem(stmt, ctx);
  // The source query does not see the target table.
  const select = (stmt.selectStmt as { SelectStmt?: never } | undefined)?.SelectStmt;
  const source = select ? analyzeSelect(select, level, ctx) : undefined;
  let given: RangeColumn[];
  if (stmt.cols && stmt.cols.length > 0) {
    given = [];
    for (const c of stmt.cols) {
      const name = (c as { ResTarget?: ResTarget }).ResTarget?.name;
      writeColumn(target, name, ctx);
      if (name !== undefined) given.push(...(columnsNamed(target, name) ?? []));
    }
  } else if (source) {
    writeByPosition(target, source.open ? undefined : source.names.length, ctx);
    given = target.columns.slice(0, source.open ? undefined : source.names.length);
  } else given = []; // DEFAULT VALUES
  recordInsert(target, given, ctx);
  level.items.push(target);
  const conflict = stmt.onConflictClause;
  if (conflict) {
    const infer = conflict.infer;
    for (const e of infer?.indexElems ?? []) {
      const elem = (e as { IndexElem?: IndexElem }).IndexElem;
      if (elem?.name !== undefined) readTargetColumn(target, elem.name, ctx);
      else walkExpr(elem?.expr, level, ctx);
    }
    walkExpr(infer?.whereClause, level, ctx);
    if (infer?.conname !== undefined) {
      const columns = target.relation?.constraints.get(infer.conname);
      if (columns) for (const c of columns) readTargetColumn(target, c, ctx);
      else if (target.relation)
        warn(ctx, `constraint ${q(infer.conname)} of ${target.relation.key} not found`);
    }
    if (conflict.action === 'ONCONFLICT_UPDATE') {
      const excluded = makeItem('excluded', derivedColumns(target.columns.map((c) => c.name)), {
        open: target.open,
      });
      const scope: Scope = { items: [target, excluded], parent: level.parent, ctes: level.ctes };
      walkAssignments(conflict.targetList, target, scope, ctx);
      walkExpr(conflict.whereClause, scope, ctx);
    }
  }
  return walkReturning(stmt.returningClause, level, target, ctx);
}

/** UPDATE: SET columns written; values, FROM, WHERE and RETURNING read. */
export function analyzeUpdate(stmt: UpdateStmt, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const level = childScope(parent);
  analyzeWith(stmt.withClause, level, ctx);
  const target = targetItem(stmt, ctx);
  level.items.push(target);
  for (const from of stmt.fromClause ?? []) addFromItem(from, level, ctx);
  walkAssignments(stmt.targetList, target, level, ctx);
  walkExpr(stmt.whereClause, level, ctx);
  return walkReturning(stmt.returningClause, level, target, ctx);
}

/** DELETE: the relation written; USING, WHERE and RETURNING read. */
export function analyzeDelete(stmt: DeleteStmt, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const level = childScope(parent);
  analyzeWith(stmt.withClause, level, ctx);
  const target = targetItem(stmt, ctx);
  level.items.push(target);
  for (const from of stmt.usingClause ?? []) addFromItem(from, level, ctx);
  walkExpr(stmt.whereClause, level, ctx);
  return walkReturning(stmt.returningClause, level, target, ctx);
}

/** MERGE: the join condition read; each WHEN clause sees the target, the source or both. */
export function analyzeMerge(stmt: MergeStmt, parent: Scope, ctx: AnalysisContext): QueryOutput {
  const level = childScope(parent);
  analyzeWith(stmt.withClause, level, ctx);
  const target = relationItem((stmt.relation ?? {}) as never, ctx);
  addFromItem(stmt.sourceRelation, level, ctx);
  const sourceItems = [...level.items];
  level.items.push(target);
  walkExpr(stmt.joinCondition, level, ctx);
  let modifies = false;
  for (const w of stmt.mergeWhenClauses ?? []) {
    const when = (w as { MergeWhenClause?: MergeWhenClause }).MergeWhenClause;
    if (!when) continue;
    const items =
      when.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_TARGET'
        ? sourceItems
        : when.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE'
          ? [target]
          : level.items;
    const scope: Scope = { items, parent: level.parent, ctes: level.ctes };
    walkExpr(when.condition, scope, ctx);
    if (when.commandType === 'CMD_UPDATE') {
      modifies = true;
      walkAssignments(when.targetList, target, scope, ctx);
    } else if (when.commandType === 'CMD_INSERT') {
      modifies = true;
      if (when.targetList && when.targetList.length > 0) {
        for (const t of when.targetList)
          writeColumn(target, (t as { ResTarget?: ResTarget }).ResTarget?.name, ctx);
      } else if (when.values && when.values.length > 0) {
        writeByPosition(target, when.values.length, ctx);
      }
      walkExpr(when.values, scope, ctx);
    } else if (when.commandType === 'CMD_DELETE') {
      modifies = true;
    }
  }
  if (modifies && target.relation) ctx.relationsWritten.add(target.relation.key);
  return walkReturning(stmt.returningClause, level, target, ctx);
}
