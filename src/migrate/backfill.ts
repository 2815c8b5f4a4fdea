import { setTimeout as sleep } from 'node:timers/promises';
import { toPostgresError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import { saveBackfill } from './bookkeeping.js';
import { tableKey } from './names.js';
import { qualified } from './plan-sql.js';
import type { BackfillPlan } from './plan-types.js';
import { MARKER, marked, withRetry } from './sql-run.js';
import type { StepContext } from './steps.js';
import { BACKFILL_SETTING } from './sync-trigger.js';
import {
  BatchSizer,
  type BatchSizing,
  type WriterTimesObserved,
  WriterWatch,
} from './adaptive-batch.js';
import { ProgressMeter } from './progress.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import type { TableBackfill } from './types.js';

/**
 * The backfill: one UPDATE per batch computing the new columns directly,
 * walking the primary key with keyset pagination (or the table's pages by ctid
 * when it has none). The sync trigger stands aside (session setting
 * pgpact.backfill = on) so a batch costs what a plain UPDATE costs. Each batch
 * commits together with its progress, so a killed run resumes at the next one.
 * Only rows no write has synced yet are touched, and a row a writer changes
 * while the batch waits for it is re-checked by Postgres before the update.
 */

/** Options of the backfill on top of the step context. */
export interface BackfillOptions {
  /** Fixed rows per batch, or a target batch duration. */
  sizing: BatchSizing;
  /** Conditions the backfill waits on before a batch; the operator's pause is always checked. */
  throttle?: ThrottleOptions;
  /** The database URL, for the session that watches writers blocked by a batch (adaptive batches). */
  watchUrl?: string;
  onProgress?: (progress: TableBackfill) => void;
  /** Each pause with its reason, and its end. */
  onThrottle?: (message: string) => void;
}

async function initialProgress(client: Queryable, plan: BackfillPlan): Promise<TableBackfill> {
  const table = qualified(plan.table);
  const { rows } = await client.query<{ tuples: string; pages: string }>(
    `${MARKER} SELECT c.reltuples::bigint::text AS tuples, (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [table],
  );
  let total = Number(rows[0]?.tuples ?? -1);
  // Exact counts for tables up to a few million rows; the planner's estimate above.
  if (total < 0 || total < 5_000_000) {
    const counted = await client.query<{ n: string }>(
      marked(`SELECT count(*)::text AS n FROM ${table}`),
    );
    total = Number(counted.rows[0]!.n);
  }
  const keyRange = await denseKeyRange(client, plan, total);
  return {
    table: plan.table,
    strategy: plan.strategy,
    lastKey: null,
    rowsDone: 0,
    rowsTotal: total,
    ...(plan.strategy === 'ctid' ? { pages: Number(rows[0]?.pages ?? 0) } : {}),
    ...(keyRange ? { keyRange } : {}),
    done: false,
  };
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);
/** At least this many rows per key value for ranges to stand in for counted batches. */
const MIN_DENSITY = 0.5;

/** The key range of a single integer primary key when its values are dense (identity, serial). */
async function denseKeyRange(
  client: Queryable,
  plan: BackfillPlan,
  rows: number,
): Promise<{ min: string; max: string } | undefined> {
  if (
    plan.strategy !== 'primary-key' ||
    plan.key.length !== 1 ||
    !INTEGER_TYPES.has(plan.key[0]!.type) ||
    rows === 0
  )
    return undefined;
  const k = quoteIdent(plan.key[0]!.name);
  const { rows: r } = await client.query<{ min: string | null; max: string | null }>(
    marked(`SELECT min(${k})::text AS min, max(${k})::text AS max FROM ${qualified(plan.table)}`),
  );
  const { min, max } = r[0] ?? {};
  if (min == null || max == null) return undefined;
  const span = BigInt(max) - BigInt(min) + 1n;
  return rows / Number(span) >= MIN_DENSITY ? { min, max } : undefined;
}

/** One batch of a dense integer key: the next range of keys, sized by the key density. */
async function keyRangeBatch(
  client: Queryable,
  plan: BackfillPlan,
  progress: TableBackfill,
  batchSize: number,
  migration: string,
): Promise<TableBackfill> {
  const range = progress.keyRange!;
  const min = BigInt(range.min);
  const max = BigInt(range.max);
  const density = Math.max(MIN_DENSITY, progress.rowsTotal / Number(max - min + 1n));
  const step = BigInt(Math.max(1, Math.ceil(batchSize / Math.min(1, density))));
  const lo = progress.lastKey === null ? min - 1n : BigInt(progress.lastKey[0]!);
  if (lo >= max) return { ...progress, done: true };
  const hi = lo + step < max ? lo + step : max;
  const covered = Math.round(Number(hi - min + 1n) * Math.min(1, density));
  const after: TableBackfill = {
    ...progress,
    lastKey: [String(hi)],
    rowsDone: Math.min(progress.rowsTotal, covered),
    done: hi >= max,
  };
  const k = quoteIdent(plan.key[0]!.name);
  const type = plan.key[0]!.type;
  // The batch and its progress in one statement (one transaction, one round trip); a data-modifying
  // WITH runs whether or not it is referenced.
  const sql = marked(
    `WITH batch AS (UPDATE ${qualified(plan.table)} SET ${plan.assignments} WHERE ${k} > $1::${type} AND ${k} <= $2::${type} AND (${plan.condition}))
     UPDATE pgpact.migrations SET backfill = jsonb_set(backfill, ARRAY[$4], $5::jsonb), updated_at = now()
     WHERE name = $3`,
  );
  try {
    await client.query(sql, [
      String(lo),
      String(hi),
      migration,
      tableKey(plan.table),
      JSON.stringify(after),
    ]);
  } catch (error) {
    throw toPostgresError(error, sql);
  }
  return after;
}

function keyList(plan: BackfillPlan): string {
  return plan.key.map((k) => quoteIdent(k.name)).join(', ');
}

function keyAbove(plan: BackfillPlan, firstParam: number, op: '>' | '<='): string {
  const columns = plan.key.map((k) => quoteIdent(k.name));
  const params = plan.key.map((k, i) => `$${firstParam + i}::${k.type}`);
  return columns.length === 1
    ? `${columns[0]} ${op} ${params[0]}`
    : `(${columns.join(', ')}) ${op} (${params.join(', ')})`;
}

/** One batch by primary key: returns the new progress. */
async function primaryKeyBatch(
  client: Queryable,
  plan: BackfillPlan,
  progress: TableBackfill,
  batchSize: number,
): Promise<TableBackfill> {
  const table = qualified(plan.table);
  const last = progress.lastKey;
  const lower = last === null ? 'true' : keyAbove(plan, 1, '>');
  const lowerParams = last ?? [];
  const asText = plan.key.map((k, i) => `${quoteIdent(k.name)}::text AS k${i}`).join(', ');
  const keysOf = (row: Record<string, string>) => plan.key.map((_, i) => row[`k${i}`]!);
  const order = keyList(plan);
  const next = await client.query<Record<string, string>>(
    marked(
      `SELECT ${asText} FROM ${table} WHERE ${lower} ORDER BY ${order} OFFSET ${batchSize - 1} LIMIT 1`,
    ),
    lowerParams,
  );
  let upper: string[];
  let rows: number;
  let done = false;
  if (next.rows.length > 0) {
    upper = keysOf(next.rows[0]!);
    rows = batchSize;
  } else {
    const tail = await client.query<Record<string, string>>(
      marked(
        `SELECT ${asText}, count(*) OVER () AS n FROM ${table} WHERE ${lower} ORDER BY ${plan.key.map((k) => `${quoteIdent(k.name)} DESC`).join(', ')} LIMIT 1`,
      ),
      lowerParams,
    );
    done = true;
    if (tail.rows.length === 0) return { ...progress, done };
    upper = keysOf(tail.rows[0]!);
    rows = Number(tail.rows[0]!.n);
  }
  const upperCondition = keyAbove(plan, lowerParams.length + 1, '<=');
  const sql = marked(
    `UPDATE ${table} SET ${plan.assignments} WHERE ${lower} AND ${upperCondition} AND (${plan.condition})`,
  );
  try {
    await client.query(sql, [...lowerParams, ...upper]);
  } catch (error) {
    throw toPostgresError(error, sql);
  }
  return { ...progress, lastKey: upper, rowsDone: progress.rowsDone + rows, done };
}

/** One batch by pages (tables without a primary key): TID range scans over the pages the table had at start. */
async function ctidBatch(
  client: Queryable,
  plan: BackfillPlan,
  progress: TableBackfill,
  batchSize: number,
): Promise<TableBackfill> {
  const table = qualified(plan.table);
  const pages = progress.pages ?? 0;
  const rowsPerPage = progress.rowsTotal > 0 && pages > 0 ? progress.rowsTotal / pages : 100;
  const span = Math.max(1, Math.round(batchSize / Math.max(1, rowsPerPage)));
  const from = progress.lastKey === null ? 0 : Number(progress.lastKey[0]);
  if (from >= pages) return { ...progress, done: true };
  const to = Math.min(pages, from + span);
  const sql = marked(
    `UPDATE ${table} SET ${plan.assignments} WHERE ctid >= $1::tid AND ctid < $2::tid AND (${plan.condition})`,
  );
  let updated: number;
  try {
    updated = (await client.query(sql, [`(${from},0)`, `(${to},0)`])).rowCount ?? 0;
  } catch (error) {
    throw toPostgresError(error, sql);
  }
  return {
    ...progress,
    lastKey: [String(to)],
    rowsDone: progress.rowsDone + updated,
    done: to >= pages,
  };
}

/** Runs (or resumes) the backfill of one table until every row has the new columns. */
export async function runBackfill(
  ctx: StepContext,
  plan: BackfillPlan,
  saved: TableBackfill | undefined,
  options: BackfillOptions,
): Promise<TableBackfill> {
  const { client } = ctx;
  const key = tableKey(plan.table);
  if (saved?.done) return saved;
  const sizer = new BatchSizer(options.sizing);
  // Opened first: its baseline window of the writers' times runs while the table is counted.
  const watch =
    sizer.adaptive && options.watchUrl
      ? // Without a second session (connection limit), batches still follow their duration.
        await WriterWatch.open(options.watchUrl, await backendPid(client)).catch(() => undefined)
      : undefined;
  const throttle = new Throttle(client, options.throttle ?? {});
  try {
    let progress = saved ?? (await initialProgress(client, plan));
    if (progress.done) return progress;
    ctx.onStep?.(`backfill ${key}`);
    await throttle.validate();
    const meter = new ProgressMeter(progress.pace);
    meter.record(progress.rowsDone);
    await client.query(`SET ${BACKFILL_SETTING} = 'on'`);
    // A batch lost to a server crash is lost with its recorded progress (same WAL order): redone on resume.
    await client.query('SET synchronous_commit = off');
    // Where allowed (superuser, or GRANT SET ON PARAMETER), no trigger fires for the backfill's
    // own updates: the sync trigger's WHEN clause is not even evaluated, so a batch costs what a
    // plain UPDATE costs. Otherwise the WHEN clause on pgpact.backfill lets it stand aside.
    await client.query(`SET session_replication_role = replica`).catch(() => undefined);
    await client.query(
      `SET lock_timeout = ${quoteLiteral(`${Math.max(1, Math.round(ctx.retry.lockTimeoutMs))}ms`)}`,
    );
    await watch?.takeBaseline(plan.table);
    let lastCheck = 0;
    let backoff: string | undefined;
    /** The back-off's reason to the meter, and to the operator when it changed. */
    const reportBackoff = () => {
      meter.backoff(sizer.backoff);
      if (sizer.backoff === backoff) return;
      if (sizer.backoff) options.onThrottle?.(`backfill ${key} backs off: ${sizer.backoff}`);
      else options.onThrottle?.(`backfill ${key} no longer backs off`);
      backoff = sizer.backoff;
    };
    while (!progress.done) {
      ctx.retry.signal?.throwIfAborted();
      if (Date.now() - lastCheck >= throttle.intervalMs) {
        progress = await waitWhileThrottled(ctx, key, progress, throttle, meter, sizer, options);
        lastCheck = Date.now();
      }
      const before: TableBackfill = { ...progress, pace: meter.pace(progress, sizer.size) };
      const size = sizer.size;
      const started = performance.now();
      let writersWaited = 0;
      let writerTimes: WriterTimesObserved | undefined;
      progress = await withRetry(ctx.retry, `backfill of ${key}`, client, async () => {
        const batch = runBatch(ctx, plan, before, size);
        if (!watch) return batch;
        const watched = await watch.during(batch, Math.max(10, options.sizing.targetMs / 3));
        writersWaited = Math.max(writersWaited, watched.writersWaited);
        writerTimes = watched.writerTimes;
        return watched.result;
      });
      sizer.observe(performance.now() - started, writersWaited, writerTimes);
      reportBackoff();
      meter.record(progress.rowsDone);
      progress = { ...progress, pace: meter.pace(progress, size) };
      options.onProgress?.(progress);
      if (sizer.pauseMs > 0 && !progress.done) {
        // Yields to the writers; counted as throttled time, the reason is in the progress (backoff).
        const pauseMs = sizer.pauseMs;
        const signal = ctx.retry.signal;
        if (watch) {
          const changed = sizer.observePause(await watch.pause(pauseMs, signal));
          if (changed) options.onThrottle?.(`backfill ${key}: ${changed}`);
        } else await sleep(pauseMs, undefined, signal ? { signal } : undefined);
        meter.paused(pauseMs);
        reportBackoff();
      }
    }
    return progress;
  } finally {
    await watch?.close();
    await throttle.close();
    await client.query(`RESET ${BACKFILL_SETTING}`).catch(() => undefined);
    await client.query('RESET session_replication_role').catch(() => undefined);
    await client.query('RESET lock_timeout').catch(() => undefined);
    await client.query('RESET synchronous_commit').catch(() => undefined);
  }
}

async function backendPid(client: Queryable): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

/** One batch and its recorded progress, committed together. */
async function runBatch(
  ctx: StepContext,
  plan: BackfillPlan,
  before: TableBackfill,
  size: number,
): Promise<TableBackfill> {
  const { client } = ctx;
  if (before.keyRange) return keyRangeBatch(client, plan, before, size, ctx.migration);
  await client.query('BEGIN');
  try {
    const after =
      plan.strategy === 'ctid'
        ? await ctidBatch(client, plan, before, size)
        : await primaryKeyBatch(client, plan, before, size);
    await saveBackfill(client, ctx.migration, tableKey(plan.table), after);
    await client.query('COMMIT');
    return after;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Waits while a throttle condition holds, saving the progress with why it waits (status and
 * the dashboard read it) and reporting each pause and its end.
 */
async function waitWhileThrottled(
  ctx: StepContext,
  key: string,
  progress: TableBackfill,
  throttle: Throttle,
  meter: ProgressMeter,
  sizer: BatchSizer,
  options: BackfillOptions,
): Promise<TableBackfill> {
  let reason = await throttle.reason();
  if (reason === undefined) return progress;
  const since = Date.now();
  let current = progress;
  while (reason !== undefined) {
    if (reason !== current.pace?.throttledBy)
      options.onThrottle?.(`backfill ${key} throttled: ${reason}`);
    meter.throttle(reason);
    meter.record(current.rowsDone);
    current = { ...current, pace: meter.pace(current, sizer.size) };
    await saveBackfill(ctx.client, ctx.migration, key, current);
    options.onProgress?.(current);
    await sleep(
      throttle.intervalMs,
      undefined,
      ctx.retry.signal ? { signal: ctx.retry.signal } : undefined,
    );
    reason = await throttle.reason();
  }
  meter.throttle(undefined);
  options.onThrottle?.(
    `backfill ${key} resumed after ${((Date.now() - since) / 1000).toFixed(1)}s throttled`,
  );
  return { ...current, pace: meter.pace(current, sizer.size) };
}
