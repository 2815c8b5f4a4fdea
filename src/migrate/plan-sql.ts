import { quoteIdent, quoteLiteral, quoteQualified } from '../postgres/quote.js';
import { truncateIdentifier } from './names.js';
import type { ColumnSpec, ForeignKeyTarget, TableName } from './types.js';

/** SQL fragments the planner assembles. Every identifier goes through quoteIdent. */

/** `"schema"."table"`. */
export function qualified(table: TableName): string {
  return quoteQualified(table.schema, table.name);
}

/** `REFERENCES "s"."t" ("c") ON DELETE ...`. */
export function referencesSql(ref: ForeignKeyTarget): string {
  const onDelete = ref.onDelete ? ` ON DELETE ${onDeleteAction(ref.onDelete)}` : '';
  return `REFERENCES ${qualified(ref.table)} (${ref.columns.map(quoteIdent).join(', ')})${onDelete}`;
}

const ON_DELETE = ['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT'];

/** Whether an ON DELETE action is one Postgres knows. */
export function isOnDeleteAction(text: string): boolean {
  return ON_DELETE.includes(text.toUpperCase().replace(/\s+/g, ' ').trim());
}

function onDeleteAction(text: string): string {
  const action = text.toUpperCase().replace(/\s+/g, ' ').trim();
  if (!ON_DELETE.includes(action)) throw new Error(`unknown ON DELETE action ${text}`);
  return action;
}

/** Default names Postgres would give, so users find them where they expect. */
export function defaultConstraintName(
  table: TableName,
  columns: string[],
  suffix: 'check' | 'fkey' | 'key',
): string {
  return truncateIdentifier(`${table.name}_${columns.join('_')}_${suffix}`);
}

/** A full column definition for CREATE TABLE or ADD COLUMN on a new table. */
export function columnDefinition(table: TableName, c: ColumnSpec, withPrimaryKey: boolean): string {
  const parts = [quoteIdent(c.name), c.type];
  if (!c.nullable) parts.push('NOT NULL');
  if (c.default !== undefined) parts.push(`DEFAULT (${c.default})`);
  if (c.identity) parts.push(`GENERATED ${c.identity.toUpperCase()} AS IDENTITY`);
  if (c.generated !== undefined) parts.push(`GENERATED ALWAYS AS (${c.generated}) STORED`);
  if (c.unique)
    parts.push(`CONSTRAINT ${quoteIdent(defaultConstraintName(table, [c.name], 'key'))} UNIQUE`);
  if (c.primaryKey && withPrimaryKey) parts.push('PRIMARY KEY');
  if (c.check) {
    const name = c.check.name ?? defaultConstraintName(table, [c.name], 'check');
    parts.push(`CONSTRAINT ${quoteIdent(name)} CHECK (${c.check.expression})`);
  }
  if (c.references) {
    const name = c.references.name ?? defaultConstraintName(table, [c.name], 'fkey');
    parts.push(`CONSTRAINT ${quoteIdent(name)} ${referencesSql(c.references)}`);
  }
  return parts.join(' ');
}

/** A DO block running `body`, dollar-quoted with a tag that does not occur in it. */
export function doBlock(body: string): string {
  let tag = '$pgpact_do$';
  for (let i = 0; body.includes(tag); i++) tag = `$pgpact_do${i}$`;
  return `DO ${tag} BEGIN ${body} END ${tag}`;
}

/**
 * Carries a replaced column's default over to its successor (pgroll keeps it). A default of
 * another type is cast to the new one when that cast works on it now (`'0'::text` → 0);
 * otherwise, as in pgroll, it is left behind rather than failing the step.
 */
export function carryDefaultSql(
  table: TableName,
  column: string,
  expression: string,
  type: string,
): string {
  const set = `ALTER TABLE ${qualified(table)} ALTER COLUMN ${quoteIdent(column)} SET DEFAULT`;
  const cast = `(${expression})::${type}`;
  return doBlock(
    `BEGIN EXECUTE ${quoteLiteral(`${set} ${expression}`)}; EXCEPTION WHEN datatype_mismatch THEN BEGIN EXECUTE ${quoteLiteral(`SELECT ${cast}`)}; EXECUTE ${quoteLiteral(`${set} ${cast}`)}; EXCEPTION WHEN OTHERS THEN NULL; END; END;`,
  );
}

/** Copies a column's comment (read live: the catalog snapshot has none) onto another column. */
export function copyCommentSql(table: TableName, from: string, to: string): string {
  const t = quoteLiteral(qualified(table));
  return doBlock(
    `DECLARE c text := col_description(${t}::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = ${t}::regclass AND attname = ${quoteLiteral(from)})); BEGIN IF c IS NOT NULL THEN EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', ${t}, ${quoteLiteral(to)}, c); END IF; END;`,
  );
}

/** COMMENT ON TABLE (NULL removes it). */
export function tableCommentSql(table: TableName, comment: string | null): string {
  return `COMMENT ON TABLE ${qualified(table)} IS ${comment === null ? 'NULL' : quoteLiteral(comment)}`;
}

/** COMMENT ON COLUMN. */
export function commentSql(table: TableName, column: string, comment: string): string {
  return `COMMENT ON COLUMN ${qualified(table)}.${quoteIdent(column)} IS ${quoteLiteral(comment)}`;
}
