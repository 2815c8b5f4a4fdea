import type { RuntimeSample } from './types.js';

/**
 * Whether a service got slower, judged against its own baseline: per-sample figures of a
 * baseline window and of the samples while a neighbour was loud, compared by their means
 * and by Welch's t statistic, so a rise is only claimed when the samples show it beyond
 * their own scatter. No absolute floor: 0.017 → 0.059 ms is a slowdown when every second
 * shows it.
 */

/** Mean, and Welch's t of the difference (b − a) in units of its standard error. */
export function welchT(a: number[], b: number[]): number {
  if (a.length < 2 || b.length < 2) return 0;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = (xs: number[], m: number) =>
    xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  const ma = mean(a);
  const mb = mean(b);
  const se = Math.sqrt(variance(a, ma) / a.length + variance(b, mb) / b.length);
  const diff = mb - ma;
  if (se === 0)
    return diff === 0 ? 0 : diff > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return diff / se;
}

/** A service's per-sample figures over some samples. */
export interface ServiceSeries {
  calls: number;
  statementTimeMs: number;
  seconds: number;
  /** Mean statement time of each sample that completed statements. */
  means: number[];
  /** Calls per second of each sample. */
  rates: number[];
}

/** The per-sample figures of one service (a sample without its row counts as no calls). */
export function seriesOf(samples: readonly RuntimeSample[], service: string): ServiceSeries {
  const series: ServiceSeries = { calls: 0, statementTimeMs: 0, seconds: 0, means: [], rates: [] };
  for (const s of samples) {
    const seconds = (s.intervalMs ?? 0) / 1000;
    if (seconds <= 0) continue;
    const row = s.services.find((r) => r.service === service);
    const calls = row?.calls ?? 0;
    series.calls += calls;
    series.statementTimeMs += row?.statementTimeMs ?? 0;
    series.seconds += seconds;
    series.rates.push(calls / seconds);
    if (row && calls > 0) series.means.push(row.statementTimeMs / calls);
  }
  return series;
}

export interface SlowdownThresholds {
  /** Relative rise of the mean statement time (0.5 = +50%). */
  minSlowdown: number;
  /** Absolute rise of the mean statement time, ms (0: none; statistics decide). */
  minSlowdownMs: number;
  /** Relative fall of calls per second (0.1 = −10%). */
  minThroughputDrop: number;
  /** Welch's t the change must reach (3: far beyond the samples' own scatter). */
  minEvidence: number;
  /** Completed statements the service must have run in its baseline; samples each side needs. */
  minCalls: number;
  minSamples: number;
}

/** A slowed service's figures: before (its baseline) and during the neighbour's rise. */
export interface Slowdown {
  service: string;
  meanMs: { before: number; after: number };
  callsPerSecond: { before: number; after: number };
  /** Which of the two moved beyond the thresholds, with evidence. */
  slower: boolean;
  fewer: boolean;
}

/** The slowdown of a service between a baseline and the samples of an episode, when there is one. */
export function slowdownOf(
  service: string,
  before: ServiceSeries,
  during: ServiceSeries,
  t: SlowdownThresholds,
): Slowdown | undefined {
  if (
    before.calls < t.minCalls ||
    before.rates.length < t.minSamples ||
    during.rates.length < t.minSamples
  )
    return undefined;
  const meanBefore = before.statementTimeMs / before.calls;
  const meanAfter = during.calls > 0 ? during.statementTimeMs / during.calls : meanBefore;
  const rateBefore = before.calls / before.seconds;
  const rateAfter = during.seconds > 0 ? during.calls / during.seconds : rateBefore;
  const slower =
    during.means.length >= t.minSamples &&
    before.means.length >= t.minSamples &&
    meanAfter >= meanBefore * (1 + t.minSlowdown) &&
    meanAfter - meanBefore >= t.minSlowdownMs &&
    welchT(before.means, during.means) >= t.minEvidence;
  const fewer =
    rateAfter <= rateBefore * (1 - t.minThroughputDrop) &&
    welchT(before.rates, during.rates) <= -t.minEvidence;
  if (!slower && !fewer) return undefined;
  return {
    service,
    meanMs: { before: meanBefore, after: meanAfter },
    callsPerSecond: { before: rateBefore, after: rateAfter },
    slower,
    fewer,
  };
}
