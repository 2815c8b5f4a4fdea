/**
 * Table references in contracts: `schema.table`. Each part is either plain,
 * taken literally as written (case preserved, no folding to lower case, no
 * trimming), or double-quoted like SQL (`"My Schema"."Tab.le"`, `""` for a
 * quote) when the name contains a dot or a double quote.
 */

/** A parsed `schema.table`, or why it could not be parsed. */
export type TableRefResult =
  | { ok: true; schema: string; table: string }
  | { ok: false; message: string };

function readPart(
  text: string,
  start: number,
): { ok: true; name: string; end: number } | { ok: false; message: string } {
  if (text[start] === '"') {
    let name = '';
    let i = start + 1;
    while (i < text.length) {
      if (text[i] === '"') {
        if (text[i + 1] === '"') {
          name += '"';
          i += 2;
          continue;
        }
        return { ok: true, name, end: i + 1 };
      }
      name += text[i];
      i++;
    }
    return { ok: false, message: 'a double quote is not closed' };
  }
  let end = start;
  while (end < text.length && text[end] !== '.') {
    if (text[end] === '"') {
      return { ok: false, message: 'a double quote appears inside an unquoted name' };
    }
    end++;
  }
  return { ok: true, name: text.slice(start, end), end };
}

/** Parses `schema.table` (parts optionally double-quoted). */
export function parseTableRef(text: string): TableRefResult {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    const part = readPart(text, i);
    if (!part.ok) return part;
    parts.push(part.name);
    i = part.end;
    if (i === text.length) break;
    if (text[i] !== '.')
      return { ok: false, message: 'a quoted name must be followed by `.` or end the reference' };
    i++;
  }
  if (parts.length !== 2) {
    return {
      ok: false,
      message:
        parts.length === 1
          ? 'the schema is missing'
          : `it has ${parts.length} dot-separated parts instead of 2`,
    };
  }
  if (parts[0] === '') return { ok: false, message: 'the schema name is empty' };
  if (parts[1] === '') return { ok: false, message: 'the table name is empty' };
  return { ok: true, schema: parts[0]!, table: parts[1]! };
}

/**
 * Writes one part of a table reference: plain when it holds only letters,
 * digits, `_`, `$` and `-`, double-quoted otherwise (quoting is never wrong,
 * and makes spaces and dots visible in messages).
 */
export function formatRefPart(name: string): string {
  return /^[\p{L}\p{N}_$-]+$/u.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** Writes `schema.table` so that parseTableRef reads back the same names. */
export function formatTableRef(schema: string, table: string): string {
  return `${formatRefPart(schema)}.${formatRefPart(table)}`;
}
