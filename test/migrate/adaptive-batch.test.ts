import { describe, expect, it } from 'vitest';
import { BatchSizer, WRITER_SAMPLE_MS, WriterWatch } from '../../src/migrate/adaptive-batch.js';
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

  it('writers slower than before the backfill: halves, then pauses too while they stay slow, holds while too few calls say anything, recovers once they are back', () => {
    const sizer = new BatchSizer({ targetMs: 100 });
    for (let i = 0; i < 4; i++) sizer.observe(50, 0, { calls: 40, ms: 40, baselineMs: 40 });
    expect(sizer.size).toBe(5_063); // on time writers: grows as usual
    expect(sizer.pauseMs).toBe(0);
    expect(sizer.backoff).toBeUndefined();
    // Writers' calls take 3× what the same calls took before: halved first, no pause yet.
    sizer.observe(50, 0, { calls: 40, ms: 120, baselineMs: 40 });
    expect(sizer.size).toBe(2_531);
    expect(sizer.pauseMs).toBe(0);
    expect(sizer.backoff).toBe(
      "writers' statements take 3.0× their time before the backfill (> 1.5): batch halved",
    );
    // Too few calls since (4 < 10): nothing judged, and no growth while backing off.
    sizer.observe(10, 0, { calls: 4, ms: 40, baselineMs: 4 });
    expect(sizer.size).toBe(2_531);
    // Still slow (calls of two samples together): halved again, and a pause of a quarter of the target.
    sizer.observe(10, 0, { calls: 8, ms: 40, baselineMs: 8 });
    expect(sizer.size).toBe(1_265);
    expect(sizer.pauseMs).toBe(25);
    expect(sizer.backoff).toMatch(
      /6\.7× their time before the backfill \(> 1\.5\): batch halved, 25 ms pause$/,
    );
    // Between the recovery mark (1.25) and the factor (1.5): held, pause kept.
    sizer.observe(10, 0, { calls: 20, ms: 28, baselineMs: 20 });
    expect(sizer.size).toBe(1_265);
    expect(sizer.pauseMs).toBe(25);
    // Back to their baseline: the pause halves each batch, the size grows again.
    sizer.observe(10, 0, { calls: 20, ms: 20, baselineMs: 20 });
    expect(sizer.size).toBe(1_898);
    expect(sizer.pauseMs).toBe(13);
    expect(sizer.backoff).toMatch(/back near their time before the backfill: 13 ms pause/);
    for (let i = 0; i < 5; i++) sizer.observe(10, 0, { calls: 20, ms: 20, baselineMs: 20 });
    expect(sizer.pauseMs).toBe(0);
    expect(sizer.backoff).toBeUndefined();
    expect(sizer.size).toBe(14_417);
  });

  it('the slowdown is judged on calls against their own baseline, so a changing mix of statements is no slowdown', () => {
    const sizer = new BatchSizer({ targetMs: 100, maxWriterSlowdown: 2 });
    // Slow statements (10 ms each at baseline) now make up most calls: ms rise, the ratio does not.
    sizer.observe(100, 0, { calls: 20, ms: 190, baselineMs: 190 });
    sizer.observe(100, 0, { calls: 20, ms: 30, baselineMs: 28 });
    expect(sizer.pauseMs).toBe(0);
    expect(sizer.size).toBe(1_000);
    // 1.9× with a factor of 2: tolerated (held), 2.5×: backs off; the pause never passes 2 s.
    sizer.observe(100, 0, { calls: 20, ms: 38, baselineMs: 20 });
    expect(sizer.pauseMs).toBe(0);
    for (let i = 0; i < 12; i++) sizer.observe(100, 0, { calls: 20, ms: 50, baselineMs: 20 });
    expect(sizer.size).toBe(100);
    expect(sizer.pauseMs).toBe(2_000);
    expect(sizer.backoff).toMatch(
      /2\.5× their time before the backfill \(> 2\): batch halved, 2000 ms pause/,
    );
  });

  it('a few calls waiting long count through the root mean square of the times, where the mean barely moves', () => {
    // Before: 1 ms each, stddev 0.5 ms (mean square 1.25). Now 1 call in 100 waited 50 ms on a lock.
    const tail = { calls: 100, ms: 99 + 50, baselineMs: 100 };
    const squares = { squares: 99 * 1.25 + 50 * 50, baselineSquares: 100 * 1.25 };
    const byMean = new BatchSizer({ targetMs: 100 });
    byMean.observe(100, 0, tail);
    expect(byMean.size).toBe(1_000); // 1.49×: held, not halved
    const byTail = new BatchSizer({ targetMs: 100 });
    byTail.observe(100, 0, { ...tail, ...squares });
    expect(byTail.size).toBe(500);
    expect(byTail.backoff).toMatch(
      /^writers' statements take 4\.6× their time before the backfill/,
    );
  });

  it('writers as slow while the backfill pauses are slow for another reason: the pause ends and that level is what counts, until writers are faster during batches', () => {
    const sizer = new BatchSizer({ targetMs: 100 });
    const at = (slowdown: number) => ({ calls: 40, ms: 40 * slowdown, baselineMs: 40 });
    sizer.observe(50, 0, at(3)); // halved
    sizer.observe(50, 0, at(3)); // still slow: halved, paused
    expect(sizer.pauseMs).toBe(25);
    expect(sizer.size).toBe(250);
    // Too few calls during a pause say nothing by themselves.
    expect(sizer.observePause({ calls: 3, ms: 30, baselineMs: 3 })).toBeUndefined();
    expect(sizer.pauseMs).toBe(25);
    // Writers kept to 1.2x while it paused: the pause helps them, nothing changes.
    expect(sizer.observePause(at(1.2))).toBeUndefined();
    expect(sizer.pauseMs).toBe(25);
    // 3x even while paused: not the backfill's doing. No pause, no back-off, and 3x is the new level.
    expect(sizer.observePause(at(3))).toMatch(
      /^writers' statements take 3\.0× their time before the backfill even while it pauses: not the backfill's doing, so no pause/,
    );
    expect(sizer.pauseMs).toBe(0);
    expect(sizer.backoff).toBeUndefined();
    sizer.observe(50, 0, at(3.3)); // 1.1x the level: on time, grows
    expect(sizer.size).toBe(375);
    expect(sizer.backoff).toBeUndefined();
    sizer.observe(50, 0, at(4.8)); // 1.6x the level: backs off, said against that level
    expect(sizer.size).toBe(187);
    expect(sizer.backoff).toBe(
      "writers' statements take 1.6× their level while the backfill paused (> 1.5): batch halved",
    );
    // Writers at 2.4x during batches: within the tolerance of the 3x level, which stays (0.8x, recovered).
    sizer.observe(50, 0, at(2.4));
    expect(sizer.backoff).toBeUndefined();
    expect(sizer.size).toBe(281);
    sizer.observe(50, 0, at(4.2)); // 1.4x the level: held
    expect(sizer.size).toBe(281);
    // At 1.8x during batches, clearly under the level: the level of 3x is gone, 1.8x counts now.
    sizer.observe(50, 0, at(1.8));
    expect(sizer.size).toBe(422);
    // Back to their time before the backfill: the level falls to it, and 1.6x backs off again.
    sizer.observe(50, 0, at(1));
    sizer.observe(50, 0, at(1.6));
    expect(sizer.backoff).toMatch(/^writers' statements take 1\.6× their time before the backfill/);
  });

  it('pauses too short to hold enough calls are judged together', () => {
    const sizer = new BatchSizer({ targetMs: 100 });
    sizer.observe(50, 0, { calls: 40, ms: 120, baselineMs: 40 });
    sizer.observe(50, 0, { calls: 40, ms: 120, baselineMs: 40 });
    expect(sizer.pauseMs).toBe(25);
    expect(sizer.observePause({ calls: 5, ms: 15, baselineMs: 5 })).toBeUndefined(); // 5 calls: nothing
    expect(sizer.pauseMs).toBe(25);
    expect(sizer.observePause({ calls: 5, ms: 15, baselineMs: 5 })).toMatch(
      /take 3\.0× .* even while it pauses/,
    );
    expect(sizer.pauseMs).toBe(0);
  });

  it('a fixed --batch-size never changes', () => {
    const sizer = new BatchSizer({ fixed: 777, targetMs: 100 });
    sizer.observe(5_000, 3);
    sizer.observe(1, 0);
    expect(sizer.size).toBe(777);
    expect(sizer.adaptive).toBe(false);
  });
});

/**
 * Two writers updating rows 1–10 every 2 ms, and a competing session that, while `competing`
 * is set, holds those rows 40 ms at a time (FOR UPDATE): the writers' slowdown is its doing.
 */
async function hotRowWriters(url: string) {
  const hot = [1, 10];
  const writers = await Promise.all([connect(url), connect(url)]);
  const competitor = await connect(url);
  let writing = true;
  const state = { competing: false, stop };
  const loops = writers.map(async (w) => {
    while (writing) {
      const id = hot[0]! + Math.floor(Math.random() * (hot[1]! - hot[0]! + 1));
      await w.query('UPDATE users.account SET hits = hits + 1 WHERE id = $1', [id]);
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  const competition = (async () => {
    while (writing) {
      if (!state.competing) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      await competitor.query('BEGIN');
      await competitor.query(
        'SELECT id FROM users.account WHERE id BETWEEN $1 AND $2 FOR UPDATE',
        hot,
      );
      await competitor.query('SELECT pg_sleep(0.04)');
      await competitor.query('COMMIT');
    }
  })();
  async function stop(): Promise<void> {
    writing = false;
    state.competing = false;
    await Promise.all([...loops, competition]);
    await Promise.all([...writers, competitor].map((c) => c.end()));
  }
  return state;
}

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

  it("reads the writers' times while batches run, at most every WRITER_SAMPLE_MS however short the batches", async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 100));
    const batch = await connect(url);
    const writer = await connect(url);
    let writing = true;
    const writes = (async () => {
      while (writing) {
        await writer.query('UPDATE users.account SET hits = hits + 1 WHERE id = $1', [
          1 + Math.floor(Math.random() * 100),
        ]);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const pid = (await batch.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    // The writer's statement has run before the baseline window opens (a busy machine is slow to start it).
    await new Promise((r) => setTimeout(r, 300));
    const watch = await WriterWatch.open(url, pid);
    try {
      expect(await watch.takeBaseline({ schema: 'users', name: 'account' })).toBe(1);
      let readings = 0;
      let calls = 0;
      const began = performance.now();
      for (let i = 0; i < 60; i++) {
        const seen = await watch.during(batch.query('SELECT pg_sleep(0.005)'), 50);
        if (seen.writerTimes) {
          readings++;
          calls += seen.writerTimes.calls;
        }
      }
      const elapsed = performance.now() - began;
      // 60 batches of 5 ms and more: one reading per batch would be 59.
      expect(readings).toBeGreaterThanOrEqual(2);
      expect(readings).toBeLessThanOrEqual(Math.ceil(elapsed / WRITER_SAMPLE_MS) + 1);
      expect(calls).toBeGreaterThan(0);
    } finally {
      writing = false;
      await writes;
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

  it('backs off when the writers of the table slow down under a competing load, with the reason in its progress, and grows again once they recover', async () => {
    const url = await server().createDatabase();
    // Room to grow again after the back-off (judged every WRITER_SAMPLE_MS) before the rows run out.
    const rows = 450_000;
    await withClient(url, (c) => createAccounts(c, rows));
    // Writers update a few rows the backfill passes in its first batch, before the load.
    const load = await hotRowWriters(url);
    const seen: { size: number; backoff?: string; rowsDone: number }[] = [];
    const messages: string[] = [];
    let sizeBeforeLoad = 0;
    let peak = 0;
    let loadFrom = 0;
    try {
      // Writers run before the start, so their times before the backfill are known.
      await new Promise((r) => setTimeout(r, 500));
      await startMigration(url, await loadMigration(fixture('split-street.yaml')), {
        batchTimeMs: 50,
        onThrottle: (m) => messages.push(m),
        onProgress: (p) => {
          const size = p.pace?.batchSize ?? 0;
          seen.push({
            size,
            rowsDone: p.rowsDone,
            ...(p.pace?.backoff ? { backoff: p.pace.backoff } : {}),
          });
          if (!load.competing && !p.pace?.backoff && seen.length >= 5 && sizeBeforeLoad === 0) {
            sizeBeforeLoad = size;
            loadFrom = seen.length;
            load.competing = true;
          }
          // Batches grow on until the slowdown is judged (one batch late, 10 calls): the largest
          // before it is what the back-off halves. Once halved, the load goes away (before any
          // pause, which would find writers as slow while paused: a load of their own).
          if (load.competing && !p.pace?.backoff) peak = Math.max(peak, size);
          if (load.competing && p.pace?.backoff && size <= peak / 2) load.competing = false;
        },
      });
    } finally {
      await load.stop();
    }
    const found = seen
      .slice(loadFrom)
      // Against their time before the backfill, or the level they kept in a pause (a baseline
      // taken on a busy machine can be beaten before the load, and a pause then finds that level).
      .findIndex((s) =>
        /^writers' statements take [\d.]+× their (time before the backfill|level while the backfill paused)/.test(
          s.backoff ?? '',
        ),
      );
    expect(found, JSON.stringify(seen.slice(0, 40))).toBeGreaterThanOrEqual(0);
    const slowed = loadFrom + found;
    expect(
      Math.min(...seen.slice(slowed).map((s) => s.size)),
      JSON.stringify({ messages, seen: seen.slice(loadFrom, loadFrom + 40) }),
    ).toBeLessThanOrEqual(peak / 2);
    expect(
      messages.some((m) => /^backfill users\.account backs off: writers' statements take/.test(m)),
    ).toBe(true);
    // Recovered once the load went away: no back-off, batches larger than at the bottom again.
    const bottom = slowed + seen.slice(slowed).findIndex((s) => s.size <= peak / 2);
    expect(seen.slice(bottom).some((s) => s.backoff === undefined)).toBe(true);
    expect(Math.max(...seen.slice(bottom).map((s) => s.size))).toBeGreaterThan(
      seen[bottom]!.size * 2,
    );
    await withClient(url, async (c) => {
      const { rows: left } = await c.query(
        'SELECT count(*)::int AS n FROM users.account WHERE street IS NULL OR number IS NULL',
      );
      expect(left[0].n).toBe(0);
    });
    // The load is gone before the back-off gets to pausing: pauses are checked in the next test.
  }, 120_000);

  it('writers slowed by a load of their own, which stays while the backfill pauses: it stops pausing, says why, and finishes', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 300_000));
    // Another session holds the writers' rows 40 ms at a time from the first batch to the end:
    // the writers are slow whether the backfill runs or pauses.
    const load = await hotRowWriters(url);
    const messages: string[] = [];
    let pausedMs = 0;
    try {
      await new Promise((r) => setTimeout(r, 500));
      await startMigration(url, await loadMigration(fixture('split-street.yaml')), {
        batchTimeMs: 20,
        // Small batches: enough of them for the back-off to run its course.
        onThrottle: (m) => messages.push(m),
        onProgress: (p) => {
          load.competing = true;
          pausedMs = p.pace?.throttledMs ?? pausedMs;
        },
      });
    } finally {
      await load.stop();
    }
    // It backed off first (it cannot know before it pauses), then saw the writers as slow while paused.
    expect(
      messages.some((m) => /^backfill users\.account backs off: writers' statements take/.test(m)),
      messages.join('\n'),
    ).toBe(true);
    expect(
      messages.some((m) =>
        /^backfill users\.account: writers' statements take [\d.]+× their time before the backfill even while it pauses: not the backfill's doing, so no pause/.test(
          m,
        ),
      ),
      messages.join('\n'),
    ).toBe(true);
    // Pauses that doubled on to 2 s after every batch would have taken minutes.
    expect(pausedMs, messages.join('\n')).toBeLessThan(5_000);
    await withClient(url, async (c) => {
      const { rows: left } = await c.query(
        'SELECT count(*)::int AS n FROM users.account WHERE street IS NULL OR number IS NULL',
      );
      expect(left[0].n).toBe(0);
      // It paused before it could tell (the rule reads pauses): the pauses are throttled time, saved too.
      const { rows: saved } = await c.query(
        `SELECT (backfill->'users.account'->'pace'->>'throttledMs')::float8 AS ms FROM pgpact.migrations`,
      );
      expect(saved[0].ms).toBeGreaterThan(0);
    });
  }, 120_000);
});
