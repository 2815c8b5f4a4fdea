import { caretAt, PgpactError, PostgresError } from '../errors.js';
import { withholdSecretLines } from '../sql/secret-statements.js';

/** Renders any error for a person: code, message, located problems, Postgres fields; never a stack trace. */
export function formatError(error: unknown): string {
  if (error instanceof PostgresError) {
    const lines = [`error: ${error.message}${error.pg.code ? ` (SQLSTATE ${error.pg.code})` : ''}`];
    if (error.sql && error.pg.position) {
      const { line, excerpt } = caretAt(error.sql, Number(error.pg.position));
      // A statement setting a password shows where it failed, never the password.
      const shown = withholdSecretLines(excerpt);
      lines.push(`  at line ${line} of the statement:`, ...shown.split('\n').map((l) => `    ${l}`));
    }
    if (error.pg.detail) lines.push(`  detail: ${error.pg.detail}`);
    if (error.pg.hint) lines.push(`  hint: ${error.pg.hint}`);
    return `${lines.join('\n')}\n`;
  }
  if (error instanceof PgpactError) {
    const lines = [`error [${error.code}]: ${error.message}`];
    for (const p of error.problems) {
      const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: ` : '';
      lines.push(`  ${where}${p.message} [${p.code}]`);
      if (p.hint) lines.push(`    hint: ${p.hint}`);
    }
    if (error.detail) lines.push(...error.detail.split('\n').map((l) => `  ${l}`));
    if (error.hint) lines.push(`  hint: ${error.hint}`);
    return `${lines.join('\n')}\n`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `error [INTERNAL]: ${message}\n  this is a bug in pgpact; set PGPACT_DEBUG=1 for the stack trace\n`;
}
