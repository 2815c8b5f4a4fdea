import { setTimeout as sleep } from 'node:timers/promises';
import { isServerError, PgpactError, toPostgresError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';

/**
 * The comment pgpact migrate puts on its statements so that the observed-usage
 * check can tell pgpact's own reads of the old columns (the backfill) from a
 * consumer's in pg_stat_statements.
 */
export const MARKER = '/* pgpact migrate */';

/** A statement with the marker at its end, where pg_stat_statements keeps it (a leading comment is cut off). */
export function marked(sql: string): string {
  return `${sql}\n${MARKER}`;
}

/** Whether a statement text (as pg_stat_statements keeps it) was sent by pgpact migrate. */
export function isMarked(query: string): boolean {
  return query.trimEnd().endsWith(MARKER) || query.trimStart().startsWith(MARKER);
}

/** SQLSTATEs worth retrying: lock_timeout, deadlock, serialization failure. */
const RETRYABLE = new Set(['55P03', '40P01', '40001']);

/** Whether an error is a lock wait that gave up (or a deadlock) and can be retried after a pause. */
export function isRetryable(error: unknown): boolean {
  const pg =
    (error as { pg?: { code?: string } }).pg?.code ??
    (isServerError(error) ? error.code : undefined);
  return pg !== undefined && RETRYABLE.has(pg);
}

/** How a step retries when it cannot get its locks within lock_timeout. */
export interface RetryPolicy {
  lockTimeoutMs: number;
  maxAttempts: number;
  signal?: AbortSignal;
  /** Told about each failed attempt, e.g. to print "waiting for a lock". */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** Runs fn, retrying lock timeouts and deadlocks with exponential backoff and jitter. */
export async function withRetry<T>(
  policy: RetryPolicy,
  what: string,
  client: Queryable,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    policy.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error)) throw toPostgresError(error);
      if (attempt >= policy.maxAttempts) {
        const blockers = await describeBlockers(client).catch(() => '');
        throw new PgpactError(
          'MIGRATION_LOCK_TIMEOUT',
          `${what}: could not get its locks within lock_timeout after ${attempt} attempts`,
          {
            ...(blockers ? { detail: blockers } : {}),
            hint: 'long transactions hold the table: end them, or raise --lock-timeout; rerun the same command to resume',
            cause: error,
          },
        );
      }
      const delay = Math.min(250 * 2 ** (attempt - 1), 10_000) * (0.5 + Math.random() / 2);
      policy.onRetry?.(attempt, delay, error);
      await sleep(delay, undefined, policy.signal ? { signal: policy.signal } : undefined);
    }
  }
}

/** The oldest open transactions of the database: the usual holders of the locks DDL waits for. */
async function describeBlockers(client: Queryable): Promise<string> {
  const { rows } = await client.query<{
    pid: number;
    usename: string;
    app: string;
    state: string;
    age: string;
    query: string;
  }>(
    `${MARKER} SELECT pid, usename, application_name AS app, state, date_trunc('second', now() - xact_start)::text AS age,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
     FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
     ORDER BY xact_start LIMIT 5`,
  );
  return rows
    .map(
      (r) =>
        `open transaction: pid ${r.pid} (${r.usename}, ${r.app || 'no application_name'}, ${r.state}, for ${r.age}): ${r.query}`,
    )
    .join('\n');
}
