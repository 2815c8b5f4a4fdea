import { caretAt, PgpactError, PostgresError, printable } from '../errors.js';
import { withholdSecretLines } from '../sql/secret-statements.js';

/** How to pick up after a command stopped half-way, per command. */
function resumeHint(command: string | undefined, args: readonly string[]): string {
  switch (command) {
    case 'migrate':
      return args[0] === 'status'
        ? 'run `pgpact migrate status` again'
        : '`pgpact migrate status` shows where the migration stands and the command that continues it (running the same command again resumes it)';
    case 'apply':
      return 'the provisioning transaction was rolled back if it had not committed: `pgpact plan` shows what is left, `pgpact apply` again finishes it';
    case 'check':
    case 'analyze':
      return 'nothing was changed (the shadow Postgres is removed); run the command again';
    case 'demo':
      return 'run `pgpact demo` again';
    default:
      return 'run the command again';
  }
}

/** The message for a command stopped by Ctrl-C (or SIGTERM, or a closed stdout): what happened and how to resume. */
export function formatInterrupted(
  command: string | undefined,
  args: readonly string[],
  reason?: unknown,
): string {
  const why = reason instanceof PgpactError ? reason.message : 'interrupted';
  return `error [INTERRUPTED]: pgpact ${command ?? ''} stopped: ${why}\n  hint: ${resumeHint(command, args)}\n`;
}

/**
 * Renders any error for a person: code, message, located problems, Postgres fields; never a
 * stack trace. With the command, errors of the environment (CONNECTION_LOST, ENVIRONMENT)
 * also say how to resume.
 */
export function formatError(
  error: unknown,
  command?: string,
  args: readonly string[] = [],
): string {
  // Messages quote input (parser messages, file names): nothing in them may drive the terminal.
  const text = formatErrorOnly(error).split('\n').map(printable).join('\n');
  if (
    error instanceof PgpactError &&
    (error.code === 'CONNECTION_LOST' || error.code === 'ENVIRONMENT') &&
    command
  ) {
    return `${text}  to resume: ${resumeHint(command, args)}\n`;
  }
  return text;
}

function formatErrorOnly(error: unknown): string {
  if (error instanceof PostgresError) {
    const lines = [`error: ${error.message}${error.pg.code ? ` (SQLSTATE ${error.pg.code})` : ''}`];
    if (error.sql && error.pg.position) {
      const { line, excerpt } = caretAt(error.sql, Number(error.pg.position));
      // A statement setting a password shows where it failed, never the password.
      const shown = withholdSecretLines(excerpt);
      lines.push(
        `  at line ${line} of the statement:`,
        ...shown.split('\n').map((l) => `    ${l}`),
      );
    }
    if (error.pg.detail) lines.push(`  detail: ${error.pg.detail}`);
    if (error.pg.hint) lines.push(`  hint: ${error.pg.hint}`);
    return `${lines.join('\n')}\n`;
  }
  if (error instanceof PgpactError) {
    const lines = [`error [${error.code}]: ${error.message}`];
    for (const p of error.problems) {
      const where = p.file
        ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}: `
        : '';
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
