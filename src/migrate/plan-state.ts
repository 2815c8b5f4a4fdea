import type { Problem } from '../errors.js';
import { findRelation } from '../postgres/catalog.js';
import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import { parseExpression } from './expressions.js';
import { notNullCheckName, tableKey } from './names.js';
import { qualified } from './plan-sql.js';
import type {
  ExpressionInput,
  GuardedStatement,
  MigrationPlan,
  Step,
  SyncRule,
} from './plan-types.js';
import type { Footprint } from './operations/definition.js';
import type { Operation } from './operations/registry.js';
import type { Migration, TableName } from './types.js';

/** What the planner builds up while it reads the operations (see plan.ts). */

/** Everything one existing table gets from the migration, gathered before the steps are written. */
export interface TableWork {
  table: TableName;
  relation: RelationInfo;
  addColumns: GuardedStatement[];
  afterAdd: GuardedStatement[];
  constraints: GuardedStatement[];
  rules: SyncRule[];
  backfill: { assignments: { column: string; expression: string }[]; condition: string }[];
  complete: GuardedStatement[];
  rollback: GuardedStatement[];
  /** Columns the migration adds, for checking expressions. */
  newColumns: string[];
}

/** The planner's state: the plan so far, the problems found, the work per table. */
export interface PlanState {
  migration: Migration;
  catalog: CatalogSnapshot;
  plan: MigrationPlan;
  problems: Problem[];
  work: Map<string, TableWork>;
  /** Tables this migration creates, by the position of their create_table. */
  created: Map<string, number>;
  /** What each operation acts on, by position (from its registry definition). */
  footprints: Footprint[];
  /** Rollback runs raw SQL downs first (a view on a new column must go before it), then indexes, tables, created tables. */
  undo: { sql: Step[]; indexes: Step[]; tables: Step[]; created: Step[] };
}

/** A fresh planner state. */
export function newPlanState(migration: Migration, catalog: CatalogSnapshot): PlanState {
  return {
    migration,
    catalog,
    problems: [],
    work: new Map(),
    created: new Map(),
    footprints: [],
    undo: { sql: [], indexes: [], tables: [], created: [] },
    plan: {
      version: 1,
      expand: [],
      syncs: [],
      backfills: [],
      validate: [],
      complete: [],
      rollback: [],
      oldShape: [],
      droppedTables: [],
      notes: [],
    },
  };
}

/** Records a problem of one operation. */
export function problem(ctx: PlanState, index: number, message: string, hint?: string): void {
  ctx.problems.push({
    code: 'MIGRATION_PLAN',
    message: `operation ${index + 1}: ${message}`,
    file: ctx.migration.file,
    ...(hint ? { hint } : {}),
  });
}

/** The other operations of the migration acting on one of these tables (by their footprint). */
export function otherOperationsOn(ctx: PlanState, index: number, tables: TableName[]): Operation[] {
  const keys = new Set(tables.map(tableKey));
  return ctx.migration.operations.filter((_, k) => {
    const table = ctx.footprints[k]?.table;
    return k !== index && table !== undefined && keys.has(tableKey(table));
  });
}

/** The work of an existing table, checking it exists (and is a table). */
export function tableWork(ctx: PlanState, table: TableName, index: number): TableWork | undefined {
  const key = tableKey(table);
  const existing = ctx.work.get(key);
  if (existing) return existing;
  const relation = findRelation(ctx.catalog, table.schema, table.name);
  if (!relation || (relation.kind !== 'table' && relation.kind !== 'partitioned_table')) {
    problem(
      ctx,
      index,
      `table ${key} does not exist`,
      relation
        ? `${key} is a ${relation.kind}`
        : 'check the schema and the exact spelling (names are case-sensitive)',
    );
    return undefined;
  }
  const w: TableWork = {
    table,
    relation,
    addColumns: [],
    afterAdd: [],
    constraints: [],
    rules: [],
    backfill: [],
    complete: [],
    rollback: [],
    newColumns: [],
  };
  ctx.work.set(key, w);
  return w;
}

/** A column of the table as it is, reporting when it does not exist. */
export function existingColumn(ctx: PlanState, w: TableWork, name: string, index: number) {
  const column = w.relation.columns.find((c) => c.name === name);
  if (!column) problem(ctx, index, `column ${tableKey(w.table)}.${name} does not exist`);
  return column;
}

/** Whether a new column name is free; records it as one the migration adds. */
export function absent(ctx: PlanState, w: TableWork, name: string, index: number): boolean {
  if (w.relation.columns.some((c) => c.name === name)) {
    problem(ctx, index, `column ${tableKey(w.table)}.${name} already exists`);
    return false;
  }
  w.newColumns.push(name);
  return true;
}

/** Reports a change of a primary key column (not supported). */
export function notInKey(
  ctx: PlanState,
  w: TableWork,
  name: string,
  index: number,
  what: string,
): void {
  const pk = w.relation.constraints.find((c) => c.type === 'p');
  if (pk?.columns.includes(name))
    problem(
      ctx,
      index,
      `${what} ${tableKey(w.table)}.${name}, a primary key column, is not supported`,
    );
}

/** The inputs of an expression, checked against the table's columns; `alias` maps a name to another column. */
/** The columns an expression reads, checked against the table's; `alias` maps a name to another column. */
export function expressionInputs(
  ctx: PlanState,
  w: TableWork,
  expression: string,
  index: number,
  alias: Record<string, string> = {},
): ExpressionInput[] {
  const parsed = parseExpression(expression);
  if (!parsed.ok) return [];
  const known = new Set([...w.relation.columns.map((c) => c.name), ...w.newColumns]);
  const out: ExpressionInput[] = [];
  for (const name of parsed.columns) {
    if (!known.has(name) && alias[name] === undefined) {
      problem(
        ctx,
        index,
        `\`${expression}\` names \`${name}\`, which is not a column of ${tableKey(w.table)}`,
        'expressions are SQL over the row: quote names with capitals or spaces ("Street")',
      );
      continue;
    }
    out.push({ name, column: alias[name] ?? name });
  }
  return out;
}

/**
 * Records a column complete makes NOT NULL with no default: an INSERT leaving it out works
 * while the sync trigger fills it and fails after complete, so such an INSERT blocks complete.
 */
export function recordNotNullAtComplete(
  ctx: PlanState,
  table: TableName,
  column: string,
  operation: string,
): void {
  ctx.plan.notNullAtComplete = [
    ...(ctx.plan.notNullAtComplete ?? []),
    { table, column, operation },
  ];
}

/** A CHECK (column IS NOT NULL) NOT VALID in the expand, validated after the backfill; returns its name. */
export function addNotNullCheck(ctx: PlanState, w: TableWork, column: string): string {
  const name = notNullCheckName(ctx.migration.name, w.table, column);
  const t = qualified(w.table);
  w.constraints.push({
    sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`,
    guard: { kind: 'constraint-missing', table: w.table, name },
  });
  ctx.plan.validate.push({
    kind: 'ddl',
    id: `validate:${tableKey(w.table)}:${name}`,
    description: `validate NOT NULL of ${tableKey(w.table)}.${column}`,
    statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
  });
  return name;
}

/** SET NOT NULL at complete (fast: the validated check proves it), then the check goes. */
export function setNotNullAtComplete(w: TableWork, column: string, check: string): void {
  const t = qualified(w.table);
  w.complete.push(
    { sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL` },
    { sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(check)}` },
  );
  w.rollback.push({ sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(check)}` });
}

/** A new nullable column in the expand, dropped by a rollback. */
export function addNewColumn(w: TableWork, name: string, type: string): void {
  w.addColumns.push({
    sql: `ALTER TABLE ${qualified(w.table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`,
  });
  w.rollback.push({
    sql: `ALTER TABLE ${qualified(w.table)} DROP COLUMN IF EXISTS ${quoteIdent(name)}`,
  });
}

/** Notes indexes and constraints on a replaced column, which complete drops with it. */
export function noteCarried(ctx: PlanState, w: TableWork, column: string, what: string): void {
  // pg_get_indexdef prints a column bare or quoted; either form between delimiters means the index uses it.
  const forms = [column, quoteIdent(column)].map(escapeRegExp).join('|');
  const uses = new RegExp(`[(, ](?:${forms})[,) ]`);
  const indexes = w.relation.indexes.filter((ix) => uses.test(ix.definition));
  const constraints = w.relation.constraints.filter(
    (c) => c.columns.includes(column) && c.type !== 'p',
  );
  if (indexes.length + constraints.length > 0) {
    const objects = [
      ...indexes.map((x) => `index ${x.name}`),
      ...constraints.map((c) => `constraint ${c.name}`),
    ].join(', ');
    ctx.plan.notes.push(
      `${tableKey(w.table)}.${column}: ${objects} ${what}; add them for the new column with add_index / add_constraint`,
    );
  }
}

/** The inputs without duplicates (first occurrence wins). */
export function uniqueInputs(inputs: ExpressionInput[]): ExpressionInput[] {
  const seen = new Map<string, ExpressionInput>();
  for (const input of inputs) if (!seen.has(input.name)) seen.set(input.name, input);
  return [...seen.values()];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
