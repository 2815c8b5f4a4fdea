import { describe, expect, it } from 'vitest';
import { BatchSizer, WriterWatch } from '../../src/migrate/adaptive-batch.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { connect, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, fixture } from './helpers.js';

describe('adaptive batch size', () => {
  it('follows the target duration by at most x1.5 / ÷2 a batch, halves when writers waited, stays in bounds', () => {
    const sizer = new BatchSizer({ targetMs: 100 });
    expect(sizer.size).toBe(1_000);
    sizer.observe(20, 0); // far under target: grows by half, no more
    expect(sizer.size).toBe(1_500);
    sizer.observe(80, 0);
    expect(sizer.size).toBe(1_875);
    sizer.observe(1_000, 0); // far over: halves, no less
    expect(sizer.size).toBe(938);
    sizer.observe(10, 2); // fast, but two writers waited on its locks: halves
    expect(sizer.size).toBe(469);
    for (let i = 0; i < 20; i++) sizer.observe(1_000, 1);
    expect(sizer.size).toBe(100);
    for (let i = 0; i < 60; i++) sizer.observe(1, 0);
    expect(sizer.size).toBe(200_000);
  });

  it('a fixed --batch-size never changes', () => {
    const sizer = new BatchSizer({ fixed: 777, targetMs: 100 });
    sizer.observe(5_000, 3);
    sizer.observe(1, 0);
    expect(sizer.size).toBe(777);
    expect(sizer.adaptive).toBe(false);
  });
});

describeEachServer('writers blocked by a batch', (server) => {
  it('the watching session sees a writer waiting on the batch row lock, and none when nobody waits', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 100));
    const batch = await connect(url);
    const writer = await connect(url);
    const watchPid = (await batch.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const watch = await WriterWatch.open(url, watchPid);
    try {
      // A "batch" that updates a row and holds it for 1 s; a writer updates the same row meanwhile.
      const slowBatch = (async () => {
        await batch.query('BEGIN');
        await batch.query(`UPDATE users.account SET hits = hits + 1 WHERE id = 7`);
        await batch.query('SELECT pg_sleep(1)');
        await batch.query('COMMIT');
        return 'done';
      })();
      const waiting = (async () => {
        await new Promise((r) => setTimeout(r, 200));
        await writer.query('UPDATE users.account SET hits = hits + 1 WHERE id = 7');
      })();
      const seen = await watch.during(slowBatch, 50);
      await waiting;
      expect(seen).toEqual({ result: 'done', writersWaited: 1 });
      const quiet = await watch.during(
        batch.query('SELECT pg_sleep(0.3)').then(() => 'quiet'),
        50,
      );
      expect(quiet).toEqual({ result: 'quiet', writersWaited: 0 });
    } finally {
      await watch.close();
      await batch.end();
      await writer.end();
    }
  });

  it('an adaptive backfill records its batch size, which moved from the first one', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 50_000));
    const sizes = new Set<number>();
    await startMigration(url, await loadMigration(fixture('split-street.yaml')), {
      batchTimeMs: 50,
      onProgress: (p) => {
        if (p.pace?.batchSize !== undefined) sizes.add(p.pace.batchSize);
      },
    });
    expect(sizes.has(1_000)).toBe(true);
    expect(sizes.size).toBeGreaterThan(1);
  });
});
