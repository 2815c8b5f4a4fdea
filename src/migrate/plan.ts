import { PgpactError } from '../errors.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import { asScalar, parseExpression } from './expressions.js';
import { syncFunctionName, syncTriggerName, tableKey } from './names.js';
import { definitionOf, type Operation } from './operations/registry.js';
import { newPlanState, type PlanState, problem, type TableWork, tableWork } from './plan-state.js';
import type { BackfillPlan, GuardedStatement, MigrationPlan, Step } from './plan-types.js';
import { dropSyncSql, syncFunctionSql, syncTriggerSql } from './sync-trigger.js';
import type { Migration, TableName } from './types.js';

/**
 * The planner: a migration and the live catalog in, every step of start, complete and
 * rollback out (MigrationPlan, stored with the migration at its first start). Each operation
 * plans itself (operations/, looked up in the registry); this engine places the steps: one
 * expand step per table, its sync trigger, backfill, complete and rollback steps.
 */

/** Plans a migration against the live catalog; throws MIGRATION_INVALID with every problem found. */
export function planMigration(migration: Migration, catalog: CatalogSnapshot): MigrationPlan {
  return build(newPlanState(migration, catalog));
}

function build(ctx: PlanState): MigrationPlan {
  const ops = ctx.migration.operations;
  // What each operation acts on, and which tables this migration creates, by position.
  ctx.footprints = ops.map((o) => definitionOf(o).footprint(o));
  ctx.footprints.forEach((f, i) => {
    if (f.createsTable && f.table) ctx.created.set(tableKey(f.table), i);
  });
  const emitted = new Set<string>();
  ops.forEach((o, i) => {
    const before = ctx.plan.expand.length;
    const table = operation(ctx, o, i);
    if (table && !ctx.created.has(tableKey(table))) {
      const key = tableKey(table);
      // The table's one expand step goes where its first operation is.
      if (!emitted.has(key) && ctx.work.has(key)) {
        emitted.add(key);
        ctx.plan.expand.splice(before, 0, {
          kind: 'ddl',
          id: `expand:${key}`,
          description: `expand ${key}`,
          statements: [],
        });
      }
    }
  });
  const completes: Step[] = [];
  for (const w of ctx.work.values()) finishTable(ctx, w, completes);
  ctx.plan.complete.unshift(...completes);
  ctx.plan.expand = ctx.plan.expand.filter((s) => s.kind !== 'ddl' || s.statements.length > 0);
  ctx.plan.rollback = [
    ...ctx.undo.sql.reverse(),
    ...ctx.undo.indexes.reverse(),
    ...ctx.undo.tables,
    ...ctx.undo.created.reverse(),
  ];
  uniqueStepIds(ctx.plan);
  if (ctx.problems.length > 0) {
    throw new PgpactError(
      'MIGRATION_INVALID',
      `the migration ${ctx.migration.name} does not fit the database (${ctx.problems.length} problem(s))`,
      {
        problems: ctx.problems,
      },
    );
  }
  return ctx.plan;
}

/** A resumed run skips the steps recorded done by id: no two steps may share one. */
function uniqueStepIds(plan: MigrationPlan): void {
  const seen = new Map<string, number>();
  for (const step of [...plan.expand, ...plan.validate, ...plan.complete, ...plan.rollback]) {
    const n = (seen.get(step.id) ?? 0) + 1;
    seen.set(step.id, n);
    if (n > 1) step.id = `${step.id}#${n}`;
  }
}

/**
 * Plans one operation through its registry definition; returns the table it acts on. On a
 * table this migration creates, only operations that say how apply (directly: nobody reads it
 * yet); on an existing table, the engine checks the table exists and hands over its work.
 */
function operation(ctx: PlanState, o: Operation, i: number): TableName | undefined {
  const definition = definitionOf(o);
  const { table, createsTable } = definition.footprint(o);
  if (table && !createsTable && ctx.created.has(tableKey(table))) {
    if (definition.planOnCreatedTable) definition.planOnCreatedTable(ctx, o, i);
    else
      problem(
        ctx,
        i,
        `${o.op} on ${tableKey(table)}, a table this migration creates`,
        'write the final shape in create_table',
      );
    return table;
  }
  if (definition.plan) {
    definition.plan(ctx, o, i);
    return table;
  }
  const w = table && tableWork(ctx, table, i);
  if (w) definition.planOnTable(ctx, w, o, i);
  return table;
}

function finishTable(ctx: PlanState, w: TableWork, completes: Step[]): void {
  const key = tableKey(w.table);
  const step = ctx.plan.expand.find((s) => s.id === `expand:${key}`);
  const statements: GuardedStatement[] = [...w.addColumns, ...w.afterAdd];
  const complete: GuardedStatement[] = [];
  const rollback: GuardedStatement[] = [];
  if (w.rules.length > 0) {
    const sync = {
      table: w.table,
      functionName: syncFunctionName(ctx.migration.name, w.table),
      triggerName: syncTriggerName(ctx.migration.name),
      rules: w.rules,
    };
    ctx.plan.syncs.push(sync);
    statements.push(
      { sql: 'CREATE SCHEMA IF NOT EXISTS pgpact' },
      { sql: syncFunctionSql(sync) },
      { sql: syncTriggerSql(sync) },
    );
    complete.push(...dropSyncSql(sync).map((sql) => ({ sql })));
    rollback.push(
      ...dropSyncSql(sync).map((sql) => ({
        sql,
        guard: { kind: 'table-exists' as const, table: w.table },
      })),
    );
  }
  statements.push(...w.constraints);
  if (step && step.kind === 'ddl') step.statements = statements;
  if (w.backfill.length > 0) ctx.plan.backfills.push(backfillPlan(ctx, w));
  complete.push(...w.complete);
  rollback.push(
    ...w.rollback.map((s) => ({
      ...s,
      guard: { kind: 'table-exists' as const, table: w.table },
    })),
  );
  if (complete.length > 0)
    completes.push({
      kind: 'ddl',
      id: `complete:${key}`,
      description: `contract ${key}`,
      statements: complete,
    });
  if (rollback.length > 0)
    ctx.undo.tables.push({
      kind: 'ddl',
      id: `rollback:${key}`,
      description: `undo expand of ${key}`,
      statements: rollback,
    });
}

type BackfillPart = TableWork['backfill'][number];

/** A part's value for a column: its expression where its rule has not synced the row, else the column as it is. */
function guarded(p: BackfillPart, column: string, expression: string): string {
  return `CASE WHEN ${p.condition} THEN ${asScalar(expression)} ELSE ${quoteIdent(column)} END`;
}

/**
 * Whether a later part reads a column an earlier part assigns (pgroll's `nullable: false` with
 * `up: COALESCE(name, …)`, then an add_column whose `up` reads name), each column assigned once.
 * The sync trigger runs its rules in order, each over the row as the rules before it left it;
 * the backfill must too, or rows it fills would differ from rows written during the migration.
 */
function chained(parts: BackfillPart[]): boolean {
  const all = parts.flatMap((p) => p.assignments.map((a) => a.column));
  if (new Set(all).size !== all.length) return false;
  const assigned = new Set<string>();
  for (const p of parts) {
    for (const a of p.assignments) {
      const read = parseExpression(a.expression);
      if (read.ok && read.columns.some((c) => assigned.has(c))) return true;
    }
    for (const a of p.assignments) assigned.add(a.column);
  }
  return false;
}

/**
 * The parts as one SET of every column from nested sub-selects: each level computes its part's
 * columns under their own names over the level before it, so a later expression reads an
 * earlier part's result (an unqualified name resolves to the nearest level that has it, and
 * to the row being updated when none has).
 */
function sequentialAssignments(parts: BackfillPart[]): string {
  let level = '';
  const columns: string[] = [];
  parts.forEach((p, i) => {
    const values = p.assignments
      .map((a) => `${guarded(p, a.column, a.expression)} AS ${quoteIdent(a.column)}`)
      .join(', ');
    level =
      i === 0
        ? `SELECT ${values}`
        : `SELECT pgpact_${i - 1}.*, ${values} FROM (${level}) pgpact_${i - 1}`;
    columns.push(...p.assignments.map((a) => quoteIdent(a.column)));
  });
  const last = `pgpact_${parts.length - 1}`;
  return `(${columns.join(', ')}) = (SELECT ${columns.map((c) => `${last}.${c}`).join(', ')} FROM (${level}) ${last})`;
}

function backfillPlan(ctx: PlanState, w: TableWork): BackfillPlan {
  const pk = w.relation.constraints.find((c) => c.type === 'p');
  const key = (pk?.columns ?? []).map((name) => ({
    name,
    type: w.relation.columns.find((c) => c.name === name)!.type,
  }));
  const parts = w.backfill;
  const assignments = chained(parts)
    ? sequentialAssignments(parts)
    : // One rule: plain assignments. Several: each only where its own rule has not synced the row.
      parts
        .flatMap((p) =>
          p.assignments.map(({ column, expression }) =>
            parts.length === 1
              ? `${quoteIdent(column)} = ${asScalar(expression)}`
              : `${quoteIdent(column)} = ${guarded(p, column, expression)}`,
          ),
        )
        .join(', ');
  const condition = parts.map((p) => `(${p.condition})`).join(' OR ');
  if (key.length === 0 && w.relation.kind === 'partitioned_table') {
    ctx.problems.push({
      code: 'MIGRATION_PLAN',
      message: `${tableKey(w.table)} is partitioned and has no primary key: the backfill cannot walk it`,
      file: ctx.migration.file,
    });
  }
  return {
    table: w.table,
    strategy: key.length > 0 ? 'primary-key' : 'ctid',
    key,
    assignments,
    condition,
  };
}
