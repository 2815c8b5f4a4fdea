import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { connect } from '../postgres/client.js';
import { MARKER } from './sql-run.js';

/**
 * Adaptive batches: the batch size follows a target batch duration, halves when writers of
 * the table were seen waiting on the backfill's locks during a batch, and grows back by at
 * most half per batch. A fixed --batch-size turns it off.
 */
export interface BatchSizing {
  /** A fixed number of rows per batch (--batch-size): no adaptation. */
  fixed?: number;
  /** The duration a batch aims at (default 100 ms). */
  targetMs: number;
}

/** Default target duration of a batch. */
export const DEFAULT_BATCH_TIME_MS = 100;
const MIN_ROWS = 100;
const MAX_ROWS = 200_000;
const FIRST_ROWS = 1_000;

/** The batch size, adapted after each batch. */
export class BatchSizer {
  private rows: number;

  constructor(private readonly sizing: BatchSizing) {
    this.rows = sizing.fixed ?? FIRST_ROWS;
  }

  /** Rows for the next batch. */
  get size(): number {
    return this.rows;
  }

  /** Whether the size adapts (no fixed --batch-size). */
  get adaptive(): boolean {
    return this.sizing.fixed === undefined;
  }

  /** Adapts to the batch just run: its rows, duration and the writers it made wait. */
  observe(ms: number, writersWaited: number): void {
    if (!this.adaptive) return;
    if (writersWaited > 0) {
      this.rows = Math.max(MIN_ROWS, Math.floor(this.rows / 2));
      return;
    }
    const factor = Math.min(1.5, Math.max(0.5, this.sizing.targetMs / Math.max(1, ms)));
    this.rows = Math.min(MAX_ROWS, Math.max(MIN_ROWS, Math.round(this.rows * factor)));
  }
}

/**
 * Watches, from a second session, for writers blocked by the backfill's session while a batch
 * runs (pg_blocking_pids: row locks and table locks alike).
 */
export class WriterWatch {
  private constructor(
    private readonly client: pg.Client,
    private readonly backfillPid: number,
  ) {}

  /** Opens the watching session. */
  static async open(url: string, backfillPid: number): Promise<WriterWatch> {
    const client = await connect(url, { applicationName: 'pgpact migrate watch' });
    return new WriterWatch(client, backfillPid);
  }

  /** Runs the batch, sampling blocked writers every pollMs; returns its result and the most writers seen waiting. */
  async during<T>(
    batch: Promise<T>,
    pollMs: number,
  ): Promise<{ result: T; writersWaited: number }> {
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
    return { result: await batch, writersWaited };
  }

  /** Closes the watching session. */
  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
