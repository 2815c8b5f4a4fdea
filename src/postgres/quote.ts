/**
 * The one place identifiers and literals are quoted. Values normally travel as
 * parameters; literals are only for utility statements (ALTER ROLE ... SET,
 * CREATE ROLE ... PASSWORD) where Postgres accepts no parameters.
 */

/** Quotes an identifier exactly as Postgres's quote_ident does, always. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL byte');
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a possibly schema-qualified name given as parts. */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** Quotes a string literal (standard_conforming_strings on, the default since 9.1). */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('literal contains a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}
