import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, fixture } from './helpers.js';
import { verify, WRITERS, Writers } from './writers.js';

const ROWS = 30_000;
describeEachServer('concurrent writers through the old and the new columns', (server) => {
  it('during start, backfill and complete: old = down(new) for every row, no update lost', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, ROWS));
    const clients = await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        return c;
      }),
    );
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    try {
      const writers = new Writers(clients, ROWS);
      writers.start();
      await sleep(200);
      const migration = await loadMigration(fixture('split-street.yaml'));
      let batches = 0;
      await startMigration(url, migration, {
        batchSize: 1000,
        onStep: (step) => {
          if (step.startsWith('backfill')) writers.newReady = true;
        },
        onProgress: () => {
          batches++;
        },
      });
      expect(batches).toBeGreaterThanOrEqual(30);
      await sleep(300);
      await writers.stop();
      expect(writers.errors).toEqual([]);
      expect(writers.writes.old).toBeGreaterThan(50);
      expect(writers.writes.new).toBeGreaterThan(20);
      expect(writers.writes.partial).toBeGreaterThan(5);
      await verify(check, writers, true);

      // Complete while they keep writing: old-column writes fail once the column is gone.
      writers.start();
      await sleep(200);
      const completed = await completeMigration(url, { force: true, quietForMs: 0 });
      expect(completed.outcome).toBe('completed');
      await sleep(300);
      await writers.stop();
      expect(writers.errors).toEqual([]);
      expect(writers.oldGone).toBe(true);
      await verify(check, writers, false);
    } finally {
      for (const c of [...clients, check]) await c.end();
    }
  });
});
