/**
 * Table patterns in `owns:`: `schema.table`, where an unquoted table part may
 * use `*` for any run of characters (`public.batch_*`). A quoted part is taken
 * literally (`"Public"."Weird*Name"` names one table with a star in its name).
 */
import { parseTableRef } from './table-ref.js';
import type { SourceLocation } from './types.js';

/** A table pattern a service owns, inside a schema that may hold other services' tables. */
export interface TablePattern {
  schema: string;
  /** The table part; `*` is a wildcard unless `literal`. */
  table: string;
  /** The table part was double-quoted: `*` in it is a character, not a wildcard. */
  literal: boolean;
  /** The entry as written, for messages. */
  text: string;
  location: SourceLocation;
}

/** An entry of `owns:` read as a schema name or a table pattern, or why it is neither. */
export type OwnsEntry =
  | { kind: 'schema'; name: string }
  | { kind: 'table'; schema: string; table: string; literal: boolean }
  | { kind: 'invalid'; message: string };

/**
 * Reads an `owns:` entry: one part (`users`, `"my.schema"`) is a schema, two parts
 * (`public.batch_*`, `"Public"."Weird.Name"`) a table pattern.
 */
export function readOwnsEntry(text: string): OwnsEntry {
  const quotedWhole = /^"(?:[^"]|"")*"$/.test(text);
  if (quotedWhole) return { kind: 'schema', name: text.slice(1, -1).replaceAll('""', '"') };
  if (!text.includes('.')) return { kind: 'schema', name: text };
  const ref = parseTableRef(text);
  if (!ref.ok) return { kind: 'invalid', message: ref.message };
  // An unquoted part never holds a double quote, so a quoted table part is the one ending the text.
  const literal = text.endsWith('"');
  const schemaQuoted = text.startsWith('"');
  if (!schemaQuoted && ref.schema.includes('*'))
    return { kind: 'invalid', message: 'the schema part may not use `*`: list the schema itself' };
  return { kind: 'table', schema: ref.schema, table: ref.table, literal };
}

/** Whether a table name matches a pattern's table part. */
export function matchesTablePattern(
  pattern: Pick<TablePattern, 'table' | 'literal'>,
  name: string,
): boolean {
  if (pattern.literal || !pattern.table.includes('*')) return pattern.table === name;
  const parts = pattern.table.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!name.startsWith(first) || name.length < first.length + last.length) return false;
  if (!name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found === -1 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/** The characters of a pattern's table part: each a literal character or a star. */
function tokens(pattern: Pick<TablePattern, 'table' | 'literal'>): (string | null)[] {
  return [...pattern.table].map((c) => (c === '*' && !pattern.literal ? null : c));
}

/**
 * A table name both patterns match, if one exists (the two then claim the same tables);
 * undefined when no name matches both.
 */
export function commonTableName(
  a: Pick<TablePattern, 'table' | 'literal'>,
  b: Pick<TablePattern, 'table' | 'literal'>,
): string | undefined {
  const x = tokens(a);
  const y = tokens(b);
  // solve(i, j): a name matching both rests x[i..] and y[j..]; each step advances i or j.
  const key = (i: number, j: number) => i * (y.length + 1) + j;
  const memo = new Map<number, string | null>();
  const solve = (i: number, j: number): string | null => {
    const k = key(i, j);
    if (memo.has(k)) return memo.get(k)!;
    let result: string | null = null;
    if (i === x.length && j === y.length) result = '';
    else if (i < x.length && x[i] === null) {
      // The star matches nothing, or one character the other side consumes.
      result = solve(i + 1, j);
      if (result === null && j < y.length) {
        const r = solve(i, j + 1);
        if (r !== null) result = (y[j] ?? '') + r;
      }
    } else if (j < y.length && y[j] === null) {
      result = solve(i, j + 1);
      if (result === null && i < x.length) {
        const r = solve(i + 1, j);
        if (r !== null) result = (x[i] ?? '') + r;
      }
    } else if (i < x.length && j < y.length && x[i] === y[j]) {
      const r = solve(i + 1, j + 1);
      if (r !== null) result = x[i]! + r;
    }
    memo.set(k, result);
    return result;
  };
  const witness = solve(0, 0);
  // Two patterns of stars alone both match the empty string, and every name.
  return witness === null ? undefined : witness || 'x';
}

/** Writes a schema name as an `owns:` entry that readOwnsEntry reads back as that schema. */
export function formatOwnedSchema(name: string): string {
  return name.includes('.') || name.startsWith('"') ? `"${name.replaceAll('"', '""')}"` : name;
}
