import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer, type TestServer } from '../helpers/postgres.js';
import {
  expectCompleted,
  expectRolledBack,
  killServer,
  measure,
  prng,
  restartServer,
} from './crash-helpers.js';
import { columnsOf, createAccounts, fixture, runCli } from './helpers.js';

const ROWS = 20_000;

async function setUp(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await createAccounts(c, ROWS);
    await c.query(`CREATE TABLE users.login (id int PRIMARY KEY, account_id bigint, email text NOT NULL);
      INSERT INTO users.login SELECT g, g, 'u' || g || '@example.org' FROM generate_series(1, 5000) g;`);
  });
}

async function withCheck<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** After a crash: the bookkeeping is sane and, while both shapes live, they agree. */
async function checkAfterCrash(url: string): Promise<string | null> {
  return withCheck(url, async (c) => {
    const phase = (await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase ?? null;
    const columns = await columnsOf(c, 'users', 'account');
    if (columns.includes('street') && columns.includes('street_and_number')) {
      const broken = await c.query(`SELECT id FROM users.account
        WHERE NOT ((street IS NULL AND number IS NULL) OR street_and_number = street || ' ' || number) LIMIT 3`);
      expect(broken.rows).toEqual([]);
    }
    if ((await c.query(`SELECT to_regclass('users.audit') IS NOT NULL AS ok`)).rows[0].ok) {
      const notes = await c.query('SELECT note, count(*)::int AS n FROM users.audit GROUP BY note');
      for (const r of notes.rows) expect(r.n).toBe(1);
    }
    return phase;
  });
}

describeEachServer(
  'SIGKILL of the Postgres server during start, complete and rollback',
  (server) => {
    /** Runs a command and SIGKILLs the server `delayMs` after the command printed `trigger`; then restarts it. */
    async function crashDuring(
      s: TestServer,
      args: string[],
      trigger: RegExp,
      delayMs: number,
    ): Promise<string> {
      let crash: Promise<void> | undefined;
      const run = await runCli(args, {
        trigger,
        onTrigger: () => {
          crash = sleep(delayMs).then(() => killServer(s));
        },
      });
      if (crash) {
        await crash;
        await restartServer(s);
      }
      // A lost server is an environment failure: pgpact says so and exits 2, or it had finished.
      expect([0, 2], run.stderr).toContain(run.code);
      return `${args[1]} +${delayMs}ms after ${trigger.source}: ${crash ? 'server killed' : 'no kill'}, pgpact exit ${run.code}`;
    }

    it('each command resumes after the server was killed at several points, data right', async () => {
      const seed = Number(process.env.PGPACT_CRASH_SEED ?? Date.now() % 1_000_000);
      const random = prng(seed);
      const s = server();
      const file = fixture('crash.yaml');
      const url = await s.createDatabase();
      await setUp(url);
      const start = ['migrate', 'start', file, '--database-url', url, '--batch-size', '500'];
      const complete = ['migrate', 'complete', '--force', '--database-url', url];
      const log: string[] = [];
      // Calibrate on another database: how long each command works after its first line.
      const calibration = await s.createDatabase();
      await setUp(calibration);
      const startSpan = await measure(
        ['migrate', 'start', file, '--database-url', calibration, '--batch-size', '500'],
        /^plan /m,
      );
      const completeSpan = await measure(
        ['migrate', 'complete', '--force', '--database-url', calibration],
        /^check who/m,
      );
      const calibration2 = await s.createDatabase();
      await setUp(calibration2);
      expect((await runCli(['migrate', 'start', file, '--database-url', calibration2])).code).toBe(
        0,
      );
      const rollbackSpan = await measure(
        ['migrate', 'rollback', '--database-url', calibration2],
        /^roll back/m,
      );
      log.push(
        `calibration: start ${startSpan} ms, complete ${completeSpan} ms, rollback ${rollbackSpan} ms`,
      );
      // Early in each span: a resumed command has less left to do than the calibration run.
      const within = (span: number) => Math.floor(random() * span * 0.6);
      try {
        for (let k = 0; k < 3; k++) {
          log.push(await crashDuring(s, start, /^(plan|resuming) /m, within(startSpan)));
          log.push(`  -> ${await checkAfterCrash(url)}`);
        }
        const started = await runCli(start);
        expect(started.code, started.stderr).toBe(0);
        expect(await checkAfterCrash(url)).toBe('active');

        for (let k = 0; k < 2; k++) {
          log.push(
            await crashDuring(s, complete, /^(check who|resuming complete)/m, within(completeSpan)),
          );
          log.push(`  -> ${await checkAfterCrash(url)}`);
        }
        const completed = await runCli(complete);
        expect(completed.code, completed.stderr).toBe(0);
        await withCheck(url, (c) => expectCompleted(c, ROWS));

        // Rollback, on a second database of the same server.
        const url2 = await s.createDatabase();
        await setUp(url2);
        const start2 = ['migrate', 'start', file, '--database-url', url2];
        expect((await runCli(start2)).code).toBe(0);
        const rollback = ['migrate', 'rollback', '--database-url', url2];
        for (let k = 0; k < 2; k++) {
          log.push(await crashDuring(s, rollback, /^roll back/m, within(rollbackSpan)));
          log.push(`  -> ${await checkAfterCrash(url2)}`);
        }
        const rolledBack = await runCli(rollback);
        expect(rolledBack.code, rolledBack.stderr).toBe(0);
        await withCheck(url2, (c) => expectRolledBack(c, ROWS));
      } catch (error) {
        throw new Error(
          `server crash test failed (PGPACT_CRASH_SEED=${seed}):\n${log.join('\n')}\n${(error as Error).message}`,
          { cause: error },
        );
      }
      if (process.env.PGPACT_CRASH_LOG) console.log(log.join('\n'));
      // Most kills land while a command works (exit 2); timing on a busy machine decides how many.
      expect(
        log.filter((l) => l.includes('server killed, pgpact exit 2')).length,
      ).toBeGreaterThanOrEqual(2);
    }, 600_000);
  },
);
