import type { Fields } from './fields.js';
import { portableLiterals } from './expressions.js';
import { isOnDeleteAction } from './plan-sql.js';
import type { ColumnSpec, DerivedColumn, ForeignKeyTarget } from './types.js';

/** Reading the parts operations share: SQL expressions, column definitions, foreign key targets. */

/** SQL text found while reading, checked by the Postgres parser afterwards. */
export interface SqlToCheck {
  fields: Fields;
  key: string;
  sql: string;
  kind: 'expression' | 'type' | 'script';
}

/** What reading one operation needs: the default schema and a place to queue SQL checks. */
export interface ReadContext {
  defaultSchema: string;
  sql: SqlToCheck[];
}

export function expression(
  f: Fields,
  key: string,
  ctx: ReadContext,
  required: boolean,
): string | undefined {
  const sql = required ? f.string(key, true) : f.string(key);
  if (sql === undefined) return undefined;
  ctx.sql.push({ fields: f, key, sql, kind: 'expression' });
  return portableLiterals(sql);
}

/** A type name (checked by the Postgres parser with the expressions). */
export function typeName(
  f: Fields,
  key: string,
  ctx: ReadContext,
  required: boolean,
): string | undefined {
  const sql = required ? f.string(key, true) : f.string(key);
  if (sql !== undefined) ctx.sql.push({ fields: f, key, sql, kind: 'type' });
  return sql;
}

/** An ON DELETE action Postgres knows, refused at its position otherwise. */
function onDeleteAction(f: Fields): string | undefined {
  const text = f.string('on_delete');
  if (text === undefined || isOnDeleteAction(text)) return text;
  f.report(
    'on_delete',
    `unknown on_delete \`${text}\``,
    'one of NO ACTION, RESTRICT, CASCADE, SET NULL, SET DEFAULT',
  );
  return undefined;
}

export function references(
  f: Fields | undefined,
  ctx: ReadContext,
  multi: boolean,
): (ForeignKeyTarget & { name?: string }) | undefined {
  if (!f) return undefined;
  const table = f.table('table', ctx.defaultSchema);
  const columns = multi
    ? f.names('columns', true)
    : [f.name('column', true)].filter((c): c is string => c !== undefined);
  const name = f.name('name');
  const onDelete = onDeleteAction(f);
  f.reportUnknown();
  if (!table || !columns || columns.length === 0) return undefined;
  return {
    table,
    columns,
    ...(onDelete === undefined ? {} : { onDelete }),
    ...(name === undefined ? {} : { name }),
  };
}

/** Reads one column definition (pgroll's shape: `nullable` defaults to false, as in pgroll). */
export function columnSpec(f: Fields, ctx: ReadContext): ColumnSpec | undefined {
  const name = f.name('name', true);
  const type = typeName(f, 'type', ctx, true);
  const nullable = f.boolean('nullable') ?? false;
  const def = expression(f, 'default', ctx, false);
  const unique = f.boolean('unique');
  const primaryKey = f.boolean('pk');
  const comment = f.string('comment');
  const checkFields = f.object('check', 'a column check');
  let check: ColumnSpec['check'];
  if (checkFields) {
    const expr = expression(checkFields, 'constraint', ctx, true);
    const checkName = checkFields.name('name');
    checkFields.reportUnknown();
    if (expr !== undefined)
      check = { expression: expr, ...(checkName === undefined ? {} : { name: checkName }) };
  }
  const refs = references(f.object('references', 'a column reference'), ctx, false);
  const generatedFields = f.object('generated', 'how the column is generated');
  let identity: ColumnSpec['identity'];
  let generated: string | undefined;
  if (generatedFields) {
    const identityFields = generatedFields.object('identity', 'the identity');
    if (identityFields) {
      const kind = (identityFields.string('user_specified_values') ?? 'BY DEFAULT')
        .toLowerCase()
        .replace(/\s+/g, ' ')
        .trim();
      if (kind === 'by default' || kind === 'always') identity = kind;
      else
        identityFields.report(
          'user_specified_values',
          `unknown identity kind \`${kind}\``,
          'BY DEFAULT or ALWAYS',
        );
      // pgroll's sequence_options: the sequence's own settings; Postgres's defaults are used.
      identityFields.ignore('sequence_options');
      identityFields.reportUnknown();
    }
    generated = expression(generatedFields, 'expression', ctx, false);
    generatedFields.reportUnknown();
  }
  f.reportUnknown();
  if (name === undefined || type === undefined) return undefined;
  return {
    name,
    type,
    nullable,
    ...(def === undefined ? {} : { default: def }),
    ...(unique ? { unique } : {}),
    ...(primaryKey ? { primaryKey } : {}),
    ...(check ? { check } : {}),
    ...(refs ? { references: refs } : {}),
    ...(comment === undefined ? {} : { comment }),
    ...(identity ? { identity } : {}),
    ...(generated === undefined ? {} : { generated }),
  };
}

export function derivedColumn(f: Fields, ctx: ReadContext): DerivedColumn | undefined {
  const name = f.name('name', true);
  const type = typeName(f, 'type', ctx, true);
  const up = expression(f, 'up', ctx, true);
  const nullable = f.boolean('nullable') ?? true;
  f.reportUnknown();
  if (name === undefined || type === undefined || up === undefined) return undefined;
  return { name, type, up, nullable };
}
