import { findRelation } from '../postgres/catalog.js';
import { planCarryOver } from './carry-over.js';
import { renameColumnRefs } from './expressions.js';
import { tableConstraintSql } from './table-constraints.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import { tableKey, temporaryColumnName } from './names.js';
import {
  carryDefaultSql,
  columnDefinition,
  commentSql,
  copyCommentSql,
  defaultConstraintName,
  isOnDeleteAction,
  qualified,
  referencesSql,
  tableCommentSql,
} from './plan-sql.js';
import {
  absent,
  addNewColumn,
  addNotNullCheck,
  existingColumn,
  expressionInputs,
  noteCarried,
  notInKey,
  type PlanState,
  problem,
  setNotNullAtComplete,
  type TableWork,
  uniqueInputs,
} from './plan-state.js';
import type { GuardedStatement } from './plan-types.js';
import type { ColumnExtras, ColumnSpec, Operation, TableName } from './types.js';

/** The planner's operations that build more than a line or two of the plan. */

/** A new column's comment, check, foreign key and unique constraint. */
export function planColumnExtras(
  ctx: PlanState,
  w: TableWork,
  c: ColumnSpec,
  i: number,
  uniqueName?: string,
): void {
  const t = qualified(w.table);
  if (c.comment !== undefined) w.afterAdd.push({ sql: commentSql(w.table, c.name, c.comment) });
  if (c.check) {
    const name = c.check.name ?? defaultConstraintName(w.table, [c.name], 'check');
    expressionInputs(ctx, w, c.check.expression, i);
    w.constraints.push({
      sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} CHECK (${c.check.expression}) NOT VALID`,
      guard: { kind: 'constraint-missing', table: w.table, name },
    });
    ctx.plan.validate.push({
      kind: 'ddl',
      id: `validate:${tableKey(w.table)}:${name}`,
      description: `validate ${name}`,
      statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
    });
  }
  if (c.references) {
    if (c.references.onDelete && !isOnDeleteAction(c.references.onDelete))
      problem(ctx, i, `unknown on_delete \`${c.references.onDelete}\``);
    else {
      const name = c.references.name ?? defaultConstraintName(w.table, [c.name], 'fkey');
      w.constraints.push({
        sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${quoteIdent(c.name)}) ${referencesSql(c.references)} NOT VALID`,
        guard: { kind: 'constraint-missing', table: w.table, name },
      });
      ctx.plan.validate.push({
        kind: 'ddl',
        id: `validate:${tableKey(w.table)}:${name}`,
        description: `validate ${name}`,
        statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
      });
    }
  }
  if (c.unique) {
    const name = uniqueName ?? defaultConstraintName(w.table, [c.name], 'key');
    planUniqueIndexConstraint(
      ctx,
      w.table,
      name,
      [c.name],
      `unique ${tableKey(w.table)}.${c.name}`,
    );
  }
}

/** A unique index built concurrently, then attached as a constraint. */
export function planUniqueIndexConstraint(
  ctx: PlanState,
  table: TableName,
  name: string,
  columns: string[],
  description: string,
  kind: 'UNIQUE' | 'PRIMARY KEY' = 'UNIQUE',
): void {
  const t = qualified(table);
  ctx.plan.validate.push({
    kind: 'create-index',
    id: `index:${table.schema}.${name}`,
    description,
    schema: table.schema,
    name,
    sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)} ON ${t} (${columns.map(quoteIdent).join(', ')})`,
    afterwards: [
      {
        sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} ${kind} USING INDEX ${quoteIdent(name)}`,
        guard: { kind: 'constraint-missing', table, name },
      },
    ],
  });
  // Reversed at the end: the constraint (which owns the index) is dropped first.
  ctx.undo.indexes.push({
    kind: 'drop-index',
    id: `rollback:index:${table.schema}.${name}`,
    description: `drop index ${name}`,
    schema: table.schema,
    name,
  });
  ctx.undo.indexes.push({
    kind: 'ddl',
    id: `rollback:constraint:${tableKey(table)}:${name}`,
    description: `drop ${name}`,
    statements: [
      {
        sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)}`,
        guard: { kind: 'table-exists', table },
      },
    ],
  });
}

/** rename_column, split_column, merge_columns, change_type: new columns kept in sync both ways until complete. */
export function planTwoWay(
  ctx: PlanState,
  w: TableWork,
  o: Extract<Operation, { op: 'rename_column' | 'split_column' | 'merge_columns' | 'change_type' }>,
  i: number,
): void {
  const key = tableKey(w.table);
  const t = qualified(w.table);
  const olds = o.op === 'merge_columns' ? o.from : [o.op === 'change_type' ? o.column : o.from];
  const oldInfos = olds.map((name) => existingColumn(ctx, w, name, i));
  if (oldInfos.some((c) => c === undefined)) return;
  for (const name of olds) notInKey(ctx, w, name, i, `${o.op} of`);
  for (const c of oldInfos) {
    if (c!.identity || c!.generated)
      problem(
        ctx,
        i,
        `${o.op} of ${key}.${c!.name}, an identity or generated column, is not supported`,
      );
  }
  let news: { name: string; type: string; up: string; nullable: boolean }[];
  let downs: { column: string; expression: string }[];
  let alias: Record<string, string> = {};
  let finalNames: string[];
  if (o.op === 'split_column') {
    news = o.to;
    downs = [{ column: o.from, expression: o.down }];
    finalNames = o.to.map((c) => c.name);
  } else if (o.op === 'merge_columns') {
    news = [o.to];
    downs = o.from.map((c) => ({ column: c, expression: o.down[c]! }));
    finalNames = [o.to.name];
  } else if (o.op === 'rename_column') {
    const from = oldInfos[0]!;
    if (from.default?.includes('nextval('))
      problem(
        ctx,
        i,
        `renaming ${key}.${o.from}, which takes its default from a sequence, is not supported`,
      );
    news = [{ name: o.to, type: from.type, up: quoteIdent(o.from), nullable: !from.notNull }];
    downs = [{ column: o.from, expression: quoteIdent(o.to) }];
    finalNames = [o.to];
    if (from.default !== undefined && !from.default.includes('nextval(')) {
      w.complete.push({
        sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(o.to)} SET DEFAULT ${from.default}`,
      });
    }
  } else {
    const target = o.rename ?? temporaryColumnName(o.column);
    const nullable = o.extras?.nullable ?? !oldInfos[0]!.notNull;
    news = [{ name: target, type: o.type ?? oldInfos[0]!.type, up: o.up, nullable }];
    downs = [{ column: o.column, expression: o.down }];
    // Without a rename, `down` names the new value by the column's own name.
    if (o.rename === undefined) alias = { [o.column]: target };
    finalNames = [o.rename ?? o.column];
  }
  for (const n of news) if (!absent(ctx, w, n.name, i)) return;
  const oneToOne = o.op === 'rename_column' || o.op === 'change_type';
  if (!oneToOne)
    for (const old of olds) noteCarried(ctx, w, old, 'are dropped with the old column at complete');
  const upInputs = uniqueInputs(news.flatMap((n) => expressionInputs(ctx, w, n.up, i)));
  const downInputs = uniqueInputs(
    downs.flatMap((d) => expressionInputs(ctx, w, d.expression, i, alias)),
  );
  for (const n of news) addNewColumn(w, n.name, n.type);
  // A column taking another's place keeps its comment (pgroll duplicates it).
  if (o.op === 'rename_column' || o.op === 'change_type')
    w.afterAdd.push({ sql: copyCommentSql(w.table, olds[0]!, news[0]!.name) });
  // A sequence default is not carried: the sequence belongs to the old column and goes with it.
  const extras = o.op === 'change_type' ? o.extras : undefined;
  if (
    o.op === 'change_type' &&
    extras?.default === undefined &&
    oldInfos[0]!.default !== undefined &&
    !oldInfos[0]!.default.includes('nextval(')
  )
    w.complete.push({
      sql: carryDefaultSql(w.table, news[0]!.name, oldInfos[0]!.default, news[0]!.type),
    });
  if (o.op === 'change_type' && extras) planExtras(ctx, w, o.column, news[0]!.name, extras, i);
  w.rules.push({
    kind: 'two-way',
    operation: `${o.op} ${olds.join(', ')} -> ${finalNames.join(', ')}`,
    up: news.map((n) => ({ column: n.name, expression: n.up })),
    down: downs,
    upInputs,
    downInputs,
  });
  w.backfill.push({
    assignments: news.map((n) => ({ column: n.name, expression: n.up })),
    condition: news.map((n) => `${quoteIdent(n.name)} IS NULL`).join(' AND '),
  });
  // A type change under the same name: once the new column took the name, `old` is the new one.
  const renamedBack = o.op === 'change_type' && o.rename === undefined;
  for (const old of olds)
    w.complete.push({
      sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(old)}`,
      ...(renamedBack
        ? { guard: { kind: 'column-exists' as const, table: w.table, column: news[0]!.name } }
        : {}),
    });
  if (renamedBack) {
    const target = news[0]!.name;
    w.complete.push({
      sql: `ALTER TABLE ${t} RENAME COLUMN ${quoteIdent(target)} TO ${quoteIdent(o.column)}`,
      guard: { kind: 'column-exists', table: w.table, column: target },
    });
  }
  // After the old column's DROP (which drops the originals): the duplicates take their names.
  if (oneToOne) planCarryOver(ctx, w, olds[0]!, news[0]!.name);
  news.forEach((n, k) => {
    if (!n.nullable) setNotNullAtComplete(w, finalNames[k]!, addNotNullCheck(ctx, w, n.name));
  });
  for (const old of olds) {
    ctx.plan.oldShape.push({
      table: w.table,
      column: old,
      replacedBy: renamedBack ? [old] : finalNames,
      operation: `${o.op} ${olds.join(', ')} -> ${finalNames.join(', ')}`,
      blocking: !renamedBack,
    });
  }
}

/**
 * What a pgroll alter_column sets on the replacing column besides its type: the comment at
 * start, the default at complete (a non-NULL new column means "written by new code" until then),
 * constraints on the new column (NOT VALID, validated after the backfill; unique by an index).
 */
function planExtras(
  ctx: PlanState,
  w: TableWork,
  column: string,
  target: string,
  extras: ColumnExtras,
  i: number,
): void {
  const t = qualified(w.table);
  if (extras.comment !== undefined)
    w.afterAdd.push({
      sql: `COMMENT ON COLUMN ${t}.${quoteIdent(target)} IS ${extras.comment === null ? 'NULL' : quoteLiteral(extras.comment)}`,
    });
  if (extras.default !== undefined)
    w.complete.push({
      sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(target)} ${extras.default === null ? 'DROP DEFAULT' : `SET DEFAULT (${renameColumnRefs(extras.default, column, target)})`}`,
    });
  const spec: ColumnSpec = {
    name: target,
    type: '',
    nullable: true,
    ...(extras.unique ? { unique: true } : {}),
    ...(extras.check
      ? {
          check: {
            name: extras.check.name ?? defaultConstraintName(w.table, [column], 'check'),
            expression: renameColumnRefs(extras.check.expression, column, target),
          },
        }
      : {}),
    ...(extras.references
      ? {
          references: {
            ...extras.references,
            name: extras.references.name ?? defaultConstraintName(w.table, [column], 'fkey'),
          },
        }
      : {}),
  };
  planColumnExtras(
    ctx,
    w,
    spec,
    i,
    extras.unique?.name ?? defaultConstraintName(w.table, [column], 'key'),
  );
}

/** A check or foreign key added NOT VALID and validated after the backfill; unique through an index. */
export function planAddConstraint(
  ctx: PlanState,
  w: TableWork,
  o: Extract<Operation, { op: 'add_constraint' }>,
  i: number,
): void {
  const t = qualified(w.table);
  for (const c of o.columns)
    if (!w.relation.columns.some((x) => x.name === c) && !w.newColumns.includes(c))
      problem(ctx, i, `column ${tableKey(w.table)}.${c} does not exist`);
  if (w.relation.constraints.some((c) => c.name === o.name))
    problem(ctx, i, `constraint ${o.name} already exists on ${tableKey(w.table)}`);
  if (o.type === 'unique' || o.type === 'primary_key') {
    if (o.type === 'primary_key' && w.relation.constraints.some((c) => c.type === 'p'))
      problem(ctx, i, `${tableKey(w.table)} has a primary key already`);
    const kind = o.type === 'unique' ? 'UNIQUE' : 'PRIMARY KEY';
    planUniqueIndexConstraint(ctx, w.table, o.name, o.columns, `${o.type} ${o.name}`, kind);
    return;
  }
  let body: string;
  if (o.type === 'check') {
    expressionInputs(ctx, w, o.check ?? 'true', i);
    body = `CHECK (${o.check})`;
  } else {
    if (o.references?.onDelete && !isOnDeleteAction(o.references.onDelete)) {
      problem(ctx, i, `unknown on_delete \`${o.references.onDelete}\``);
      return;
    }
    body = `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) ${referencesSql(o.references!)}`;
  }
  w.constraints.push({
    sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(o.name)} ${body} NOT VALID`,
    guard: { kind: 'constraint-missing', table: w.table, name: o.name },
  });
  w.rollback.push({ sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}` });
  ctx.plan.validate.push({
    kind: 'ddl',
    id: `validate:${tableKey(w.table)}:${o.name}`,
    description: `validate ${o.name}`,
    statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(o.name)}` }],
  });
}

/** CREATE INDEX CONCURRENTLY after the backfill; dropped concurrently by a rollback. */
export function planAddIndex(
  ctx: PlanState,
  o: Extract<Operation, { op: 'add_index' }>,
  i: number,
): void {
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

/** CREATE TABLE IF NOT EXISTS in the expand; dropped by a rollback. */
export function planCreateTable(
  ctx: PlanState,
  o: Extract<Operation, { op: 'create_table' }>,
  i: number,
): void {
  const key = tableKey(o.table);
  if (findRelation(ctx.catalog, o.table.schema, o.table.name))
    problem(ctx, i, `table ${key} already exists`);
  if (!ctx.catalog.schemas.some((s) => s.name === o.table.schema))
    problem(
      ctx,
      i,
      `schema ${o.table.schema} does not exist`,
      'create it first (pgpact apply provisions owned schemas)',
    );
  const pk = o.columns.filter((c) => c.primaryKey).map((c) => c.name);
  const defs = o.columns.map((c) => columnDefinition(o.table, c, pk.length === 1));
  if (pk.length > 1) defs.push(`PRIMARY KEY (${pk.map(quoteIdent).join(', ')})`);
  for (const c of o.constraints ?? []) defs.push(tableConstraintSql(c));
  const statements: GuardedStatement[] = [
    { sql: `CREATE TABLE IF NOT EXISTS ${qualified(o.table)} (\n  ${defs.join(',\n  ')}\n)` },
  ];
  for (const c of o.columns)
    if (c.comment !== undefined) statements.push({ sql: commentSql(o.table, c.name, c.comment) });
  if (o.comment !== undefined) statements.push({ sql: tableCommentSql(o.table, o.comment) });
  ctx.plan.expand.push({
    kind: 'ddl',
    id: `create-table:${key}`,
    description: `create table ${key}`,
    statements,
  });
  ctx.undo.created.push({
    kind: 'ddl',
    id: `rollback:create-table:${key}`,
    description: `drop table ${key}`,
    statements: [{ sql: `DROP TABLE IF EXISTS ${qualified(o.table)}` }],
  });
}

/** DROP INDEX CONCURRENTLY at complete (old code may rely on it until then); pgroll names only the index. */
export function planDropIndex(
  ctx: PlanState,
  o: Extract<Operation, { op: 'drop_index' }>,
  i: number,
): void {
  const exists = ctx.catalog.relations.some(
    (r) => r.schema === o.schema && r.indexes.some((x) => x.name === o.name),
  );
  if (!exists) problem(ctx, i, `index ${o.schema}.${o.name} does not exist`);
  ctx.plan.complete.push({
    kind: 'drop-index',
    id: `drop-index:${o.schema}.${o.name}`,
    description: `drop index ${o.name}`,
    schema: o.schema,
    name: o.name,
  });
}

/** Operations on a table this migration creates: nobody reads it yet, so they apply directly. */
/** Operations on a table this migration creates: nobody reads it yet, so they apply directly. */
export function planOnCreatedTable(ctx: PlanState, o: Operation, i: number): void {
  if (o.op === 'add_column') {
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `add-column:${i}`,
      description: `add ${o.column.name}`,
      statements: [
        {
          sql: `ALTER TABLE ${qualified(o.table)} ADD COLUMN IF NOT EXISTS ${columnDefinition(o.table, o.column, true)}`,
        },
      ],
    });
  } else if (o.op === 'add_index') {
    planAddIndex(ctx, o, i);
  } else if (o.op === 'add_constraint') {
    const t = qualified(o.table);
    const body =
      o.type === 'check'
        ? `CHECK (${o.check})`
        : o.type === 'unique' || o.type === 'primary_key'
          ? `${o.type === 'unique' ? 'UNIQUE' : 'PRIMARY KEY'} (${o.columns.map(quoteIdent).join(', ')})`
          : `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) ${referencesSql(o.references!)}`;
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `add-constraint:${i}`,
      description: `add ${o.name}`,
      statements: [
        {
          sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(o.name)} ${body}`,
          guard: { kind: 'constraint-missing', table: o.table, name: o.name },
        },
      ],
    });
  } else if (o.op === 'set_comment' || o.op === 'set_default') {
    // On a table nobody reads yet: applied in the expand like the table itself.
    const steps: GuardedStatement[] = [];
    const t = qualified(o.table);
    if (o.op === 'set_comment')
      steps.push({
        sql:
          o.column === undefined
            ? tableCommentSql(o.table, o.comment)
            : `COMMENT ON COLUMN ${t}.${quoteIdent(o.column)} IS ${o.comment === null ? 'NULL' : quoteLiteral(o.comment)}`,
      });
    else
      steps.push({
        sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(o.column)} ${o.default === null ? 'DROP DEFAULT' : `SET DEFAULT (${o.default})`}`,
      });
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `alter:${i}`,
      description: `alter ${tableKey(o.table)}`,
      statements: steps,
    });
  } else if (o.op !== 'sql' && o.op !== 'create_table' && o.op !== 'drop_index') {
    problem(
      ctx,
      i,
      `${o.op} on ${tableKey(o.table)}, a table this migration creates`,
      'write the final shape in create_table',
    );
  }
}

/** Writes the table's expand step, sync trigger, backfill and complete/rollback steps. */
