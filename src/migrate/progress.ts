import type { TableBackfill } from './types.js';

/**
 * What an operator needs to trust a running backfill: how far it is, how fast it went over
 * the last minute, when it will end, and why it is slow. Kept with the table's progress in
 * schema pgpact so `status` and the dashboard read the same figures the running start prints.
 */
export interface BackfillPace {
  /** Rows per second over the last minute (throttled time included: it is what the operator waits). */
  rowsPerSecond?: number;
  /** Seconds left at that rate; absent while nothing moved in the last minute. */
  etaSeconds?: number;
  /** Time spent throttled (paused before a batch) since the backfill of the table began, over every run. */
  throttledMs: number;
  /** Why the backfill waits right now (`paused by pgpact migrate throttle`, `replica lag 12.0s > 5s`...). */
  throttledBy?: string;
  /** Why the adaptive batches hold back now: writers waited on the batch, or their statements slowed. */
  backoff?: string;
  /** Rows of the last batch (adaptive unless --batch-size). */
  batchSize?: number;
  /** When these figures were taken (ISO). */
  at: string;
}

/** How far the walk over the table is, 0..1: by key position or page, which ends exactly when the backfill does. */
export function backfillFraction(b: TableBackfill): number {
  if (b.done) return 1;
  if (b.lastKey === null) return 0;
  if (b.keyRange) {
    const min = BigInt(b.keyRange.min);
    const span = Number(BigInt(b.keyRange.max) - min + 1n);
    return span > 0 ? Math.min(1, Number(BigInt(b.lastKey[0]!) - min + 1n) / span) : 1;
  }
  if (b.strategy === 'ctid') {
    const pages = b.pages ?? 0;
    return pages > 0 ? Math.min(1, Number(b.lastKey[0]) / pages) : 1;
  }
  return b.rowsTotal > 0 ? Math.min(1, b.rowsDone / b.rowsTotal) : 0;
}

/** Rate samples are kept this long: the rate is the one of the last minute. */
const WINDOW_MS = 60_000;

/** Measures one table's backfill: rows/s over the last minute, ETA, time throttled. */
export class ProgressMeter {
  private readonly samples: { at: number; rows: number }[] = [];
  private throttledMs: number;
  private throttledSince: number | undefined;
  private reason: string | undefined;
  private backoffReason: string | undefined;

  /** Continues from the figures a previous run saved (throttled time adds up over runs). */
  constructor(saved: BackfillPace | undefined) {
    this.throttledMs = saved?.throttledMs ?? 0;
  }

  /** Rows done at a point in time (after each batch, and while throttled). */
  record(rowsDone: number, now = Date.now()): void {
    this.samples.push({ at: now, rows: rowsDone });
    while (this.samples.length > 2 && now - this.samples[1]!.at > WINDOW_MS) this.samples.shift();
  }

  /** Marks the backfill throttled (with why) or running again (undefined). */
  throttle(reason: string | undefined, now = Date.now()): void {
    if (reason !== undefined && this.throttledSince === undefined) this.throttledSince = now;
    if (reason === undefined && this.throttledSince !== undefined) {
      this.throttledMs += now - this.throttledSince;
      this.throttledSince = undefined;
    }
    this.reason = reason;
  }

  /** Why the batches hold back now (undefined: they do not). */
  backoff(reason: string | undefined): void {
    this.backoffReason = reason;
  }

  /** A pause between batches the back-off made: throttled time too. */
  paused(ms: number): void {
    this.throttledMs += ms;
  }

  /** The figures for the table's progress now. */
  pace(progress: TableBackfill, batchSize: number | undefined, now = Date.now()): BackfillPace {
    const throttledMs =
      this.throttledMs + (this.throttledSince === undefined ? 0 : now - this.throttledSince);
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    let rowsPerSecond: number | undefined;
    let etaSeconds: number | undefined;
    if (first && last && now > first.at) {
      rowsPerSecond = ((last.rows - first.rows) / (now - first.at)) * 1000;
      const left =
        (1 - backfillFraction(progress)) * Math.max(progress.rowsTotal, progress.rowsDone);
      if (rowsPerSecond > 0) etaSeconds = Math.round(left / rowsPerSecond);
      if (progress.done) etaSeconds = 0;
      rowsPerSecond = Math.round(rowsPerSecond);
    }
    return {
      ...(rowsPerSecond === undefined ? {} : { rowsPerSecond }),
      ...(etaSeconds === undefined ? {} : { etaSeconds }),
      throttledMs,
      ...(this.reason === undefined ? {} : { throttledBy: this.reason }),
      ...(this.backoffReason === undefined ? {} : { backoff: this.backoffReason }),
      ...(batchSize === undefined ? {} : { batchSize }),
      at: new Date(now).toISOString(),
    };
  }
}
