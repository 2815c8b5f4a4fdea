import pg from 'pg';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { expectRolledBack, measure, prng } from './crash-helpers.js';
import { columnsOf, createAccounts, fixture, runCli } from './helpers.js';
import { Writers } from './writers.js';

const ROWS = 20_000;
const ROLLBACK_KILLS = 8;
/** The first line rollback prints: kill times count from it. */
const ROLLBACK_STEP = /^roll back /m;

async function setUp(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await createAccounts(c, ROWS);
    await c.query(`CREATE TABLE users.login (id int PRIMARY KEY, account_id bigint, email text NOT NULL);
      INSERT INTO users.login SELECT g, g, 'u' || g || '@example.org' FROM generate_series(1, 5000) g;`);
  });
}

/** What must hold whenever a rollback was killed: the old shape intact and in sync, raw SQL down at most once. */
async function checkAfterKill(c: pg.Client): Promise<string | null> {
  const phase = (await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase ?? null;
  expect([null, 'active', 'rolling_back']).toContain(phase);
  const columns = await columnsOf(c, 'users', 'account');
  expect(columns).toContain('street_and_number');
  if (columns.includes('street')) {
    // The new columns and their sync trigger go in one transaction: while they exist, they are in sync.
    const broken = await c.query(`SELECT id FROM users.account
      WHERE NOT ((street IS NULL AND number IS NULL) OR street_and_number = street || ' ' || number) LIMIT 3`);
    expect(broken.rows).toEqual([]);
  }
  if ((await c.query(`SELECT to_regclass('users.audit') IS NOT NULL AS ok`)).rows[0].ok) {
    const notes = await c.query(
      `SELECT count(*)::int AS n FROM users.audit WHERE note = 'started'`,
    );
    expect(notes.rows[0].n).toBeLessThanOrEqual(1);
  }
  return phase;
}

describeEachServer('SIGKILL at random points of rollback', (server) => {
  it(`resumes after ${ROLLBACK_KILLS} kills in rollback, with writers running, data verified`, async () => {
    const seed = Number(process.env.PGPACT_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const file = fixture('crash.yaml');
    const startArgs = (url: string) => [
      'migrate',
      'start',
      file,
      '--database-url',
      url,
      '--batch-size',
      '2000',
    ];
    const rollbackArgs = (url: string) => [
      'migrate',
      'rollback',
      '--database-url',
      url,
      '--lock-timeout',
      '1s',
    ];

    const calibration = await server().createDatabase();
    await setUp(calibration);
    expect((await runCli(startArgs(calibration))).code).toBe(0);
    const span = await measure(rollbackArgs(calibration), ROLLBACK_STEP);
    const log = [`calibration: rollback works ${span} ms after its first line`];

    let kills = 0;
    for (let cycle = 0; cycle < 6 && kills < ROLLBACK_KILLS; cycle++) {
      const url = await server().createDatabase();
      await setUp(url);
      const writerClient = new pg.Client({ connectionString: url });
      await writerClient.connect();
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      // Old code keeps writing the old column through the whole rollback.
      const writers = new Writers([writerClient], ROWS);
      try {
        writers.start();
        const started = await runCli(startArgs(url));
        expect(started.code, started.stderr).toBe(0);
        for (let k = 0; k < ROLLBACK_KILLS + 2 && kills < ROLLBACK_KILLS; k++) {
          // Early in the span: a resumed rollback skips the steps recorded done, so has less left.
          const at = Math.floor(random() * span * 0.5);
          const run = await runCli(rollbackArgs(url), { trigger: ROLLBACK_STEP, killAfterMs: at });
          const phase = await checkAfterKill(check);
          log.push(
            `cycle ${cycle} rollback +${at}ms: ${run.signal ?? `exit ${run.code}`} -> ${phase ?? 'done'}`,
          );
          if (run.signal === 'SIGKILL') kills++;
          else {
            expect(run.code, run.stderr).toBe(0);
            break;
          }
        }
        const final = await runCli(rollbackArgs(url));
        expect(final.code, final.stderr).toBe(0);
        await writers.stop();
        expect(writers.errors).toEqual([]);
        await expectRolledBack(check, ROWS, writers);
      } catch (error) {
        throw new Error(
          `rollback crash test failed (PGPACT_CRASH_SEED=${seed}):\n${log.join('\n')}\n${(error as Error).message}`,
          { cause: error },
        );
      } finally {
        await writers.stop();
        await writerClient.end();
        await check.end();
      }
    }
    if (process.env.PGPACT_CRASH_LOG) console.log(log.join('\n'));
    expect(kills).toBeGreaterThanOrEqual(ROLLBACK_KILLS);
  }, 600_000);
});
