/** Stable error codes: part of pgpact's interface, mapped to exit codes only in the CLI. */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'MANIFEST_INVALID'
  | 'CONTRACT_MISMATCH'
  | 'DATABASE_UNREACHABLE'
  | 'DATABASE_URL_INVALID'
  | 'DATABASE_NOT_FOUND'
  | 'AUTHENTICATION_FAILED'
  | 'CONNECTION_LOST'
  | 'ENVIRONMENT'
  | 'INTERRUPTED'
  | 'INPUT_TOO_LARGE'
  | 'INPUT_NOT_TEXT'
  | 'SQL_EMPTY'
  | 'POSTGRES_ERROR'
  | 'EMBEDDED_SERVER_FAILED'
  | 'EMBEDDED_SERVER_MISSING'
  | 'STATE_DIR_UNWRITABLE'
  | 'PG_STAT_STATEMENTS_MISSING'
  | 'INSUFFICIENT_PRIVILEGE'
  | 'SQL_SYNTAX'
  | 'APPLY_INCOMPLETE'
  | 'APPLY_IN_PROGRESS'
  | 'REVOKE_IN_USE'
  | 'CREDENTIALS_MISSING'
  | 'MIGRATION_FAILED'
  | 'MIGRATION_INVALID'
  | 'MIGRATION_IN_PROGRESS'
  | 'MIGRATION_NOT_FOUND'
  | 'MIGRATION_BLOCKED'
  | 'MIGRATION_UNVERIFIED'
  | 'MIGRATION_LOCK_TIMEOUT'
  | 'DEMO_FAILED'
  | 'USAGE_FILE_INVALID'
  | 'PGBOUNCER_MISSING'
  | 'POOL_FAILED'
  | 'REPLICA_UNREACHABLE'
  | 'INTERNAL';

/** One located problem in an input file (manifest, migration, SQL). */
export interface Problem {
  code: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
}

/** The base error of pgpact: a stable code, a message saying what to do next, optional problems. */
export class PgpactError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly problems: Problem[];
  readonly detail?: string;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; problems?: Problem[]; detail?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PgpactError';
    this.code = code;
    this.hint = options.hint;
    this.problems = options.problems ?? [];
    this.detail = options.detail;
  }
}

/** The fields a Postgres server sends with an error, kept intact. */
export interface PostgresErrorFields {
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/** A Postgres error raised while pgpact ran SQL: the server's fields and the SQL that failed. */
export class PostgresError extends PgpactError {
  readonly pg: PostgresErrorFields;
  readonly sql?: string;

  constructor(message: string, pg: PostgresErrorFields, sql?: string, cause?: unknown) {
    super('POSTGRES_ERROR', message, { hint: pg.hint, detail: pg.detail, cause });
    this.name = 'PostgresError';
    this.pg = pg;
    this.sql = sql;
  }
}

/** True when a value looks like an error thrown by node-postgres for a server error. */
export function isServerError(error: unknown): error is Error & PostgresErrorFields {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((error as unknown as { code: string }).code)
  );
}

/** Wraps a node-postgres server error into a PostgresError, keeping every field. */
export function toPostgresError(error: unknown, sql?: string): unknown {
  if (!isServerError(error)) return error;
  const { code, detail, hint, position, where, schema, table, column, constraint } = error;
  return new PostgresError(
    error.message,
    { code, detail, hint, position, where, schema, table, column, constraint },
    sql,
    error,
  );
}

/** Whether a character would act on a terminal (C0/C1 controls, DEL, bidi overrides) rather than print. */
function isControl(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** One character as it is shown: controls escaped (\x1b, \u202e), a tab as one space. */
function shownChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\t') return ' ';
  if (!isControl(code)) return ch;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/** Text safe to print on a terminal: every control character (newline included) escaped. */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) out += shownChar(ch);
  return out;
}

/** Longest source line shown whole under an error; longer ones are cut around the column. */
const EXCERPT_WIDTH = 160;

/** Renders a caret under the offending column of one line of text (controls escaped, long lines cut). */
export function caretAt(
  text: string,
  position: number,
): { line: number; column: number; excerpt: string } {
  const before = text.slice(0, Math.max(0, position - 1));
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = position - lineStart;
  const lineEnd = text.indexOf('\n', lineStart);
  const lineText = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).replace(/\r$/, '');
  // The visible window: the whole line, or EXCERPT_WIDTH characters around the column.
  let from = 0;
  let to = lineText.length;
  if (lineText.length > EXCERPT_WIDTH) {
    from = Math.max(0, Math.min(column - 1 - EXCERPT_WIDTH / 2, lineText.length - EXCERPT_WIDTH));
    to = Math.min(lineText.length, from + EXCERPT_WIDTH);
  }
  let shown = from > 0 ? '…' : '';
  let caret = shown.length;
  for (let i = from; i < to; i++) {
    const piece = shownChar(lineText[i]!);
    if (i < column - 1) caret += piece.length;
    shown += piece;
  }
  if (to < lineText.length) shown += '…';
  const excerpt = `${shown}\n${' '.repeat(Math.max(0, caret))}^`;
  return { line, column, excerpt };
}

const CONNECTION_LOST_SQLSTATES: Record<string, string> = {
  '57P01': 'the server was shut down by an administrator',
  '57P02': 'the server crashed and is restarting',
  '57P03': 'the server is not accepting connections (starting up or shutting down)',
  '57P05': 'the session was closed for being idle',
  '08000': 'the connection failed',
  '08003': 'the connection does not exist',
  '08006': 'the connection failed',
};

const ENOENT_LIKE: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
};

const LOST_MESSAGES =
  /Connection terminated( unexpectedly)?|not queryable|Client was closed|connection (was )?closed/i;

/**
 * An interrupt or a failure of the environment (the disk, permissions, the database going
 * away) as a PgpactError saying what happened, not a bug report; undefined for anything else.
 */
export function environmentError(error: unknown): PgpactError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof PgpactError && error.code !== 'POSTGRES_ERROR') return undefined;
  if (error.name === 'AbortError') {
    return new PgpactError('INTERRUPTED', 'interrupted', { cause: error });
  }
  const pgCode =
    error instanceof PostgresError ? error.pg.code : isServerError(error) ? error.code : undefined;
  if (pgCode !== undefined) {
    const what = CONNECTION_LOST_SQLSTATES[pgCode];
    if (what === undefined) return undefined;
    return new PgpactError('CONNECTION_LOST', `lost the database connection: ${what}`, {
      detail: `${error.message} (SQLSTATE ${pgCode})`,
      hint: 'check that the server is up again (pgpact db status for the embedded one), then run the command again',
      cause: error,
    });
  }
  const sys = error as NodeJS.ErrnoException;
  const where = sys.path ? ` ${sys.path}` : '';
  const action = sys.syscall ? ` (${sys.syscall}${where})` : where;
  switch (sys.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new PgpactError('ENVIRONMENT', `no space left on the device${action}`, {
        hint: 'free disk space (or point PGPACT_HOME at another disk), then run the command again',
        cause: error,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new PgpactError(
        'ENVIRONMENT',
        `permission denied${action}${sys.code === 'EROFS' ? ': read-only file system' : ''}`,
        {
          hint: `make${where || ' it'} writable for this user, or point PGPACT_HOME at a writable directory`,
          cause: error,
        },
      );
    case 'EMFILE':
    case 'ENFILE':
      return new PgpactError('ENVIRONMENT', `too many open files${action}`, {
        hint: 'raise the limit (ulimit -n) or close other programs, then run the command again',
        cause: error,
      });
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      if (sys.syscall === undefined) break;
      return new PgpactError('ENVIRONMENT', `${ENOENT_LIKE[sys.code]}${action}`, {
        hint: 'check the path (and PGPACT_HOME)',
        cause: error,
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      return new PgpactError('CONNECTION_LOST', `lost the database connection (${sys.code})`, {
        hint: 'check that the server is up (pgpact db status for the embedded one), then run the command again',
        cause: error,
      });
    default:
      break;
  }
  if (LOST_MESSAGES.test(error.message)) {
    return new PgpactError('CONNECTION_LOST', `lost the database connection: ${error.message}`, {
      hint: 'the server went away mid-command: check that it is up (pgpact db status for the embedded one), then run the command again',
      cause: error,
    });
  }
  return undefined;
}
