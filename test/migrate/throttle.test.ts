import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigration } from '../../src/migrate/parse.js';
import { readMigrationStatus } from '../../src/migrate/read-status.js';
import { type StartResult, startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { pauseBackfill, resumeBackfill } from '../../src/migrate/throttle.js';
import type { RunOptions } from '../../src/migrate/types.js';
import { connect, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { waitFor } from '../runtime/helpers.js';
import { createAccounts, fixture } from './helpers.js';

const ROWS = 20_000;

/** A start running in the background with what it reported. */
interface Running {
  done: Promise<StartResult>;
  messages: string[];
}

function startInBackground(url: string, options: RunOptions): Promise<Running> {
  return loadMigration(fixture('split-street.yaml')).then((migration) => {
    const messages: string[] = [];
    const done = startMigration(url, migration, {
      batchSize: 500,
      ...options,
      onThrottle: (m) => messages.push(m),
    });
    done.catch(() => undefined);
    return { done, messages };
  });
}

/** The saved progress of users.account: rows done and why it waits. */
async function saved(url: string): Promise<{ rowsDone: number; throttledBy?: string }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT (backfill->'users.account'->>'rowsDone')::int AS "rowsDone",
              backfill->'users.account'->'pace'->>'throttledBy' AS "throttledBy"
       FROM pgpact.migrations`,
    );
    return {
      rowsDone: rows[0]?.rowsDone ?? 0,
      ...(rows[0]?.throttledBy ? { throttledBy: rows[0].throttledBy } : {}),
    };
  });
}

/** Waits until the backfill saved that it waits for a reason matching `reason`. */
async function throttledBy(url: string, reason: RegExp): Promise<string> {
  return waitFor(
    async () => {
      const s = await saved(url).catch(() => undefined);
      return s?.throttledBy && reason.test(s.throttledBy) ? s.throttledBy : undefined;
    },
    60_000,
    `the backfill throttled by ${reason}`,
  );
}

/** While throttled, no batch runs: the rows done stay where they are for a while. */
async function expectNoProgressWhileThrottled(url: string): Promise<void> {
  const before = await saved(url);
  await new Promise((r) => setTimeout(r, 1_000));
  const after = await saved(url);
  expect(after.rowsDone).toBe(before.rowsDone);
  expect(after.throttledBy).toBeDefined();
}

async function expectBackfilled(url: string): Promise<void> {
  await withClient(url, async (c) => {
    const { rows } = await c.query(
      'SELECT count(*)::int AS n FROM users.account WHERE street IS NULL OR number IS NULL',
    );
    expect(rows[0].n).toBe(0);
  });
}

describeEachServer('backfill throttling', (server) => {
  const opened: pg.Client[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.end().catch(() => undefined)));
  });

  it('pgpact migrate throttle pauses the backfill from another session until resume; status shows why and the time throttled', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, ROWS));
    expect(await pauseBackfill(url, 'peak hour')).toEqual({ already: false });
    expect(await pauseBackfill(url)).toEqual({ already: true });
    const run = await startInBackground(url, { throttle: { checkIntervalMs: 100 } });
    const reason = await throttledBy(url, /paused by pgpact migrate throttle/);
    expect(reason).toContain('peak hour');
    await expectNoProgressWhileThrottled(url);
    const status = await migrationStatus(url);
    expect(status?.backfill[0]?.pace?.throttledBy).toContain('paused');
    await withClient(url, async (c) => {
      const reading = await readMigrationStatus(c);
      expect(reading?.backfill.throttledBy).toContain('peak hour');
      expect(reading?.backfill.throttledMs).toBeGreaterThan(0);
    });
    expect(await resumeBackfill(url)).toEqual({ wasPaused: true });
    const result = await run.done;
    expect(result.phase).toBe('active');
    expect(result.backfill[0]?.done).toBe(true);
    expect(run.messages[0]).toMatch(/^backfill users\.account throttled: paused by pgpact/);
    expect(run.messages.at(-1)).toMatch(
      /^backfill users\.account resumed after \d+\.\ds throttled/,
    );
    expect(result.backfill[0]?.pace?.throttledMs).toBeGreaterThanOrEqual(1_000);
    expect(await resumeBackfill(url)).toEqual({ wasPaused: false });
    await expectBackfilled(url);
  });

  it('--max-active waits while more sessions of the database are active, and goes on once they end', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, ROWS));
    // Three real sessions busy in the database (pg_sleep keeps them active).
    const busy: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect(url, { applicationName: 'busy app' });
      opened.push(c);
      busy.push(c.query('SELECT pg_sleep(600)').catch(() => undefined));
    }
    const run = await startInBackground(url, { throttle: { maxActive: 2, checkIntervalMs: 100 } });
    const reason = await throttledBy(url, /active sessions/);
    expect(reason).toMatch(/^3 active sessions > --max-active 2$/);
    await expectNoProgressWhileThrottled(url);
    await withClient(url, (c) =>
      c.query(
        `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'busy app'`,
      ),
    );
    await Promise.all(busy);
    const result = await run.done;
    expect(result.backfill[0]?.done).toBe(true);
    expect(run.messages.some((m) => /resumed after/.test(m))).toBe(true);
    await expectBackfilled(url);
  });

  it('--throttle-query waits while the query returns true, read-only', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await createAccounts(c, ROWS);
      await c.query(
        'CREATE TABLE ops_switch (hold boolean NOT NULL); INSERT INTO ops_switch VALUES (true)',
      );
    });
    const run = await startInBackground(url, {
      throttle: { throttleQuery: 'SELECT hold FROM ops_switch', checkIntervalMs: 100 },
    });
    await throttledBy(url, /--throttle-query returned true/);
    await expectNoProgressWhileThrottled(url);
    await withClient(url, (c) => c.query('UPDATE ops_switch SET hold = false'));
    const result = await run.done;
    expect(result.backfill[0]?.done).toBe(true);
    await expectBackfilled(url);
  });

  it('a throttle query that cannot run, or that writes, is refused before the first batch', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 1_000));
    const bad = await startInBackground(url, {
      throttle: { throttleQuery: 'SELECT nope FROM nowhere' },
    });
    await expect(bad.done).rejects.toThrow(/--throttle-query failed/);
    const writing = await startInBackground(url, {
      throttle: { throttleQuery: 'CREATE TABLE sneaky (id int)' },
    });
    await expect(writing.done).rejects.toThrow(/read-only transaction/);
    await withClient(url, async (c) => {
      const { rows } = await c.query(`SELECT to_regclass('sneaky') IS NULL AS gone`);
      expect(rows[0].gone).toBe(true);
    });
  });
});

describe('backfill progress', () => {
  it('the fraction follows the walk: a dense key range at its end is 100 %', async () => {
    const { backfillFraction } = await import('../../src/migrate/progress.js');
    const table = { schema: 'users', name: 'account' };
    const base = {
      table,
      strategy: 'primary-key' as const,
      rowsDone: 360,
      rowsTotal: 1000,
      done: false,
    };
    expect(backfillFraction({ ...base, lastKey: null })).toBe(0);
    expect(
      backfillFraction({ ...base, lastKey: ['360'], keyRange: { min: '1', max: '1000' } }),
    ).toBe(0.36);
    expect(
      backfillFraction({ ...base, lastKey: ['1000'], keyRange: { min: '1', max: '1000' } }),
    ).toBe(1);
    expect(
      backfillFraction({ ...base, strategy: 'ctid', lastKey: ['36'], pages: 100, rowsDone: 3 }),
    ).toBe(0.36);
    expect(backfillFraction({ ...base, lastKey: ['360'] })).toBe(0.36);
    expect(backfillFraction({ ...base, lastKey: ['5'], done: true })).toBe(1);
  });

  it('rate over the last minute and ETA: half done at 100 rows/s leaves the other half for its time', async () => {
    const { ProgressMeter } = await import('../../src/migrate/progress.js');
    const meter = new ProgressMeter({ throttledMs: 5_000, at: '' });
    const t0 = 1_000_000;
    meter.record(0, t0);
    meter.record(1_000, t0 + 10_000);
    const progress = {
      table: { schema: 'public', name: 't' },
      strategy: 'primary-key' as const,
      lastKey: ['1000'],
      rowsDone: 1_000,
      rowsTotal: 2_000,
      done: false,
    };
    expect(meter.pace(progress, 500, t0 + 10_000)).toMatchObject({
      rowsPerSecond: 100,
      etaSeconds: 10,
      throttledMs: 5_000,
      batchSize: 500,
    });
    meter.throttle('replica lag', t0 + 10_000);
    const waiting = meter.pace(progress, 500, t0 + 12_000);
    expect(waiting).toMatchObject({ throttledMs: 7_000, throttledBy: 'replica lag' });
    // Samples older than a minute leave the window: the rate is the last minute's.
    meter.throttle(undefined, t0 + 70_000);
    meter.record(1_000, t0 + 70_000);
    meter.record(1_600, t0 + 76_000);
    const later = meter.pace({ ...progress, lastKey: ['1600'], rowsDone: 1_600 }, 500, t0 + 76_000);
    expect(later.throttledMs).toBe(65_000);
    expect(later.throttledBy).toBeUndefined();
    expect(later.rowsPerSecond).toBe(Math.round((600 / 66_000) * 1000));
  });
});

describe('backfill progress text', () => {
  it('shows rate, ETA, time throttled and why; figures of a start that stopped say how old they are', async () => {
    const { backfillLine, progressBar } = await import('../../src/migrate/format.js');
    const at = new Date().toISOString();
    const b = {
      table: { schema: 'users', name: 'account' },
      strategy: 'primary-key' as const,
      lastKey: ['360000'],
      keyRange: { min: '1', max: '1000000' },
      rowsDone: 360_000,
      rowsTotal: 1_000_000,
      done: false,
      pace: {
        rowsPerSecond: 12_000,
        etaSeconds: 53,
        throttledMs: 75_000,
        throttledBy: 'replica r1 lags 7.0s > --max-replica-lag 5.0s',
        at,
      },
    };
    expect(progressBar(b)).toBe(
      '[#########...............]  36% users.account 360,000/1,000,000 rows, 12,000 rows/s, ETA 53s, throttled 1m15s, waiting: replica r1 lags 7.0s > --max-replica-lag 5.0s',
    );
    const old = { ...b, pace: { ...b.pace, at: '2026-01-01T10:00:00.000Z' } };
    expect(backfillLine(old)).toMatch(/\(36%\), .*as of 10:00:00 UTC, no batch since$/);
    expect(progressBar({ ...b, lastKey: ['1000000'], rowsDone: 1_000_000, done: true })).toMatch(
      /^\[#{24}\] 100% users\.account 1,000,000\/1,000,000 rows/,
    );
  });
});
