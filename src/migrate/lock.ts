import { setTimeout as sleep } from 'node:timers/promises';
import { PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import { MARKER } from './sql-run.js';

/** The advisory lock key: one migration command at a time per database. */
export const MIGRATION_LOCK_KEY = 'pgpact migrate';

/**
 * Runs fn holding the session-level migration lock. A killed pgpact's session
 * can hold the lock until its server process notices the client is gone (after
 * the statement it was running), so this waits up to waitMs before giving up.
 */
export async function withMigrationLock<T>(
  client: Queryable,
  waitMs: number,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(
      `${MARKER} SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`,
      [MIGRATION_LOCK_KEY],
    );
    if (rows[0]?.locked) break;
    if (Date.now() >= deadline) {
      const holder = await client.query<{
        pid: number;
        app: string;
        usename: string;
        state: string;
        since: string;
      }>(
        `${MARKER} SELECT a.pid, a.application_name AS app, a.usename, a.state, date_trunc('second', now() - a.backend_start)::text AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
        [MIGRATION_LOCK_KEY],
      );
      const h = holder.rows[0];
      throw new PgpactError(
        'MIGRATION_IN_PROGRESS',
        'another pgpact migrate command is running on this database',
        {
          ...(h
            ? {
                detail: `held by pid ${h.pid} (${h.usename}, ${h.app || 'no application_name'}, ${h.state}, connected for ${h.since})`,
              }
            : {}),
          hint: 'wait for it to finish; if that process is gone, its session ends with its current statement',
        },
      );
    }
    await sleep(200, undefined, signal ? { signal } : undefined);
  }
  try {
    return await fn();
  } finally {
    await client
      .query(`${MARKER} SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
  }
}
