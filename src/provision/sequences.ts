/** Which sequences a column's default draws from, so a declared writer can be granted USAGE on them. */
import type { CatalogSnapshot, ColumnInfo, RelationInfo } from '../catalog-types.js';

const NEXTVAL = /nextval\('((?:[^']|'')+)'::regclass\)/g;

/** Splits a regclass as Postgres prints it (`"My Schema".seq`, `seq`) into its names. */
export function parseQualifiedName(text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let name = '';
      i += 1;
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          name += '"';
          i += 2;
        } else if (text[i] === '"') {
          i += 1;
          break;
        } else {
          name += text[i];
          i += 1;
        }
      }
      parts.push(name);
    } else {
      const end = text.indexOf('.', i);
      parts.push(text.slice(i, end === -1 ? undefined : end));
      i = end === -1 ? text.length : end;
    }
    if (text[i] === '.') i += 1;
  }
  return parts;
}

/**
 * The sequences a column's default calls nextval() on. An unqualified name is
 * one visible on the reader's search path: its own schema, then public, then
 * the table's schema.
 */
export function sequencesOfColumn(
  catalog: CatalogSnapshot,
  table: RelationInfo,
  column: ColumnInfo,
): RelationInfo[] {
  if (column.default === undefined) return [];
  const found: RelationInfo[] = [];
  for (const match of column.default.matchAll(NEXTVAL)) {
    const parts = parseQualifiedName(match[1]!.replaceAll("''", "'"));
    const name = parts[parts.length - 1]!;
    const schemas =
      parts.length > 1
        ? [parts[parts.length - 2]!]
        : [catalog.currentUser ?? '', 'public', table.schema];
    for (const schema of schemas) {
      const sequence = catalog.relations.find(
        (r) => r.kind === 'sequence' && r.schema === schema && r.name === name,
      );
      if (sequence) {
        found.push(sequence);
        break;
      }
    }
  }
  return found;
}
