import type { RuntimeFinding } from './runtime-finding.js';
import { describeService } from './service-namer.js';
import type { Attribution, RuntimeSample } from './types.js';

/**
 * A noisy neighbour, concretely: compare two consecutive windows of equal
 * length (the baseline, then the recent one). Service N is noisy when its share
 * of database time rose by at least `minShareRise` (or its connections by at
 * least `minConnectionRise` and doubled) while another service V slowed: V ran
 * at least `minCalls` statements in both windows and its mean statement time rose
 * by at least `minSlowdown` (relative) and `minSlowdownMs` (absolute).
 */
export interface NoisyNeighbourOptions {
  /** Length of each window. Default 10 s. */
  windowMs: number;
  /** Rise of the share of database time, in fractions (0.25 = 25 points). */
  minShareRise: number;
  minConnectionRise: number;
  /** Relative rise of the victim's mean statement time (0.5 = +50%). */
  minSlowdown: number;
  minSlowdownMs: number;
  minCalls: number;
}

export const DEFAULT_NOISY_NEIGHBOUR: NoisyNeighbourOptions = {
  windowMs: 10_000,
  minShareRise: 0.25,
  minConnectionRise: 5,
  minSlowdown: 0.5,
  minSlowdownMs: 0.2,
  minCalls: 5,
};

interface WindowStats {
  dbTimeMs: number;
  calls: number;
  statementTimeMs: number;
  connections: number;
  attribution: Attribution;
}

/** The per-service figures of the samples taken in (from, to]. */
function windowOf(history: readonly RuntimeSample[], fromMs: number, toMs: number) {
  const samples = history.filter((s) => {
    const t = Date.parse(s.takenAt);
    return t > fromMs && t <= toMs && s.intervalMs !== null;
  });
  const services = new Map<string, WindowStats>();
  let total = 0;
  for (const sample of samples) {
    for (const row of sample.services) {
      const stats = services.get(row.service) ?? {
        dbTimeMs: 0,
        calls: 0,
        statementTimeMs: 0,
        connections: 0,
        attribution: row.attribution,
      };
      stats.dbTimeMs += row.dbTimeMs;
      stats.calls += row.calls;
      stats.statementTimeMs += row.statementTimeMs;
      stats.connections += row.connections.total / samples.length;
      total += row.dbTimeMs;
      services.set(row.service, stats);
    }
  }
  const coveredMs = samples.reduce((sum, s) => sum + (s.intervalMs ?? 0), 0);
  return { services, total, coveredMs };
}

/** A service's share of database time over the last windowMs of the history (0..1). */
export function recentShare(
  history: readonly RuntimeSample[],
  service: string,
  windowMs: number,
): number {
  const last = history.at(-1);
  if (!last) return 0;
  const end = Date.parse(last.takenAt);
  const w = windowOf(history, end - windowMs, end);
  return w.total > 0 ? (w.services.get(service)?.dbTimeMs ?? 0) / w.total : 0;
}

/**
 * Keeps a noisy-neighbour finding while its cause lasts: once detected, it stays
 * as long as the noisy service's share stays at least minShareRise above its
 * share before the jump, even after the jump has left the baseline window.
 */
export class NoisyNeighbourLatch {
  private readonly latched = new Map<string, { finding: RuntimeFinding; shareBefore: number }>();

  constructor(private readonly options: Partial<NoisyNeighbourOptions> = {}) {}

  /** The findings now: new detections, and earlier ones whose noisy service is still as loud. */
  update(history: readonly RuntimeSample[]): RuntimeFinding[] {
    const o = { ...DEFAULT_NOISY_NEIGHBOUR, ...this.options };
    const fresh = findNoisyNeighbours(history, o);
    for (const finding of fresh) {
      const noisy = finding.parties.find((p) => p.as === 'noisy')!.service;
      const kept = this.latched.get(noisy);
      const last = history.at(-1);
      const end = last ? Date.parse(last.takenAt) : 0;
      const before = windowOf(history, end - 2 * o.windowMs, end - o.windowMs);
      const shareBefore =
        kept?.shareBefore ??
        (before.total > 0 ? (before.services.get(noisy)?.dbTimeMs ?? 0) / before.total : 0);
      this.latched.set(noisy, { finding, shareBefore });
    }
    for (const [noisy, { shareBefore }] of this.latched) {
      if (fresh.some((f) => f.parties.some((p) => p.as === 'noisy' && p.service === noisy)))
        continue;
      if (recentShare(history, noisy, o.windowMs) < shareBefore + o.minShareRise)
        this.latched.delete(noisy);
    }
    return [...this.latched.values()].map((l) => l.finding);
  }
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const ms = (x: number) => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(x >= 10 ? 1 : 2)} ms`);

/** Noisy-neighbour findings from the last two windows of the history. */
export function findNoisyNeighbours(
  history: readonly RuntimeSample[],
  options: Partial<NoisyNeighbourOptions> = {},
): RuntimeFinding[] {
  const o = { ...DEFAULT_NOISY_NEIGHBOUR, ...options };
  const last = history.at(-1);
  if (!last) return [];
  const end = Date.parse(last.takenAt);
  const recent = windowOf(history, end - o.windowMs, end);
  const baseline = windowOf(history, end - 2 * o.windowMs, end - o.windowMs);
  // Both windows must be mostly covered by samples, or the comparison means nothing.
  if (recent.coveredMs < o.windowMs * 0.6 || baseline.coveredMs < o.windowMs * 0.6) return [];

  const share = (w: typeof recent, service: string) =>
    w.total > 0 ? (w.services.get(service)?.dbTimeMs ?? 0) / w.total : 0;
  const noisy: {
    service: string;
    attribution: Attribution;
    before: number;
    after: number;
    reason: string;
  }[] = [];
  for (const [service, now] of recent.services) {
    const before = baseline.services.get(service);
    const shareBefore = share(baseline, service);
    const shareAfter = share(recent, service);
    const connBefore = before?.connections ?? 0;
    if (shareAfter - shareBefore >= o.minShareRise) {
      noisy.push({
        service,
        attribution: now.attribution,
        before: shareBefore,
        after: shareAfter,
        reason: `share of database time rose from ${pct(shareBefore)} to ${pct(shareAfter)}`,
      });
    } else if (
      now.connections - connBefore >= o.minConnectionRise &&
      now.connections >= 2 * connBefore
    ) {
      noisy.push({
        service,
        attribution: now.attribution,
        before: connBefore,
        after: now.connections,
        reason: `connections rose from ${connBefore.toFixed(1)} to ${now.connections.toFixed(1)} on average`,
      });
    }
  }
  if (noisy.length === 0) return [];

  const slowed: { service: string; attribution: Attribution; before: number; after: number }[] = [];
  for (const [service, now] of recent.services) {
    if (noisy.some((n) => n.service === service)) continue;
    const before = baseline.services.get(service);
    if (!before || before.calls < o.minCalls || now.calls < o.minCalls) continue;
    const meanBefore = before.statementTimeMs / before.calls;
    const meanAfter = now.statementTimeMs / now.calls;
    if (
      meanAfter >= meanBefore * (1 + o.minSlowdown) &&
      meanAfter - meanBefore >= o.minSlowdownMs
    ) {
      slowed.push({ service, attribution: now.attribution, before: meanBefore, after: meanAfter });
    }
  }
  if (slowed.length === 0) return [];

  return noisy.map((n) => {
    const victims = slowed
      .map(
        (v) =>
          `${describeService(v)}'s mean statement time rose from ${ms(v.before)} to ${ms(v.after)} (+${Math.round((v.after / v.before - 1) * 100)}%)`,
      )
      .join('; ');
    return {
      severity: 'warning',
      kind: 'noisy-neighbour',
      object: `service ${n.service}`,
      consumers: [n, ...slowed].map((s) => ({ service: s.service, source: 'observed' as const })),
      parties: [
        { service: n.service, attribution: n.attribution, as: 'noisy' as const },
        ...slowed.map((v) => ({
          service: v.service,
          attribution: v.attribution,
          as: 'slowed' as const,
        })),
      ],
      at: last.takenAt,
      message: `${describeService(n)}'s ${n.reason} over the last ${o.windowMs / 1000} s while ${victims}`,
      suggestion: `contain ${n.service}: per-service limits in pgpact.yaml (statement_timeout, connections, work_mem), or move its heavy reads to a replica`,
    };
  });
}
