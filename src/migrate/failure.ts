import { PgpactError, PostgresError } from '../errors.js';

/**
 * A migration command that stopped half way says where it stopped and the way out: the
 * bookkeeping keeps its place, so the way out is always one named pgpact command.
 */

/** `error` as MIGRATION_FAILED with `wayOut` as its hint; errors that already say what to do pass unchanged. */
export function stopped(error: unknown, what: string, wayOut: string): unknown {
  if (error instanceof PgpactError && !(error instanceof PostgresError)) return error;
  // An interrupt (Ctrl-C) is not a failure: the CLI reports it.
  if ((error as { name?: string } | undefined)?.name === 'AbortError') return error;
  const pg = error instanceof PostgresError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const detail = [
    pg?.pg.detail,
    pg?.pg.hint === undefined ? undefined : `server hint: ${pg.pg.hint}`,
    pg?.sql === undefined ? undefined : `statement: ${pg.sql.replace(/\s+/g, ' ').slice(0, 300)}`,
  ].filter((line): line is string => line !== undefined && line !== '');
  return new PgpactError(
    'MIGRATION_FAILED',
    `${what} stopped: ${message}${pg?.pg.code ? ` (SQLSTATE ${pg.pg.code})` : ''}`,
    {
      ...(detail.length > 0 ? { detail: detail.join('\n') } : {}),
      hint: wayOut,
      cause: error,
    },
  );
}
