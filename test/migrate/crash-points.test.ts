import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { completeMigration } from '../../src/migrate/complete.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { describeEachServer } from '../helpers/postgres.js';
import {
  createItems,
  expectItemsCompleted,
  PGROLL_CRASH_MIGRATION,
} from './crash-pgroll-fixture.js';
import { columnsOf, runCli } from './helpers.js';
import { constraintsOf } from './schema-facts.js';

/**
 * Kills at chosen points instead of random ones (crash-pgroll.test.ts), so the one that lost
 * alter_column's new constraints (issue 14) is hit on every run.
 */

const ROWS = 2_000;

function migrationFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-crash-points-'));
  const file = path.join(dir, '01_items.yaml');
  fs.writeFileSync(file, PGROLL_CRASH_MIGRATION);
  return file;
}

/** The pid of a session of the database waiting for a lock on `relation`, once there is one. */
async function lockWaiter(url: string, relation: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await withClient(url, (c) =>
      c.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l WHERE NOT l.granted AND l.relation = $1::regclass
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [relation],
      ),
    );
    if (rows[0]) return rows[0].pid;
    await sleep(50);
  }
  throw new Error(`nobody waited for a lock on ${relation} within 60 s`);
}

describeEachServer('kills at chosen points of start and complete', (server) => {
  it('complete killed after its steps committed, before the record moved to the history: the rerun keeps the replaced column', async () => {
    const url = await server().createDatabase();
    await createItems(url, ROWS);
    const file = migrationFile();
    const common = ['--database-url', url, '--lock-timeout', '1s'];
    const start = await runCli(['migrate', 'start', file, ...common]);
    expect(start.code, start.stderr).toBe(0);
    await withClient(url, async (holder) => {
      // Holding the history makes complete stop exactly where it moves its record there.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE pgpact.migration_history IN SHARE MODE');
      const waiting = lockWaiter(url, 'pgpact.migration_history');
      const run = await runCli(['migrate', 'complete', '--force', ...common], {
        killWhen: waiting,
      });
      const waiter = await waiting;
      expect(run.signal, run.stderr).toBe('SIGKILL');
      // The killed client's statement dies with it, as if it had never been sent.
      await holder.query('SELECT pg_terminate_backend($1)', [waiter]);
      // Asked from another session: pg_stat_activity stays as it was within the holder's transaction.
      while (
        await withClient(url, (c) =>
          c
            .query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [waiter])
            .then((r) => r.rows.length > 0),
        )
      )
        await sleep(20);
      await holder.query('ROLLBACK');
    });
    await withClient(url, async (c) => {
      const { rows } = await c.query('SELECT phase FROM pgpact.migrations');
      expect(rows).toEqual([{ phase: 'completing' }]);
      expect(await columnsOf(c, 'public', 'items')).toEqual(['id', 'qty', 'owner', 'label', 'sku']);
      expect(Object.keys(await constraintsOf(c, 'items'))).toContain('items_sku_unique');
    });
    const again = await runCli(['migrate', 'complete', '--force', ...common]);
    expect(again.code, again.stderr).toBe(0);
    await expectItemsCompleted(url);
  }, 120_000);

  it('start and complete interrupted before each of their steps resume to the same result', async () => {
    const file = migrationFile();
    const migration = await loadMigration(file);
    const seen: string[] = [];
    for (const phase of ['start', 'complete'] as const) {
      for (let k = 0; ; k++) {
        const url = await server().createDatabase();
        await createItems(url, ROWS);
        if (phase === 'complete') await startMigration(url, migration, { batchSize: 500 });
        let calls = 0;
        let at: string | undefined;
        const onStep = (message: string) => {
          if (calls++ === k) {
            at = message;
            throw new Error(`interrupted before: ${message}`);
          }
        };
        const run = () =>
          phase === 'start'
            ? startMigration(url, migration, { batchSize: 500, onStep })
            : completeMigration(url, { force: true, onStep });
        await run().catch((error: Error) => {
          if (at === undefined) throw error;
        });
        if (at === undefined) break;
        seen.push(`${phase}: ${at}`);
        // Resumed (start, then complete): the same schema and data as without the interruption.
        if (phase === 'start') await startMigration(url, migration, { batchSize: 500 });
        await completeMigration(url, { force: true }).catch((error: Error) => {
          throw new Error(`after an interruption before "${at}" (${phase}): ${error.message}`, {
            cause: error,
          });
        });
        await expectItemsCompleted(url).catch((error: Error) => {
          throw new Error(`after an interruption before "${at}" (${phase}): ${error.message}`, {
            cause: error,
          });
        });
      }
    }
    // Every step boundary of both commands was reached: the plan has them all.
    expect(seen.filter((s) => s.startsWith('start')).length).toBeGreaterThanOrEqual(5);
    expect(seen.filter((s) => s.startsWith('complete')).length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
