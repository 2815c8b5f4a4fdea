import type { Figure } from '../../types.js';
import type { MonolithContext } from '../types.js';

/** Each service's own database URL (its role and password), by service name. */
export function serviceUrls(ctx: MonolithContext): Record<string, string> {
  return Object.fromEntries(Object.values(ctx.services).map((s) => [s.name, s.databaseUrl]));
}

/** The traffic over a window: one printable line, the error count, the first failures, and a figure. */
export function trafficSummary(
  ctx: MonolithContext,
  from: number,
  to: number,
): { line: string; errors: number; failures: string; figure: Figure } {
  const stats = ctx.traffic.stats(from, to);
  const per = Object.entries(stats.services).map(
    ([name, s]) => `${name} ${s.requests}${s.errors > 0 ? ` (${s.errors} failed)` : ''}`,
  );
  return {
    line: `${stats.total.requests} requests in ${((to - from) / 1000).toFixed(1)} s, ${stats.total.errors} failed (${per.join(', ')})`,
    errors: stats.total.errors,
    failures: stats.recentErrors
      .slice(0, 5)
      .map((e) => `${e.service} ${e.operation} ${e.status}: ${e.message}`)
      .join('; '),
    figure: {
      requests: stats.total.requests,
      errors: stats.total.errors,
      services: Object.fromEntries(
        Object.entries(stats.services).map(([n, s]) => [
          n,
          { requests: s.requests, errors: s.errors },
        ]),
      ),
    },
  };
}
