import { PgpactError } from '../errors.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import { asScalar, callsFunction } from './expressions.js';
import { isSimple, planSimple } from './simple-operations.js';
import { planRenameTable } from './rename-table.js';
import { syncFunctionName, syncTriggerName, tableKey } from './names.js';
import {
  planAddConstraint,
  planAddIndex,
  planDropIndex,
  planColumnExtras,
  planCreateTable,
  planOnCreatedTable,
  planTwoWay,
} from './plan-operations.js';
import { qualified } from './plan-sql.js';
import {
  absent,
  addNewColumn,
  addNotNullCheck,
  existingColumn,
  expressionInputs,
  newPlanState,
  notInKey,
  type PlanState,
  problem,
  setNotNullAtComplete,
  type TableWork,
  tableWork,
} from './plan-state.js';
import type { BackfillPlan, GuardedStatement, MigrationPlan, Step } from './plan-types.js';
import { dropSyncSql, syncFunctionSql, syncTriggerSql } from './sync-trigger.js';
import type { Migration, Operation } from './types.js';

/**
 * The planner: a migration and the live catalog in, every step of start, complete and
 * rollback out (MigrationPlan, stored with the migration at its first start).
 */

/** Plans a migration against the live catalog; throws MIGRATION_INVALID with every problem found. */
export function planMigration(migration: Migration, catalog: CatalogSnapshot): MigrationPlan {
  return build(newPlanState(migration, catalog));
}

function build(ctx: PlanState): MigrationPlan {
  const ops = ctx.migration.operations;
  // Which tables this migration creates, by position.
  ops.forEach((o, i) => {
    if (o.op === 'create_table') ctx.created.set(tableKey(o.table), i);
  });
  const emitted = new Set<string>();
  ops.forEach((o, i) => {
    const before = ctx.plan.expand.length;
    operation(ctx, o, i);
    if (
      o.op !== 'sql' &&
      o.op !== 'drop_index' &&
      o.op !== 'create_table' &&
      !ctx.created.has(tableKey(o.table))
    ) {
      const key = tableKey(o.table);
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

/** The work of an existing table, checking it exists. */
function operation(ctx: PlanState, o: Operation, i: number): void {
  if (o.op === 'drop_index') {
    planDropIndex(ctx, o, i);
    return;
  }
  if (o.op === 'sql') {
    const id = `sql:${i}`;
    if (o.onComplete)
      ctx.plan.complete.push({
        kind: 'once',
        id,
        description: `raw sql (operation ${i + 1})`,
        sql: o.up,
      });
    else {
      ctx.plan.expand.push({
        kind: 'once',
        id,
        description: `raw sql (operation ${i + 1})`,
        sql: o.up,
      });
      if (o.down !== undefined)
        ctx.undo.sql.push({
          kind: 'once',
          id: `${id}:down`,
          description: `raw sql down (operation ${i + 1})`,
          sql: o.down,
          onlyIfDone: id,
        });
    }
    return;
  }
  if (o.op === 'rename_table') {
    planRenameTable(ctx, o, i);
    return;
  }
  const key = tableKey(o.table);
  if (o.op === 'create_table') {
    planCreateTable(ctx, o, i);
    return;
  }
  if (ctx.created.has(key)) {
    planOnCreatedTable(ctx, o, i);
    return;
  }
  if (o.op === 'add_index') {
    planAddIndex(ctx, o, i);
    return;
  }
  const w = tableWork(ctx, o.table, i);
  if (!w) return;
  if (isSimple(o)) {
    planSimple(ctx, w, o, i);
    return;
  }
  const t = qualified(w.table);
  switch (o.op) {
    case 'drop_table':
      ctx.work.delete(key);
      ctx.plan.droppedTables.push(o.table);
      for (const c of w.relation.columns)
        ctx.plan.oldShape.push({
          table: o.table,
          column: c.name,
          replacedBy: [],
          operation: `drop_table ${key}`,
          blocking: true,
        });
      ctx.plan.complete.push({
        kind: 'ddl',
        id: `drop-table:${key}`,
        description: `drop table ${key}`,
        statements: [{ sql: `DROP TABLE IF EXISTS ${t}` }],
      });
      return;
    case 'add_column': {
      const c = o.column;
      if (!absent(ctx, w, c.name, i)) return;
      if (c.primaryKey)
        problem(ctx, i, `add_column ${key}.${c.name}: pk is only read by create_table`);
      if (c.identity || c.generated !== undefined)
        problem(
          ctx,
          i,
          `add_column ${key}.${c.name}: an identity or generated column fills every row under an exclusive lock`,
          'add a plain column with `up`, or create the table with it',
        );
      if (o.up === undefined) {
        if (!c.nullable && c.default === undefined)
          problem(
            ctx,
            i,
            `add_column ${key}.${c.name} is NOT NULL without a default or up`,
            'give `up` (an expression filling existing and old-code rows) or a default, or nullable: true',
          );
        w.addColumns.push({
          sql: `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${c.type}${c.default === undefined ? '' : ` DEFAULT (${c.default})`}${c.nullable ? '' : ' NOT NULL'}`,
        });
        if (c.default !== undefined && callsFunction(c.default))
          ctx.plan.notes.push(
            `${key}.${c.name}: its default calls a function; a volatile one (random(), clock_timestamp()...) rewrites the table under an exclusive lock: write it as \`up\` instead`,
          );
        w.rollback.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(c.name)}` });
      } else {
        addNewColumn(w, c.name, c.type);
        if (c.default !== undefined)
          w.afterAdd.push({
            sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT (${c.default})`,
          });
        const inputs = expressionInputs(ctx, w, o.up, i).filter((x) => x.name !== c.name);
        w.rules.push({
          kind: 'fill-null',
          operation: `add_column ${c.name}`,
          column: c.name,
          expression: o.up,
          inputs,
          onInputChange: true,
        });
        w.backfill.push({
          assignments: [{ column: c.name, expression: o.up }],
          condition: `${quoteIdent(c.name)} IS NULL`,
        });
        if (!c.nullable) setNotNullAtComplete(w, c.name, addNotNullCheck(ctx, w, c.name));
      }
      planColumnExtras(ctx, w, c, i);
      return;
    }
    case 'drop_column': {
      const column = existingColumn(ctx, w, o.column, i);
      if (!column) return;
      notInKey(ctx, w, o.column, i, 'dropping');
      if (o.down !== undefined) {
        const inputs = expressionInputs(ctx, w, o.down, i).filter((x) => x.name !== o.column);
        w.rules.push({
          kind: 'fill-null',
          operation: `drop_column ${o.column}`,
          column: o.column,
          expression: o.down,
          inputs,
          onInputChange: true,
        });
      } else if (column.notNull && column.default === undefined) {
        ctx.plan.notes.push(
          `${key}.${o.column} is NOT NULL without a default: code that stops writing it fails until complete; give \`down\``,
        );
      }
      w.complete.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(o.column)}` });
      ctx.plan.oldShape.push({
        table: o.table,
        column: o.column,
        replacedBy: [],
        operation: `drop_column ${o.column}`,
        blocking: true,
      });
      return;
    }
    case 'rename_column':
    case 'split_column':
    case 'merge_columns':
    case 'change_type':
      planTwoWay(ctx, w, o, i);
      return;
    case 'set_not_null': {
      const column = existingColumn(ctx, w, o.column, i);
      if (!column) return;
      if (column.notNull) {
        ctx.plan.notes.push(`${key}.${o.column} is already NOT NULL`);
        return;
      }
      if (o.up !== undefined) {
        const inputs = expressionInputs(ctx, w, o.up, i).filter((x) => x.name !== o.column);
        w.rules.push({
          kind: 'fill-null',
          operation: `set_not_null ${o.column}`,
          column: o.column,
          expression: o.up,
          inputs,
        });
        w.backfill.push({
          assignments: [{ column: o.column, expression: o.up }],
          condition: `${quoteIdent(o.column)} IS NULL`,
        });
      }
      setNotNullAtComplete(w, o.column, addNotNullCheck(ctx, w, o.column));
      return;
    }
    case 'add_constraint':
      planAddConstraint(ctx, w, o, i);
      return;
  }
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

function backfillPlan(ctx: PlanState, w: TableWork): BackfillPlan {
  const pk = w.relation.constraints.find((c) => c.type === 'p');
  const key = (pk?.columns ?? []).map((name) => ({
    name,
    type: w.relation.columns.find((c) => c.name === name)!.type,
  }));
  const parts = w.backfill;
  // One rule: plain assignments. Several: each only where its own rule has not synced the row.
  const assignments = parts
    .flatMap((p) =>
      p.assignments.map(({ column, expression }) =>
        parts.length === 1
          ? `${quoteIdent(column)} = ${asScalar(expression)}`
          : `${quoteIdent(column)} = CASE WHEN ${p.condition} THEN ${asScalar(expression)} ELSE ${quoteIdent(column)} END`,
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
