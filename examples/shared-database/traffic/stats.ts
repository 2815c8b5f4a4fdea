/** Per-service request counts, errors and latency percentiles over a time window. */

/** What was measured for one service in a window. */
export interface ServiceTrafficStats {
  requests: number;
  errors: number;
  /** Requests per second over the window. */
  ratePerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Requests per operation name, e.g. `create-account`. */
  operations: Record<string, number>;
}

/** What was measured for every service in a window. */
export interface TrafficStats {
  /** Epoch ms of the window start and end. */
  from: number;
  to: number;
  seconds: number;
  services: Record<string, ServiceTrafficStats>;
  total: { requests: number; errors: number; ratePerSecond: number };
  /** Requests the generator could not start because too many were in flight (it fell behind its rate). */
  skipped: number;
  /** The last few errors: service, operation, status (0 = no answer) and message. */
  recentErrors: {
    at: number;
    service: string;
    operation: string;
    status: number;
    message: string;
  }[];
}

interface Sample {
  at: number;
  service: string;
  operation: string;
  ms: number;
  ok: boolean;
}

/** The value at quantile q of ascending sorted values (nearest rank). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Records samples and answers stats for any window; samples older than `retainMs` are dropped. */
export class TrafficRecorder {
  private samples: Sample[] = [];
  private skippedAt: number[] = [];
  private errors: TrafficStats['recentErrors'] = [];
  private readonly services: string[];
  private readonly retainMs: number;

  constructor(services: string[], retainMs = 10 * 60_000) {
    this.services = services;
    this.retainMs = retainMs;
  }

  /** Records one finished request. */
  record(sample: Sample, error?: { status: number; message: string }): void {
    this.samples.push(sample);
    if (error) {
      this.errors.push({
        at: sample.at,
        service: sample.service,
        operation: sample.operation,
        ...error,
      });
      if (this.errors.length > 20) this.errors.shift();
    }
    if (this.samples.length % 1000 === 0) this.prune(sample.at);
  }

  /** Records one request not started because the generator was saturated. */
  recordSkipped(at: number): void {
    this.skippedAt.push(at);
  }

  private prune(now: number): void {
    const cutoff = now - this.retainMs;
    if (this.samples.length > 0 && this.samples[0]!.at < cutoff) {
      this.samples = this.samples.filter((s) => s.at >= cutoff);
      this.skippedAt = this.skippedAt.filter((t) => t >= cutoff);
    }
  }

  /** Stats over [from, to] (epoch ms; samples are stamped when their request finished). */
  stats(from: number, to: number = Date.now()): TrafficStats {
    const seconds = Math.max(0.001, (to - from) / 1000);
    const inWindow = this.samples.filter((s) => s.at >= from && s.at <= to);
    const services: Record<string, ServiceTrafficStats> = {};
    for (const name of this.services) {
      const mine = inWindow.filter((s) => s.service === name);
      const sorted = mine.map((s) => s.ms).sort((a, b) => a - b);
      const operations: Record<string, number> = {};
      for (const s of mine) operations[s.operation] = (operations[s.operation] ?? 0) + 1;
      services[name] = {
        requests: mine.length,
        errors: mine.filter((s) => !s.ok).length,
        ratePerSecond: round(mine.length / seconds),
        p50Ms: round(percentile(sorted, 0.5)),
        p95Ms: round(percentile(sorted, 0.95)),
        p99Ms: round(percentile(sorted, 0.99)),
        maxMs: round(sorted[sorted.length - 1] ?? 0),
        operations,
      };
    }
    const requests = inWindow.length;
    return {
      from,
      to,
      seconds: round(seconds),
      services,
      total: {
        requests,
        errors: inWindow.filter((s) => !s.ok).length,
        ratePerSecond: round(requests / seconds),
      },
      skipped: this.skippedAt.filter((t) => t >= from && t <= to).length,
      recentErrors: this.errors.filter((e) => e.at >= from && e.at <= to),
    };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
