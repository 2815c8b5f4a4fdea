import { welchT } from '../runtime/slowdown.js';

/** One statement's duration as logged: it ended at `atMs` and ran `ms`. */
export interface TimedStatement {
  atMs: number;
  service: string;
  ms: number;
  statement: string;
}

/** A service slowed during an episode: before (the quiet seconds) → during. */
export interface SlowedService {
  service: string;
  meanBeforeMs: number;
  meanDuringMs: number;
  callsPerSecondBefore: number;
  callsPerSecondDuring: number;
}

/** A period where one service's share of database time jumped while others got slower. */
export interface NoisyEpisode {
  from: string;
  to: string;
  noisy: { service: string; shareBefore: number; shareDuring: number; statement: string };
  slowed: SlowedService[];
}

export interface NoisyEpisodeOptions {
  /** Width of the time buckets (default 1 s). */
  bucketMs?: number;
  /** How far a service's share must rise above its usual (median) share (default 0.3). */
  shareJump?: number;
  /** Welch's t a slowdown must reach, in means or calls per second (default 3). */
  minT?: number;
}

interface Bucket {
  time: Map<string, number>;
  calls: Map<string, number>;
  callTime: Map<string, number>;
}

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/**
 * Noisy episodes from logged durations: seconds where one service's share of database time
 * (each statement's time spread over the seconds it ran) rose well above its usual share,
 * grouped into periods, kept when another service's mean statement time rose or its calls per
 * second fell, judged against its own quiet seconds by Welch's t (no absolute floor).
 */
export function findNoisyEpisodes(
  statements: readonly TimedStatement[],
  options: NoisyEpisodeOptions = {},
): NoisyEpisode[] {
  const bucketMs = options.bucketMs ?? 1000;
  const jump = options.shareJump ?? 0.3;
  const minT = options.minT ?? 3;
  if (statements.length === 0) return [];
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of statements) {
    first = Math.min(first, s.atMs - s.ms);
    last = Math.max(last, s.atMs);
  }
  const start = Math.floor(first / bucketMs);
  const count = Math.floor(last / bucketMs) - start + 1;
  if (count < 4 || count > 10_000_000) return [];
  const buckets: Bucket[] = Array.from({ length: count }, () => ({
    time: new Map(),
    calls: new Map(),
    callTime: new Map(),
  }));
  const services = new Set<string>();
  for (const s of statements) {
    services.add(s.service);
    const end = Math.floor(s.atMs / bucketMs) - start;
    add(buckets[end]!.calls, s.service, 1);
    add(buckets[end]!.callTime, s.service, s.ms);
    // Spread the statement's time over the buckets it ran in.
    let from = s.atMs - s.ms;
    while (from < s.atMs) {
      const i = Math.floor(from / bucketMs) - start;
      const edge = Math.min(s.atMs, (i + start + 1) * bucketMs);
      add(buckets[Math.max(0, i)]!.time, s.service, edge - from);
      from = edge;
    }
  }
  const totals = buckets.map((b) => [...b.time.values()].reduce((a, x) => a + x, 0));
  const share = (i: number, service: string) =>
    totals[i]! > 0 ? (buckets[i]!.time.get(service) ?? 0) / totals[i]! : 0;
  const usual = new Map<string, number>();
  for (const service of services) {
    const shares = buckets.map((_, i) => share(i, service)).sort((a, b) => a - b);
    usual.set(service, shares[Math.floor(shares.length / 2)]!);
  }
  const loudOf = (i: number): string | undefined => {
    let loud: string | undefined;
    let best = 0;
    for (const service of services) {
      const rise = share(i, service) - usual.get(service)!;
      if (rise >= jump && rise > best) {
        best = rise;
        loud = service;
      }
    }
    return loud;
  };
  // The first and last buckets are partly outside the log: they would look like slowdowns.
  const loud = buckets.map((_, i) => (i === 0 || i === count - 1 ? null : loudOf(i)));
  const quiet = loud.flatMap((l, i) => (l === undefined ? [i] : []));
  const episodes: NoisyEpisode[] = [];
  for (let i = 0; i < count; ) {
    const service = loud[i];
    if (service === undefined || service === null) {
      i += 1;
      continue;
    }
    let j = i;
    while (j + 1 < count && loud[j + 1] === service) j += 1;
    const during = Array.from({ length: j - i + 1 }, (_, k) => i + k);
    const episode = judge(service, during, quiet);
    if (episode) episodes.push(episode);
    i = j + 1;
  }
  return episodes;

  function judge(noisy: string, during: number[], before: number[]): NoisyEpisode | undefined {
    if (during.length < 2 || before.length < 3) return undefined;
    const slowed: SlowedService[] = [];
    for (const service of services) {
      if (service === noisy) continue;
      const means = (idx: number[]) =>
        idx.flatMap((i) => {
          const calls = buckets[i]!.calls.get(service) ?? 0;
          return calls > 0 ? [buckets[i]!.callTime.get(service)! / calls] : [];
        });
      const rates = (idx: number[]) =>
        idx.map((i) => (buckets[i]!.calls.get(service) ?? 0) / (bucketMs / 1000));
      const rateBefore = rates(before);
      if (mean(rateBefore) === 0) continue;
      const meanB = means(before);
      // Statements held up by the noisy one end just after it: their second counts for means.
      const meanD = means(during.at(-1)! + 1 < count ? [...during, during.at(-1)! + 1] : during);
      // The episode's first and last seconds are partly quiet: judge throughput on its interior.
      const rateD = rates(during.length >= 4 ? during.slice(1, -1) : during);
      const slowerMeans = meanD.length >= 2 && welchT(meanB, meanD) >= minT;
      const fewerCalls = welchT(rateBefore, rateD) <= -minT;
      if (!slowerMeans && !fewerCalls) continue;
      slowed.push({
        service,
        meanBeforeMs: mean(meanB),
        meanDuringMs: mean(meanD),
        callsPerSecondBefore: mean(rateBefore),
        callsPerSecondDuring: mean(rates(during)),
      });
    }
    if (slowed.length === 0) return undefined;
    const from = (during[0]! + start) * bucketMs;
    const to = (during.at(-1)! + start + 1) * bucketMs;
    const shareDuring = mean(during.map((i) => share(i, noisy)));
    let statement = '';
    let most = 0;
    const times = new Map<string, number>();
    for (const s of statements)
      if (s.service === noisy && s.atMs > from && s.atMs - s.ms < to) {
        const t = (times.get(s.statement) ?? 0) + s.ms;
        times.set(s.statement, t);
        if (t > most) {
          most = t;
          statement = s.statement;
        }
      }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      noisy: {
        service: noisy,
        shareBefore: usual.get(noisy)!,
        shareDuring,
        statement,
      },
      slowed,
    };
  }
}
