import type pg from 'pg';
import { withClient } from '../postgres/client.js';
import type { RetryPolicy } from './sql-run.js';
import type { RunOptions } from './types.js';

/** Defaults of the migration commands. */
export const DEFAULTS = {
  batchSize: 10_000,
  lockTimeoutMs: 2_000,
  maxAttempts: 8,
  lockWaitMs: 10_000,
} as const;

/** Runs fn on a connection set up for migrating: named `pgpact migrate`, no statement or idle timeouts. */
export async function withMigrationSession<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  return withClient(
    url,
    async (client) => {
      // A role's own limits (pgpact provisions statement_timeout per service) must not cut an index build short.
      // Literals and the file's SQL were checked by a parser that reads backslashes as
      // standard_conforming_strings = on does: the server must read them the same way.
      await client.query(
        'SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET standard_conforming_strings = on',
      );
      return fn(client);
    },
    { applicationName: 'pgpact migrate' },
  );
}

/** The retry policy from the run options. */
export function retryPolicy(options: RunOptions): RetryPolicy {
  return {
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
    ...(options.signal ? { signal: options.signal } : {}),
    onRetry: (attempt, delayMs, error) =>
      options.onStep?.(
        `  lock not granted within lock_timeout (${(error as Error).message}); retry ${attempt} in ${Math.round(delayMs)} ms`,
      ),
  };
}
