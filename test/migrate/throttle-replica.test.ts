import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { pauseBackfill, resumeBackfill } from '../../src/migrate/throttle.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { systemBinaries } from '../../src/postgres/local-server.js';
import { type Standby, startThrowawayStandby } from '../../src/replica/throwaway-standby.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { waitFor } from '../runtime/helpers.js';
import { createAccounts, fixture } from './helpers.js';

// A real streaming standby (PG 15, as the replica tests): under CI it must be there.
const pg15 = systemBinaries('/usr/lib/postgresql/15/bin') !== undefined;
const available = pg15 || process.env.CI === 'true';

async function saved(url: string): Promise<{ rowsDone: number; throttledBy?: string }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT (backfill->'users.account'->>'rowsDone')::int AS "rowsDone",
              backfill->'users.account'->'pace'->>'throttledBy' AS "throttledBy"
       FROM pgpact.migrations`,
    );
    return rows[0] ?? { rowsDone: 0 };
  });
}

describe.skipIf(!available)('backfill throttled on replica lag [PG 15 primary and standby]', () => {
  let primary: TestServer;
  let standby: Standby;

  beforeAll(async () => {
    if (!pg15)
      throw new Error('PostgreSQL 15 is not installed in /usr/lib/postgresql/15/bin (CI=true)');
    primary = await startTestServer('PG 15');
    standby = await startThrowawayStandby(primary, { wal_receiver_status_interval: '1s' });
  }, 120_000);

  afterAll(async () => {
    await standby?.destroy();
    await primary?.destroy();
  });

  /** A database with the accounts table, there on the standby too. */
  async function database(): Promise<{ url: string; onStandby: string }> {
    const url = await primary.createDatabase('lag');
    await withClient(url, (c) => createAccounts(c, 20_000));
    const onStandby = urlWith(standby.url, { database: new URL(url).pathname.slice(1) });
    await waitFor(
      () =>
        withClient(onStandby, (c) => c.query('SELECT count(*)::int AS n FROM users.account')).then(
          (r) => (r.rows[0].n === 20_000 ? true : undefined),
          () => undefined,
        ),
      60_000,
      'the table on the standby',
    );
    return { url, onStandby };
  }

  for (const [where, withReplicas] of [
    ['asking the replica pgpact reads (--replica)', true],
    ['from pg_stat_replication on the primary (no replica given)', false],
  ] as const) {
    it(`waits while the standby's replay is paused, goes on once it replays: ${where}`, async () => {
      const { url, onStandby } = await database();
      await withClient(standby.url, (c) => c.query('SELECT pg_wal_replay_pause()'));
      try {
        // WAL the standby receives but does not replay; its last replayed commit ages.
        await withClient(url, (c) =>
          c.query('UPDATE users.account SET hits = hits + 1 WHERE id = 1'),
        );
        // An operator's pause holds the backfill (checking every 100 ms) until the standby is over a
        // second behind: on a quiet machine the 20,000 rows are done sooner than that. (Without a
        // replica given, the primary learns how old the unreplayed WAL is from its own checks.)
        await pauseBackfill(url, 'until the standby is behind');
        const messages: string[] = [];
        const done = startMigration(url, await loadMigration(fixture('split-street.yaml')), {
          batchSize: 1_000,
          throttle: {
            maxReplicaLagMs: 1_000,
            checkIntervalMs: 100,
            ...(withReplicas ? { replicas: [{ url: onStandby, label: 'standby-1' }] } : {}),
          },
          onThrottle: (m) => messages.push(m),
        });
        done.catch(() => undefined);
        await waitFor(
          async () => ((await saved(url).catch(() => undefined))?.throttledBy ? true : undefined),
          60_000,
          'the operator pause',
        );
        await new Promise((r) => setTimeout(r, 1_500));
        await resumeBackfill(url);
        const reason = await waitFor(
          async () => {
            const s = await saved(url).catch(() => undefined);
            return s?.throttledBy && /^replica/.test(s.throttledBy) ? s.throttledBy : undefined;
          },
          60_000,
          'the backfill throttled',
        );
        expect(reason).toMatch(
          withReplicas
            ? /^replica standby-1 lags \d+\.\ds > --max-replica-lag 1\.0s$/
            : /^replica .+ lags \d+\.\ds > --max-replica-lag 1\.0s$/,
        );
        const before = await saved(url);
        await new Promise((r) => setTimeout(r, 1_500));
        expect((await saved(url)).rowsDone).toBe(before.rowsDone);
        await withClient(standby.url, (c) => c.query('SELECT pg_wal_replay_resume()'));
        const result = await done;
        expect(result.backfill[0]?.done).toBe(true);
        expect(messages.some((m) => /throttled: replica .+ lags/.test(m))).toBe(true);
        expect(messages.some((m) => /resumed after/.test(m))).toBe(true);
      } finally {
        await withClient(standby.url, (c) => c.query('SELECT pg_wal_replay_resume()')).catch(
          () => undefined,
        );
      }
    }, 120_000);
  }
});
