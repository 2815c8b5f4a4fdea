import { quoteIdent } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import { planUniqueIndexConstraint } from '../plan-operations.js';
import { isOnDeleteAction, qualified, referencesSql } from '../plan-sql.js';
import { expressionInputs, problem } from '../plan-state.js';
import { expression, type ReadContext, references } from '../read-column.js';
import type { ColumnExtras, ForeignKeyTarget, TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';
import type { Operation } from './registry.js';

/**
 * A constraint on an existing table without a long lock: check and foreign key `NOT VALID`, then
 * `VALIDATE`; unique and primary key through a unique index built concurrently, then attached.
 */
export interface AddConstraint {
  op: 'add_constraint';
  table: TableName;
  name: string;
  type: 'check' | 'foreign_key' | 'unique' | 'primary_key';
  check?: string;
  columns: string[];
  references?: ForeignKeyTarget;
}

/** pgpact's add_constraint: the rows are validated as they are. */
function read(f: Fields, ctx: ReadContext): AddConstraint | undefined {
  return readConstraint(f, ctx).constraint;
}

/**
 * pgroll's create_constraint: on one column with an `up` that rewrites it, old writers stay unconstrained
 * while both shapes live, as in pgroll: the column is replaced (change_type) by one carrying the
 * constraint and holding up(old), down syncing back. Otherwise, or over several columns, the
 * rows are validated as they are (up/down not applied).
 */
function readPgroll(f: Fields, ctx: ReadContext): Operation | undefined {
  const { constraint, up, down } = readConstraint(f, ctx);
  if (constraint?.columns.length !== 1 || constraint.type === 'primary_key') return constraint;
  const column = constraint.columns[0]!;
  const upExpression = up?.[column];
  const same = quoteIdent(column);
  // An up that keeps the value (`up: { col: col }`) rewrites nothing: an old writer's value would
  // meet the constraint on the new column all the same, so the column is not replaced.
  if (upExpression === undefined || [column, same].includes(upExpression.trim())) return constraint;
  const extras: ColumnExtras =
    constraint.type === 'check'
      ? { check: { name: constraint.name, expression: constraint.check! } }
      : constraint.type === 'unique'
        ? { unique: { name: constraint.name } }
        : { references: { ...constraint.references!, name: constraint.name } };
  return {
    op: 'change_type',
    table: constraint.table,
    column,
    up: upExpression,
    down: down?.[column] ?? same,
    extras,
  };
}

/** The fields both read, and pgroll's up/down expressions per column. */
function readConstraint(
  f: Fields,
  ctx: ReadContext,
): {
  constraint?: AddConstraint;
  up?: Record<string, string | undefined>;
  down?: Record<string, string | undefined>;
} {
  const table = f.table('table', ctx.defaultSchema);
  const name = f.name('name', true);
  const type = f.string('type', true);
  const columns = f.names('columns') ?? [];
  const check = type === 'check' ? expression(f, 'check', ctx, true) : f.string('check');
  const refs = references(f.object('references', 'the referenced table'), ctx, true);
  const perColumn = (key: string) => {
    const o = f.object(key, `the ${key} expressions`);
    if (!o) return undefined;
    const out: Record<string, string | undefined> = {};
    for (const c of Object.keys(o.value)) out[c] = expression(o, c, ctx, false);
    return out;
  };
  const up = perColumn('up');
  const down = perColumn('down');
  f.reportUnknown();
  const constraint = constraintOf(f, table, name, type, columns, check, refs);
  return {
    ...(constraint ? { constraint } : {}),
    ...(up ? { up } : {}),
    ...(down ? { down } : {}),
  };
}

function constraintOf(
  f: Fields,
  table: TableName | undefined,
  name: string | undefined,
  type: string | undefined,
  columns: string[],
  check: string | undefined,
  refs: (ForeignKeyTarget & { name?: string }) | undefined,
): AddConstraint | undefined {
  if (!table || name === undefined || type === undefined) return undefined;
  if (type !== 'check' && type !== 'foreign_key' && type !== 'unique' && type !== 'primary_key') {
    f.report(
      'type',
      `unknown constraint type \`${type}\``,
      'one of check, foreign_key, unique, primary_key',
    );
    return undefined;
  }
  if (type !== 'check' && columns.length === 0)
    f.report(undefined, `a ${type} constraint needs \`columns\``);
  if (type === 'foreign_key' && !refs)
    f.report(undefined, 'a foreign_key constraint needs `references` (table, columns)');
  return {
    op: 'add_constraint',
    table,
    name,
    type,
    columns,
    ...(check === undefined ? {} : { check }),
    ...(refs
      ? {
          references: {
            table: refs.table,
            columns: refs.columns,
            ...(refs.onDelete ? { onDelete: refs.onDelete } : {}),
          },
        }
      : {}),
  };
}

export const addConstraint: OperationDefinition<AddConstraint> = {
  kind: 'add_constraint',
  spellings: [
    { key: 'add_constraint', format: 'pgpact', read },
    { key: 'create_constraint', format: 'pgroll', read: readPgroll },
  ],
  footprint: (o) => ({ table: o.table, constraints: [o.name] }),
  planOnTable(ctx, w, o, i) {
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
  },
  planOnCreatedTable(ctx, o, i) {
    const list = o.columns.map(quoteIdent).join(', ');
    const body =
      o.type === 'check'
        ? `CHECK (${o.check})`
        : o.type === 'unique' || o.type === 'primary_key'
          ? `${o.type === 'unique' ? 'UNIQUE' : 'PRIMARY KEY'} (${list})`
          : `FOREIGN KEY (${list}) ${referencesSql(o.references!)}`;
    ctx.plan.expand.push({
      kind: 'ddl',
      id: `add-constraint:${i}`,
      description: `add ${o.name}`,
      statements: [
        {
          sql: `ALTER TABLE ${qualified(o.table)} ADD CONSTRAINT ${quoteIdent(o.name)} ${body}`,
          guard: { kind: 'constraint-missing', table: o.table, name: o.name },
        },
      ],
    });
  },
};
