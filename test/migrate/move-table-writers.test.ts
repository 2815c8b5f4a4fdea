import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createBatchTables, MOVE_FILE, MoveWriters } from './move-table-fixture.js';

const ROWS = 20_000;

async function clients(url: string, n: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
}

/** Old code: the old name qualified, and bare through the default search_path; new code: the new schema first in search_path. */
function writersOn(cs: pg.Client[]): MoveWriters {
  return new MoveWriters([
    { client: cs[0]!, name: 'public."Batch Changes"' },
    { client: cs[1]!, name: 'public."Batch Changes"' },
    { client: cs[2]!, name: '"Batch Changes"' },
    { client: cs[3]!, name: '"Batch Changes"', searchPath: '"Batches", public' },
    { client: cs[4]!, name: '"Batch Changes"', searchPath: '"Batches", public' },
  ]);
}

describeEachServer('move_table under writers through the old name and the new', (server) => {
  it('start → complete: 0 errors, every row present exactly once', async () => {
    const url = await server().createDatabase();
    const cs = await clients(url, 6);
    const check = cs[5]!;
    await createBatchTables(check, ROWS);
    const writers = writersOn(cs);
    try {
      await writers.start();
      await sleep(300);
      const migration = await parseMigration(MOVE_FILE, '/virtual/move.yaml');
      await startMigration(url, migration, { lockTimeoutMs: 500 });
      await sleep(500);
      const afterStart = writers.writes;
      // Old code is deployed away from the old name; new code keeps writing through complete.
      await writers.stop([0, 1, 2]);
      await completeMigration(url, { force: true, lockTimeoutMs: 500 });
      await sleep(300);
      await writers.stop();
      expect(writers.errors).toEqual([]);
      expect(afterStart).toBeGreaterThan(20);
      expect(writers.writes).toBeGreaterThan(afterStart);
      expect(await writers.verify(check, '"Batches"."Batch Changes"')).toEqual([]);
      const seeded = await check.query(
        `SELECT count(*)::int AS n FROM "Batches"."Batch Changes" WHERE "Key" ~ '^k[0-9]+$'`,
      );
      expect(seeded.rows[0].n).toBe(ROWS);
    } finally {
      await writers.stop();
      await Promise.all(cs.map((c) => c.end()));
    }
  }, 180_000);

  it('start → rollback: old and new code keep writing throughout, 0 errors', async () => {
    const url = await server().createDatabase();
    const cs = await clients(url, 6);
    const check = cs[5]!;
    await createBatchTables(check, ROWS);
    const writers = writersOn(cs);
    try {
      await writers.start();
      await sleep(300);
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'), {
        lockTimeoutMs: 500,
      });
      await sleep(500);
      await rollbackMigration(url, { lockTimeoutMs: 500 });
      await sleep(300);
      await writers.stop();
      expect(writers.errors).toEqual([]);
      expect(await writers.verify(check, 'public."Batch Changes"')).toEqual([]);
      const kind = await check.query(
        `SELECT relkind FROM pg_class WHERE oid = 'public."Batch Changes"'::regclass`,
      );
      expect(kind.rows).toEqual([{ relkind: 'r' }]);
    } finally {
      await writers.stop();
      await Promise.all(cs.map((c) => c.end()));
    }
  }, 180_000);
});
