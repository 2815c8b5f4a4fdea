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

/** COMMENT ON COLUMN. */
export function commentSql(table: TableName, column: string, comment: string): string {
  return `COMMENT ON COLUMN ${qualified(table)}.${quoteIdent(column)} IS ${quoteLiteral(comment)}`;
}
