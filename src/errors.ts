/** Stable error codes: part of pgpact's interface, mapped to exit codes only in the CLI. */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'MANIFEST_INVALID'
  | 'CONTRACT_MISMATCH'
  | 'DATABASE_UNREACHABLE'
  | 'POSTGRES_ERROR'
  | 'EMBEDDED_SERVER_FAILED'
  | 'EMBEDDED_SERVER_MISSING'
  | 'STATE_DIR_UNWRITABLE'
  | 'PG_STAT_STATEMENTS_MISSING'
  | 'INSUFFICIENT_PRIVILEGE'
  | 'SQL_SYNTAX'
  | 'APPLY_INCOMPLETE'
  | 'APPLY_IN_PROGRESS'
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

/** Renders a caret under the offending column of one line of text. */
export function caretAt(text: string, position: number): { line: number; column: number; excerpt: string } {
  const before = text.slice(0, Math.max(0, position - 1));
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = position - lineStart;
  const lineEnd = text.indexOf('\n', lineStart);
  const lineText = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const excerpt = `${lineText}\n${' '.repeat(Math.max(0, column - 1))}^`;
  return { line, column, excerpt };
}
