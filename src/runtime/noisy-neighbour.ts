import type { RuntimeFinding } from './runtime-finding.js';
import { describeService } from './service-namer.js';
import { type Slowdown, seriesOf, slowdownOf } from './slowdown.js';
import type { Attribution, RuntimeSample } from './types.js';

/**
 * A noisy neighbour, concretely: compare two consecutive windows of equal
 * length (the baseline, then the recent one). Service N is noisy when its share
 * of database time rose by at least `minShareRise`, or the processes it keeps busy
 * on CPUs (sessions and parallel workers, averaged over the samples) rose by at
 * least `minBusyRise` and at least doubled, or its connections rose by at least
 * `minConnectionRise` and doubled; while another service V slowed, judged against
 * V's own baseline window and the samples of the recent window in which N was loud
 * (see slowdown.ts: per-sample figures, Welch's t at least `minEvidence`):
 *
 * - V's mean statement time rose by at least `minSlowdown` (relative; no absolute
 *   floor by default: fast OLTP statements slow from 0.017 to 0.059 ms), or
 * - V's calls per second fell by at least `minThroughputDrop` (its clients got
 *   fewer statements through, whether or not each one took longer), or
 * - the server's CPUs were saturated (`serverCpus` known, and the busy processes of
 *   all services averaged at least that many, at least half of them N's) while V
 *   ran at least `minCalls` statements. Statements that wait for a CPU wait before
 *   they start, so their own time does not rise; short statements of a starved
 *   service look as fast as ever in statement statistics while its clients wait.
 */
export interface NoisyNeighbourOptions {
  /** Length of each window. Default 10 s. */
  windowMs: number;
  /** Rise of the share of database time, in fractions (0.25 = 25 points). */
  minShareRise: number;
  /** Rise of the average busy processes (1 = one more CPU kept busy). */
  minBusyRise: number;
  minConnectionRise: number;
  /** Relative rise of the victim's mean statement time (0.5 = +50%). */
  minSlowdown: number;
  /** Absolute rise of the victim's mean statement time, ms (default 0: the evidence decides). */
  minSlowdownMs: number;
  /** Relative fall of the victim's calls per second (0.1 = −10%). */
  minThroughputDrop: number;
  /** Welch's t a victim's change must reach over its own per-sample scatter. */
  minEvidence: number;
  /** Completed statements a victim must have run in its baseline. */
  minCalls: number;
  /** Samples each side of the comparison needs. */
  minSamples: number;
  /** CPUs of the database server, when known (the CPU-saturation rule needs it). */
  serverCpus: number | null;
}

export const DEFAULT_NOISY_NEIGHBOUR: NoisyNeighbourOptions = {
  windowMs: 10_000,
  minShareRise: 0.25,
  minBusyRise: 1,
  minConnectionRise: 5,
  minSlowdown: 0.5,
  minSlowdownMs: 0,
  minThroughputDrop: 0.1,
  minEvidence: 3,
  minCalls: 20,
  minSamples: 3,
  serverCpus: null,
};

interface WindowStats {
  dbTimeMs: number;
  calls: number;
  /** Average busy processes and parallel workers over the window's samples. */
  busy: number;
  workers: number;
  statementTimeMs: number;
  connections: number;
  attribution: Attribution;
}

/** Sample times, parsed once per sample (the windows are computed every tick over the whole history). */
const takenAtMs = new WeakMap<RuntimeSample, number>();
export function timeOf(sample: RuntimeSample): number {
  let t = takenAtMs.get(sample);
  if (t === undefined) {
    t = Date.parse(sample.takenAt);
    takenAtMs.set(sample, t);
  }
  return t;
}

/** The per-service figures of the samples taken in (from, to]. */
function windowOf(history: readonly RuntimeSample[], fromMs: number, toMs: number) {
  // The history is in time order: walk back from the newest sample to the window's start.
  const samples: RuntimeSample[] = [];
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const s = history[i]!;
    const t = timeOf(s);
    if (t <= fromMs) break;
    if (t <= toMs && s.intervalMs !== null) samples.unshift(s);
  }
  const services = new Map<string, WindowStats>();
  let total = 0;
  for (const sample of samples) {
    for (const row of sample.services) {
      const stats = services.get(row.service) ?? {
        dbTimeMs: 0,
        calls: 0,
        busy: 0,
        workers: 0,
        statementTimeMs: 0,
        connections: 0,
        attribution: row.attribution,
      };
      stats.dbTimeMs += row.dbTimeMs;
      stats.calls += row.calls;
      stats.busy += (row.busyProcesses ?? 0) / samples.length;
      stats.workers += (row.parallelWorkers ?? 0) / samples.length;
      stats.statementTimeMs += row.statementTimeMs;
      stats.connections += row.connections.total / samples.length;
      total += row.dbTimeMs;
      services.set(row.service, stats);
    }
  }
  const coveredMs = samples.reduce((sum, s) => sum + (s.intervalMs ?? 0), 0);
  const busy = [...services.values()].reduce((sum, s) => sum + s.busy, 0);
  return { services, total, busy, coveredMs, samples };
}

/** A service's share of database time (0..1) and its average busy processes over the last windowMs of the history. */
export function recentLoad(
  history: readonly RuntimeSample[],
  service: string,
  windowMs: number,
): { share: number; busy: number } {
  const last = history.at(-1);
  if (!last) return { share: 0, busy: 0 };
  const end = timeOf(last);
  return loadIn(windowOf(history, end - windowMs, end), service);
}

function loadIn(w: ReturnType<typeof windowOf>, service: string): { share: number; busy: number } {
  const stats = w.services.get(service);
  return {
    share: w.total > 0 ? (stats?.dbTimeMs ?? 0) / w.total : 0,
    busy: stats?.busy ?? 0,
  };
}

/**
 * Keeps a noisy-neighbour finding while its cause lasts: once detected, it stays
 * as long as the noisy service's share stays at least minShareRise above its
 * share before the jump, or its busy processes at least minBusyRise above theirs,
 * even after the jump has left the baseline window.
 */
export class NoisyNeighbourLatch {
  private readonly latched = new Map<
    string,
    { finding: RuntimeFinding; before: { share: number; busy: number } }
  >();

  constructor(private readonly options: Partial<NoisyNeighbourOptions> = {}) {}

  /** The findings now: new detections, and earlier ones whose noisy service is still as loud. */
  update(history: readonly RuntimeSample[]): RuntimeFinding[] {
    const o = { ...DEFAULT_NOISY_NEIGHBOUR, ...this.options };
    const fresh = findNoisyNeighbours(history, o);
    for (const finding of fresh) {
      const noisy = finding.parties.find((p) => p.as === 'noisy')!.service;
      const kept = this.latched.get(noisy);
      const last = history.at(-1);
      const end = last ? timeOf(last) : 0;
      const before =
        kept?.before ?? loadIn(windowOf(history, end - 2 * o.windowMs, end - o.windowMs), noisy);
      this.latched.set(noisy, { finding, before });
    }
    for (const [noisy, { before }] of this.latched) {
      if (fresh.some((f) => f.parties.some((p) => p.as === 'noisy' && p.service === noisy)))
        continue;
      const now = recentLoad(history, noisy, o.windowMs);
      if (now.share < before.share + o.minShareRise && now.busy < before.busy + o.minBusyRise)
        this.latched.delete(noisy);
    }
    return [...this.latched.values()].map((l) => l.finding);
  }
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const ms = (x: number) =>
  x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(x >= 10 ? 1 : x >= 1 ? 2 : 3)} ms`;
const rate = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

const busy = (x: number) => x.toFixed(1);

type Window = ReturnType<typeof windowOf>;

/**
 * The samples of the recent window in which the noisy service was loud: above its
 * baseline by the rise, and at least 3/4 of its typical loud level (a sample the report
 * only started or ended in mixes before and during). Victims are judged on these samples
 * only: until there are enough of them, nobody is named (a slowdown that began before the
 * noisy service got loud is not its doing).
 */
function episodeOf(
  recent: Window,
  isLoud: (sample: RuntimeSample) => boolean,
  level: (sample: RuntimeSample) => number,
): RuntimeSample[] {
  const loud = recent.samples.filter(isLoud);
  const levels = loud.map(level).sort((a, b) => a - b);
  const typical = levels[Math.floor(levels.length / 2)] ?? 0;
  return loud.filter((s) => level(s) >= 0.75 * typical);
}

const rowIn = (sample: RuntimeSample, service: string) =>
  sample.services.find((r) => r.service === service);

function shareIn(sample: RuntimeSample, service: string): number {
  const total = sample.services.reduce((sum, r) => sum + r.dbTimeMs, 0);
  const own = rowIn(sample, service)?.dbTimeMs ?? 0;
  return total > 0 ? own / total : 0;
}

/** The noisy service's statement: its longest-running active one, else its most time-consuming completed one. */
function statementOf(samples: readonly RuntimeSample[], service: string): string | null {
  let running: { query: string; ms: number } | undefined;
  let completed: { query: string; ms: number } | undefined;
  for (const s of samples) {
    for (const session of s.sessions) {
      if (session.service !== service || session.state !== 'active' || !session.query) continue;
      const ms = session.stateMs ?? 0;
      if (!running || ms > running.ms) running = { query: session.query, ms };
    }
    for (const st of [
      ...s.topStatements,
      ...s.services.flatMap((r) => (r.topStatement ? [r.topStatement] : [])),
    ]) {
      if (st.service !== service) continue;
      if (!completed || st.totalTimeMs > completed.ms)
        completed = { query: st.query, ms: st.totalTimeMs };
    }
  }
  const query = (running ?? completed)?.query;
  return query ? query.replace(/\s+/g, ' ').trim() : null;
}

const shorten = (sql: string) => (sql.length > 120 ? `${sql.slice(0, 117)}...` : sql);

/** The sentence for one slowed service: the figure that moved (latency first), before → after. */
function slowdownReason(v: Slowdown, attribution: Attribution): string {
  const who = describeService({ service: v.service, attribution });
  if (v.slower) {
    const { before, after } = v.meanMs;
    return `${who}'s mean statement time rose from ${ms(before)} to ${ms(after)} (+${Math.round((after / before - 1) * 100)}%)`;
  }
  const { before, after } = v.callsPerSecond;
  return `${who}'s calls per second fell from ${rate(before)} to ${rate(after)} (−${Math.round((1 - after / before) * 100)}%)`;
}

/** Noisy-neighbour findings from the last two windows of the history. */
export function findNoisyNeighbours(
  history: readonly RuntimeSample[],
  options: Partial<NoisyNeighbourOptions> = {},
): RuntimeFinding[] {
  const o = { ...DEFAULT_NOISY_NEIGHBOUR, ...options };
  const last = history.at(-1);
  if (!last) return [];
  const end = timeOf(last);
  const recent = windowOf(history, end - o.windowMs, end);
  const baseline = windowOf(history, end - 2 * o.windowMs, end - o.windowMs);
  // Both windows must be mostly covered by samples, or the comparison means nothing.
  if (recent.coveredMs < o.windowMs * 0.6 || baseline.coveredMs < o.windowMs * 0.6) return [];

  const noisy: {
    service: string;
    attribution: Attribution;
    busy: number;
    reason: string;
    episode: RuntimeSample[];
  }[] = [];
  for (const [service, now] of recent.services) {
    const before = baseline.services.get(service);
    const was = loadIn(baseline, service);
    const is = loadIn(recent, service);
    const connBefore = before?.connections ?? 0;
    const workers = now.workers >= 0.05 ? ` (${busy(now.workers)} of them parallel workers)` : '';
    let reason: string | undefined;
    let episode: RuntimeSample[] = recent.samples;
    if (is.share - was.share >= o.minShareRise) {
      reason = `share of database time rose from ${pct(was.share)} to ${pct(is.share)}`;
      episode = episodeOf(
        recent,
        (s) => shareIn(s, service) >= was.share + o.minShareRise,
        (s) => rowIn(s, service)?.dbTimeMs ?? 0,
      );
    } else if (is.busy - was.busy >= o.minBusyRise && is.busy >= 2 * was.busy) {
      reason = `busy processes (on a CPU or waiting for one) rose from ${busy(was.busy)} to ${busy(is.busy)} on average${workers}`;
      const busyIn = (s: RuntimeSample) => rowIn(s, service)?.busyProcesses ?? 0;
      episode = episodeOf(recent, (s) => busyIn(s) >= was.busy + o.minBusyRise, busyIn);
    } else if (
      now.connections - connBefore >= o.minConnectionRise &&
      now.connections >= 2 * connBefore
    ) {
      reason = `connections rose from ${connBefore.toFixed(1)} to ${now.connections.toFixed(1)} on average`;
    }
    if (reason)
      noisy.push({ service, attribution: now.attribution, busy: is.busy, reason, episode });
  }
  if (noisy.length === 0) return [];

  return noisy.flatMap((n) => {
    // Victims whose statements took longer, or got fewer through, while n was loud.
    const victims: { service: string; attribution: Attribution; slowdown?: Slowdown }[] = [];
    const reasons: string[] = [];
    for (const [service, now] of recent.services) {
      if (noisy.some((x) => x.service === service)) continue;
      const slowdown = slowdownOf(
        service,
        seriesOf(baseline.samples, service),
        seriesOf(n.episode, service),
        o,
      );
      if (!slowdown) continue;
      victims.push({ service, attribution: now.attribution, slowdown });
      reasons.push(slowdownReason(slowdown, now.attribution));
    }
    // Victims starved of CPU: the server is saturated and n keeps at least half of it busy.
    const cpus = o.serverCpus;
    if (cpus !== null && cpus > 0 && recent.busy >= cpus && n.busy >= recent.busy / 2) {
      const starved: string[] = [];
      for (const [service, now] of recent.services) {
        if (noisy.some((x) => x.service === service) || victims.some((v) => v.service === service))
          continue;
        if (now.calls < o.minCalls) continue;
        const attribution = now.attribution;
        victims.push({ service, attribution });
        starved.push(`${describeService({ service, attribution })} (${now.calls} statements)`);
      }
      if (starved.length > 0) {
        reasons.push(
          `the server's ${cpus} CPU${cpus === 1 ? ' was' : 's were'} saturated (${busy(recent.busy)} busy processes on average, ${busy(n.busy)} of them ${n.service}'s): ${starved.join(' and ')} waited for a CPU before each statement started, time statement statistics do not count`,
        );
      }
    }
    if (victims.length === 0) return [];
    const statement = statementOf(n.episode, n.service);
    return [
      {
        severity: 'warning' as const,
        kind: 'noisy-neighbour',
        object: `service ${n.service}`,
        consumers: [n, ...victims].map((s) => ({
          service: s.service,
          source: 'observed' as const,
        })),
        parties: [
          { service: n.service, attribution: n.attribution, as: 'noisy' as const },
          ...victims.map((v) => ({
            service: v.service,
            attribution: v.attribution,
            as: 'slowed' as const,
          })),
        ],
        at: last.takenAt,
        noisyNeighbour: {
          noisy: n.service,
          statement,
          since: n.episode[0]?.takenAt ?? null,
          slowed: victims.map((v) => ({
            service: v.service,
            ...(v.slowdown
              ? {
                  meanStatementMs: v.slowdown.meanMs,
                  callsPerSecond: v.slowdown.callsPerSecond,
                  slower: v.slowdown.slower,
                  fewer: v.slowdown.fewer,
                }
              : { starved: true }),
          })),
        },
        message: `${describeService(n)}'s ${n.reason} over the last ${o.windowMs / 1000} s${statement ? ` (running: ${shorten(statement)})` : ''} while ${reasons.join('; and ')}`,
        suggestion: `contain ${n.service}: per-service limits in pgpact.yaml (statement_timeout, connections, work_mem, parallel_workers: its parallel workers are not bounded by its connections), or move its heavy reads to a replica`,
      },
    ];
  });
}
