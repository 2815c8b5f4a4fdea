import pg from 'pg';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf, createAccounts, fixture, leftovers, runCli } from './helpers.js';
import { verify, Writers } from './writers.js';

const ROWS = 20_000;
/** The first contracting step of complete (after the consumers were checked). */
const CONTRACT = /^(resuming complete|contract)/m;
const START_KILLS = 12;
const COMPLETE_KILLS = 10;
/** The first line a migrate command prints on stderr: kill times count from it. */
const FIRST_STEP =
  /^(plan|resuming|expand|create table|backfill|validate|index|check who|contract|drop|raw sql)/m;

/** A small deterministic PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function setUp(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await createAccounts(c, ROWS);
    await c.query(`CREATE TABLE users.login (id int PRIMARY KEY, account_id bigint, email text NOT NULL);
      INSERT INTO users.login SELECT g, g, 'u' || g || '@example.org' FROM generate_series(1, 5000) g;`);
  });
}

/** What must hold whenever a run was killed: bookkeeping sane, data synced, raw SQL at most once. */
async function checkAfterKill(
  c: pg.Client,
): Promise<{ phase: string | null; expanded: boolean; contracted: boolean }> {
  const table = await c.query(`SELECT to_regclass('pgpact.migrations') IS NOT NULL AS ok`);
  const phase = table.rows[0].ok
    ? ((await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase ?? null)
    : null;
  expect([null, 'expanding', 'backfilling', 'validating', 'active', 'completing']).toContain(phase);
  const columns = await columnsOf(c, 'users', 'account');
  const expanded = columns.includes('street') && columns.includes('number');
  const contracted = !columns.includes('street_and_number');
  if (expanded && !contracted) {
    const broken = await c.query(`SELECT id FROM users.account
      WHERE NOT ((street IS NULL AND number IS NULL) OR street_and_number = street || ' ' || number) LIMIT 3`);
    expect(broken.rows).toEqual([]);
    if (phase === 'validating' || phase === 'active' || phase === 'completing') {
      const missing = await c.query(
        'SELECT count(*)::int AS n FROM users.account WHERE street IS NULL OR zip IS NULL',
      );
      expect(missing.rows[0].n).toBe(0);
    }
  }
  if (contracted) {
    // The old column and its sync trigger go in one transaction.
    const triggers = await c.query(
      `SELECT 1 FROM pg_trigger WHERE tgrelid = 'users.account'::regclass AND tgname LIKE 'zz_pgpact%'`,
    );
    expect(triggers.rows).toEqual([]);
  }
  if ((await c.query(`SELECT to_regclass('users.audit') IS NOT NULL AS ok`)).rows[0].ok) {
    const notes = await c.query(`SELECT note, count(*)::int AS n FROM users.audit GROUP BY note`);
    for (const r of notes.rows) expect(r.n).toBe(1);
  }
  return { phase, expanded, contracted };
}

/** Runs a command to its end, which must succeed. */
async function runToEnd(args: string[]): Promise<void> {
  const run = await runCli(args);
  expect(run.code, run.stderr).toBe(0);
}

describeEachServer('SIGKILL at random points of start and complete', (server) => {
  it(`resumes after ${START_KILLS} kills in start and ${COMPLETE_KILLS} in complete, data verified each time`, async () => {
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
      '500',
      '--lock-timeout',
      '1s',
    ];
    const completeArgs = (url: string) => [
      'migrate',
      'complete',
      '--force',
      '--database-url',
      url,
      '--lock-timeout',
      '1s',
    ];

    // Calibrate: how long start and complete work once they printed their first step.
    const calibration = await server().createDatabase();
    await setUp(calibration);
    const [startSpan] = await measure(startArgs(calibration), [FIRST_STEP]);
    const [completeSpan, contractSpan] = await measure(completeArgs(calibration), [
      FIRST_STEP,
      CONTRACT,
    ]);
    const log: string[] = [
      `calibration: start works ${startSpan} ms after its first step, complete ${completeSpan} ms (${contractSpan} ms of them contracting)`,
    ];

    let startKills = 0;
    let completeKills = 0;
    for (
      let cycle = 0;
      cycle < 12 && (startKills < START_KILLS || completeKills < COMPLETE_KILLS);
      cycle++
    ) {
      const url = await server().createDatabase();
      await setUp(url);
      const writerClient = new pg.Client({ connectionString: url });
      await writerClient.connect();
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const writers = new Writers([writerClient], ROWS);
      try {
        writers.start();
        // start: kill at random points until the quota of this cycle is reached or start got through.
        for (let k = 0; k < START_KILLS - startKills + 2 && startKills < START_KILLS; k++) {
          const at = Math.floor(random() * startSpan! * 0.7);
          const run = await runCli(startArgs(url), { trigger: FIRST_STEP, killAfterMs: at });
          const state = await checkAfterKill(check);
          writers.newReady = state.expanded;
          log.push(
            `cycle ${cycle} start +${at}ms: ${run.signal ?? `exit ${run.code}`} -> ${state.phase}`,
          );
          if (run.signal === 'SIGKILL') startKills++;
          else {
            expect(run.code, run.stderr).toBe(0);
            break;
          }
        }
        await runToEnd(startArgs(url));
        writers.newReady = true;
        expect((await checkAfterKill(check)).phase).toBe('active');

        for (let k = 0; k < COMPLETE_KILLS + 2 && completeKills < COMPLETE_KILLS; k++) {
          // Half the kills anywhere in complete, half while it contracts (its short last part).
          const contracting = k % 2 === 1;
          const at = Math.floor(random() * (contracting ? contractSpan! : completeSpan!));
          const run = await runCli(completeArgs(url), {
            trigger: contracting ? CONTRACT : FIRST_STEP,
            killAfterMs: at,
          });
          const state = await checkAfterKill(check);
          log.push(
            `cycle ${cycle} complete ${contracting ? '(contracting) ' : ''}+${at}ms: ${run.signal ?? `exit ${run.code}`} -> ${state.phase ?? 'done'}`,
          );
          if (run.signal === 'SIGKILL') completeKills++;
          else {
            expect(run.code, run.stderr).toBe(0);
            break;
          }
        }
        const final = await runCli(completeArgs(url));
        expect(final.code, final.stderr).toBe(0);
        await writers.stop();
        expect(writers.errors).toEqual([]);

        // The final state: new shape only, every write kept, raw SQL ran exactly once each.
        expect(await columnsOf(check, 'users', 'account')).toEqual([
          'id',
          'name',
          'zip',
          'hits',
          'street',
          'number',
        ]);
        expect(await columnsOf(check, 'users', 'login')).toEqual(['id', 'account_id', 'address']);
        await verify(check, writers, false);
        const notes = await check.query('SELECT note FROM users.audit ORDER BY id');
        expect(notes.rows.map((r) => r.note)).toEqual(['started', 'completed']);
        const zip =
          await check.query(`SELECT count(*) FILTER (WHERE zip = '00000')::int AS filled, bool_and(attnotnull) AS nn
          FROM users.account, pg_attribute WHERE attrelid = 'users.account'::regclass AND attname = 'zip'`);
        expect(zip.rows[0]).toEqual({ filled: ROWS / 10, nn: true });
        const invalid = await check.query(
          'SELECT indexrelid::regclass::text AS i FROM pg_index WHERE NOT indisvalid',
        );
        expect(invalid.rows).toEqual([]);
        const constraint = await check.query(
          `SELECT convalidated FROM pg_constraint WHERE conname = 'account_number_present'`,
        );
        expect(constraint.rows).toEqual([{ convalidated: true }]);
        expect(await leftovers(check)).toEqual({ triggers: [], functions: [] });
        expect(
          (await check.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n,
        ).toBe(0);
      } catch (error) {
        throw new Error(
          `crash test failed (PGPACT_CRASH_SEED=${seed}):\n${log.join('\n')}\n${(error as Error).message}`,
          { cause: error },
        );
      } finally {
        await writers.stop();
        await writerClient.end();
        await check.end();
      }
    }
    if (process.env.PGPACT_CRASH_LOG) console.log(log.join('\n'));
    expect(startKills).toBeGreaterThanOrEqual(START_KILLS);
    expect(completeKills).toBeGreaterThanOrEqual(COMPLETE_KILLS);
  }, 600_000);
});

/** Milliseconds from the first line matching each pattern to the result on stdout, from one uninterrupted run. */
async function measure(args: string[], patterns: RegExp[]): Promise<number[]> {
  const run = await runCli(args);
  if (run.code !== 0 || run.stdoutMs === undefined)
    throw new Error(`calibration run failed: ${run.stderr}`);
  return patterns.map((p) => {
    const line = run.stderrLines.find((l) => p.test(l.text));
    if (!line) throw new Error(`calibration: no line matches ${p}: ${run.stderr}`);
    return Math.max(20, run.stdoutMs! - line.ms);
  });
}
