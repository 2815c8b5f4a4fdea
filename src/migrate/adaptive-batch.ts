import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { connect } from '../postgres/client.js';
import { MARKER } from './sql-run.js';
import type { TableName } from './types.js';
import { WriterTimes } from './writer-times.js';

/**
 * Adaptive batches: the batch size follows a target batch duration, and the backfill backs
 * off when it hurts the table's writers: a writer seen waiting on the backfill's locks halves
 * the next batch; writers' statements taking longer than before the backfill (by more than
 * the slowdown factor) halve it too and add a pause between batches. Once they are back near
 * their baseline the pause shrinks and the size grows again, by at most half per batch.
 * Writers still slow while the backfill pauses are slow for another reason (a load of their
 * own, a table grown since): pausing would not help them and would starve the backfill, so
 * what they take during the pause becomes the level they are judged against. A fixed
 * --batch-size turns it off.
 */
export interface BatchSizing {
  /** A fixed number of rows per batch (--batch-size): no adaptation. */
  fixed?: number;
  /** The duration a batch aims at (default 20 ms). */
  targetMs: number;
  /** Back off while writers' statements take this many times their time before the backfill (default 1.5). */
  maxWriterSlowdown?: number;
}

/** Default target duration of a batch. */
export const DEFAULT_BATCH_TIME_MS = 20;
/** Default slowdown of the writers' statements the backfill tolerates. */
export const DEFAULT_MAX_WRITER_SLOWDOWN = 1.5;
const MIN_ROWS = 100;
const MAX_ROWS = 200_000;
const FIRST_ROWS = 1_000;
/** Writers' calls needed before their times are judged (fewer say little about a mean). */
const MIN_JUDGED_CALLS = 10;
/** Readings of the writers' times (one per WRITER_SAMPLE_MS at most) a judgement may span to gather those calls. */
const MAX_WINDOW_SAMPLES = 10;
/** Longest pause between batches while writers are slow. */
const MAX_PAUSE_MS = 2_000;

/** How the writers' statements fared during one batch (see WriterTimes). */
export interface WriterTimesObserved {
  calls: number;
  /** Their time, and what the same calls took on average before the backfill. */
  ms: number;
  baselineMs: number;
  /** Sums of their squared times, now and before: the tail (rare long waits) weighs in. */
  squares?: number;
  baselineSquares?: number;
}

/**
 * The writers' slowdown over samples together (MIN_JUDGED_CALLS calls at least): their time
 * ÷ what the same calls took before the backfill, or the same for the root mean square of
 * their times when larger; undefined with too few calls or no baseline.
 */
function slowdownOf(samples: WriterTimesObserved[]): number | undefined {
  let calls = 0;
  let ms = 0;
  let baselineMs = 0;
  let squares = 0;
  let baselineSquares = 0;
  for (const s of samples) {
    calls += s.calls;
    ms += s.ms;
    baselineMs += s.baselineMs;
    squares += s.squares ?? 0;
    baselineSquares += s.baselineSquares ?? 0;
  }
  if (calls < MIN_JUDGED_CALLS || baselineMs <= 0) return undefined;
  const mean = ms / baselineMs;
  return baselineSquares > 0 ? Math.max(mean, Math.sqrt(squares / baselineSquares)) : mean;
}

/** The batch size and the pause after each batch, adapted after each batch. */
export class BatchSizer {
  private rows: number;
  private pause = 0;
  private why: string | undefined;
  private window: WriterTimesObserved[] = [];
  /** Writers were judged slow and have not recovered since. */
  private holding = false;
  /** The writers' slowdown while the backfill paused: the level that is not the backfill's doing. */
  private level = 1;
  /** The writers' times over the latest pauses (since the back-off began). */
  private pauses: WriterTimesObserved[] = [];

  constructor(private readonly sizing: BatchSizing) {
    this.rows = sizing.fixed ?? FIRST_ROWS;
  }

  /** Rows for the next batch. */
  get size(): number {
    return this.rows;
  }

  /** Milliseconds to wait before the next batch (0 unless writers are slowed). */
  get pauseMs(): number {
    return this.pause;
  }

  /** Why the backfill holds back now (writers waited or are slower than before it), if it does. */
  get backoff(): string | undefined {
    return this.why;
  }

  /** Whether the size adapts (no fixed --batch-size). */
  get adaptive(): boolean {
    return this.sizing.fixed === undefined;
  }

  private get maxSlowdown(): number {
    return this.sizing.maxWriterSlowdown ?? DEFAULT_MAX_WRITER_SLOWDOWN;
  }

  /**
   * The writers' slowdown over the latest samples holding enough calls: their time ÷ what
   * the same calls took before the backfill, or the same for the root mean square of their
   * times when larger (a few calls waiting long raise it, as they raise the p99, while the
   * mean barely moves); undefined while too few calls were seen.
   */
  private slowdown(): number | undefined {
    for (let i = this.window.length - 1; i >= 0; i--) {
      const judged = slowdownOf(this.window.slice(i));
      if (judged !== undefined) return judged;
    }
    return undefined;
  }

  /** What a slowdown is measured against: their time before the backfill, or the level they kept while it paused. */
  private get against(): string {
    return this.level > 1
      ? 'their level while the backfill paused'
      : 'their time before the backfill';
  }

  /**
   * Adapts to what the writers' statements took while the backfill paused: still slow by
   * more than the recovery mark, they are slow for another reason, and that becomes the
   * level they are judged against; the pause ends. Returns what changed, if anything (a
   * pause with too few calls says nothing).
   */
  observePause(writers: WriterTimesObserved | undefined): string | undefined {
    if (!this.adaptive || writers === undefined || writers.calls === 0) return undefined;
    // Short pauses hold few calls: the latest pauses are judged together, as batches are.
    this.pauses.push(writers);
    if (this.pauses.length > MAX_WINDOW_SAMPLES) this.pauses.shift();
    let paused: number | undefined;
    for (let i = this.pauses.length - 1; i >= 0 && paused === undefined; i--)
      paused = slowdownOf(this.pauses.slice(i));
    if (paused === undefined || paused / this.level <= this.recoveryMark) return undefined;
    this.level = paused;
    this.pause = 0;
    this.holding = false;
    this.window = [];
    this.pauses = [];
    this.why = undefined;
    return `writers' statements take ${paused.toFixed(1)}× their time before the backfill even while it pauses: not the backfill's doing, so no pause; slowdowns are judged against that level from now on`;
  }

  /** At or below this slowdown writers count as recovered. */
  private get recoveryMark(): number {
    return 1 + (this.maxSlowdown - 1) / 2;
  }

  /** Adapts to the batch just run: its duration, the writers it made wait, the writers' statement times. */
  observe(ms: number, writersWaited: number, writers?: WriterTimesObserved): void {
    if (!this.adaptive) return;
    if (writers && writers.calls > 0) {
      this.window.push(writers);
      if (this.window.length > MAX_WINDOW_SAMPLES) this.window.shift();
    }
    if (writersWaited > 0) {
      this.rows = Math.max(MIN_ROWS, Math.floor(this.rows / 2));
      this.why = `${writersWaited} writer${writersWaited === 1 ? '' : 's'} waited on the batch's locks: batch halved`;
      return;
    }
    const measured = this.slowdown();
    // Writers clearly faster during batches than the level they kept while paused (by more than
    // the tolerated slowdown, so noise does not wear it down): that level is gone.
    if (measured !== undefined && measured * this.maxSlowdown < this.level)
      this.level = Math.max(1, measured);
    const slowdown = measured === undefined ? undefined : measured / this.level;
    if (slowdown !== undefined && slowdown > this.maxSlowdown) {
      this.rows = Math.max(MIN_ROWS, Math.floor(this.rows / 2));
      // Halving comes first; writers still slow after it get a pause after each batch too.
      if (this.holding)
        this.pause = Math.round(
          Math.min(MAX_PAUSE_MS, Math.max(this.sizing.targetMs / 4, this.pause * 2)),
        );
      this.holding = true;
      this.why = `writers' statements take ${slowdown.toFixed(1)}× ${this.against} (> ${this.maxSlowdown}): batch halved${this.pause > 0 ? `, ${this.pause} ms pause` : ''}`;
      // The next judgement waits for calls made under the new size.
      this.window = [];
      return;
    }
    const factor = Math.min(1.5, Math.max(0.5, this.sizing.targetMs / Math.max(1, ms)));
    // Between the recovery mark and the factor, or too few calls since backing off: no growth,
    // the pause stays.
    const recovered = slowdown === undefined ? !this.holding : slowdown <= this.recoveryMark;
    if (!recovered) {
      this.rows = Math.max(MIN_ROWS, Math.round(this.rows * Math.min(1, factor)));
      return;
    }
    this.holding = false;
    this.pause = this.pause / 2 < 5 ? 0 : Math.round(this.pause / 2);
    if (this.pause === 0) this.pauses = [];
    this.why =
      this.pause > 0
        ? `writers' statements back near ${this.against}: ${this.pause} ms pause, shrinking`
        : undefined;
    this.rows = Math.min(MAX_ROWS, Math.max(MIN_ROWS, Math.round(this.rows * factor)));
  }
}

/** Two samples of the writers' times as one. */
function addObserved(
  a: WriterTimesObserved | undefined,
  b: WriterTimesObserved | undefined,
): WriterTimesObserved | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    calls: a.calls + b.calls,
    ms: a.ms + b.ms,
    baselineMs: a.baselineMs + b.baselineMs,
    squares: (a.squares ?? 0) + (b.squares ?? 0),
    baselineSquares: (a.baselineSquares ?? 0) + (b.baselineSquares ?? 0),
  };
}

/** The baseline window of the writers' statement times: at least this long before the first batch. */
export const BASELINE_WINDOW_MS = 100;

/** The writers' times are read at most this often while batches run. */
export const WRITER_SAMPLE_MS = 100;

/**
 * Watches, from a second session, for writers blocked by the backfill's session while a batch
 * runs (pg_blocking_pids: row locks and table locks alike), and how long the table's writers'
 * statements take against their time before the backfill (WriterTimes).
 */
export class WriterWatch {
  private times: WriterTimes | undefined;
  private windowStart = 0;
  private pending: Promise<WriterTimesObserved | undefined> | undefined;
  /** When the writers' times were last read (performance.now()). */
  private sampledAt = 0;

  private constructor(
    private readonly client: pg.Client,
    private readonly backfillPid: number,
  ) {}

  /** Opens the watching session and starts the baseline window of the writers' times. */
  static async open(url: string, backfillPid: number): Promise<WriterWatch> {
    const client = await connect(url, { applicationName: 'pgpact migrate watch' });
    const watch = new WriterWatch(client, backfillPid);
    watch.windowStart = performance.now();
    watch.times = await WriterTimes.open(client).catch(() => undefined);
    return watch;
  }

  /**
   * Ends the baseline window (waiting until it lasted BASELINE_WINDOW_MS): the statements
   * writing `table` and their times. Returns how many writers' statements are watched.
   */
  async takeBaseline(table: TableName): Promise<number> {
    if (!this.times) return 0;
    const left = BASELINE_WINDOW_MS - (performance.now() - this.windowStart);
    if (left > 0) await sleep(left);
    // A catalog or statement the analyzer cannot read leaves the writers' times unwatched.
    return this.times.takeBaseline(table).catch(() => 0);
  }

  /** Runs the batch, sampling blocked writers every pollMs; returns its result, the most writers seen waiting and the writers' times. */
  async during<T>(
    batch: Promise<T>,
    pollMs: number,
  ): Promise<{ result: T; writersWaited: number; writerTimes?: WriterTimesObserved }> {
    let settled = false;
    const finished = batch.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    let writersWaited = 0;
    while (!settled) {
      await Promise.race([finished, sleep(pollMs)]);
      if (settled) break;
      const { rows } = await this.client
        .query<{ n: number }>(
          `${MARKER} SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND $1::int = ANY(pg_blocking_pids(pid))`,
          [this.backfillPid],
        )
        .catch(() => ({ rows: [{ n: 0 }] }));
      writersWaited = Math.max(writersWaited, rows[0]?.n ?? 0);
    }
    const result = await batch;
    // Off the batch's path: the writers' times up to now are read while the next batch runs and
    // judged after it (one batch late, no round trip between batches). Read every
    // WRITER_SAMPLE_MS, not after every batch: each reading costs the server a scan of
    // pg_stat_statements, and a batch of 20 ms holds too few writers' calls to be judged alone.
    const writerTimes = await this.pending;
    this.pending = undefined;
    if (this.times?.watching && performance.now() - this.sampledAt >= WRITER_SAMPLE_MS) {
      this.sampledAt = performance.now();
      this.pending = this.times.sample().catch(() => undefined);
    }
    return { result, writersWaited, ...(writerTimes ? { writerTimes } : {}) };
  }

  /**
   * Sleeps through the backfill's pause and returns the writers' times over it alone
   * (undefined when they are not watched). Calls that waited on the last batch end in its
   * first moments: they count with that batch, which is judged after the next one as usual.
   */
  async pause(ms: number, signal?: AbortSignal): Promise<WriterTimesObserved | undefined> {
    const wait = (t: number) => sleep(t, undefined, signal ? { signal } : undefined);
    if (!this.times?.watching) {
      await wait(ms);
      return undefined;
    }
    const settle = Math.min(ms, Math.max(2, Math.min(10, ms / 5)));
    const lastBatch = await this.pending;
    await wait(settle);
    const settling = await this.times.sample().catch(() => undefined);
    this.pending = Promise.resolve(addObserved(lastBatch, settling));
    await wait(ms - settle);
    return this.times.sample().catch(() => undefined);
  }

  /** Closes the watching session. */
  async close(): Promise<void> {
    await this.pending;
    await this.client.end().catch(() => undefined);
  }
}
