import type { ColumnInfo } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import { planCarryOver } from './carry-over.js';
import { tableKey } from './names.js';
import {
  commentSql,
  copyCommentSql,
  defaultConstraintName,
  isOnDeleteAction,
  qualified,
  referencesSql,
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
import type { ColumnSpec, TableName } from './types.js';

/**
 * Planning that several operations share (each operation's own planning is in operations/): a new
 * column's constraints, a unique index attached as a constraint, and the two-way replacement of
 * old columns by new ones that rename, split, merge and change_type are built on.
 */

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

/** A new column of a replacement: its expand-time name, type, `up` and final nullability. */
export interface NewColumn {
  name: string;
  type: string;
  up: string;
  nullable: boolean;
}

/**
 * What a replacement operation (rename_column, split_column, merge_columns, change_type) asks of
 * the shared two-way planning: which old columns go, and, once they are known to exist, which new
 * columns take their place.
 */
export interface Replacement {
  /** Its kind, for messages (`rename_column of ...`). */
  kind: string;
  /** The old columns complete drops. */
  olds: string[];
  /** The new columns, `down` per old column, and the names the new shape ends with; may note problems. */
  derive(old: ColumnInfo[]): {
    news: NewColumn[];
    downs: { column: string; expression: string }[];
    /** A name `down` uses for another column (change_type: the column's own name for the new value). */
    alias?: Record<string, string>;
    finalNames: string[];
  };
  /** One column takes another's place: its comment, indexes and constraints go with it. */
  oneToOne: boolean;
  /** At complete the new column takes the old one's name (change_type without rename). */
  keepsName?: boolean;
  /** After the new columns are added and the comment copied: what else the operation sets on them. */
  afterAdd?(old: ColumnInfo[], news: NewColumn[]): void;
}

/** New columns kept in sync with the old ones both ways until complete drops the old ones. */
export function planTwoWay(ctx: PlanState, w: TableWork, r: Replacement, i: number): void {
  const key = tableKey(w.table);
  const t = qualified(w.table);
  const olds = r.olds;
  const found = olds.map((name) => existingColumn(ctx, w, name, i));
  if (found.some((c) => c === undefined)) return;
  const oldInfos = found as ColumnInfo[];
  for (const name of olds) notInKey(ctx, w, name, i, `${r.kind} of`);
  for (const c of oldInfos) {
    if (c.identity || c.generated)
      problem(
        ctx,
        i,
        `${r.kind} of ${key}.${c.name}, an identity or generated column, is not supported`,
      );
  }
  const { news, downs, alias = {}, finalNames } = r.derive(oldInfos);
  for (const n of news) if (!absent(ctx, w, n.name, i)) return;
  if (!r.oneToOne)
    for (const old of olds) noteCarried(ctx, w, old, 'are dropped with the old column at complete');
  const upInputs = uniqueInputs(news.flatMap((n) => expressionInputs(ctx, w, n.up, i)));
  const downInputs = uniqueInputs(
    downs.flatMap((d) => expressionInputs(ctx, w, d.expression, i, alias)),
  );
  for (const n of news) addNewColumn(w, n.name, n.type);
  // A column taking another's place keeps its comment (pgroll duplicates it).
  if (r.oneToOne) w.afterAdd.push({ sql: copyCommentSql(w.table, olds[0]!, news[0]!.name) });
  r.afterAdd?.(oldInfos, news);
  const operation = `${r.kind} ${olds.join(', ')} -> ${finalNames.join(', ')}`;
  w.rules.push({
    kind: 'two-way',
    operation,
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
  const renamedBack = r.keepsName === true;
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
      sql: `ALTER TABLE ${t} RENAME COLUMN ${quoteIdent(target)} TO ${quoteIdent(olds[0]!)}`,
      guard: { kind: 'column-exists', table: w.table, column: target },
    });
  }
  // After the old column's DROP (which drops the originals): the duplicates take their names.
  if (r.oneToOne) planCarryOver(ctx, w, olds[0]!, news[0]!.name);
  news.forEach((n, k) => {
    if (!n.nullable) setNotNullAtComplete(w, finalNames[k]!, addNotNullCheck(ctx, w, n.name));
  });
  for (const old of olds) {
    ctx.plan.oldShape.push({
      table: w.table,
      column: old,
      replacedBy: renamedBack ? [old] : finalNames,
      operation,
      blocking: !renamedBack,
    });
  }
}
