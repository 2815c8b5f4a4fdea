import { withClient } from '../../postgres/client.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter } from '../types.js';

/** Chapter 3: the three services share one database under a steady load, each on its own role. */
export const servicesUnderLoad: DemoChapter = {
  id: 'services-under-load',
  title: 'The services run under load, each on its own role and pool',
  articleQuote:
    'Multiple services relying on the same database share the underlying technical resources: Connection pools, CPU, memory,…',
  async run(ctx) {
    const report = new ChapterReport();
    const from = Date.now();
    ctx.progress(`measuring the traffic for ${ctx.durationSeconds} s`);
    await ctx.sleep(ctx.durationSeconds * 1000);
    const stats = ctx.traffic.stats(from);
    report.did(
      `measured ${stats.seconds} s of steady traffic against users, invoicing and reporting`,
    );
    const connections = await withClient(ctx.adminUrl, async (c) => {
      const { rows } = await c.query<{ role: string; app: string; n: number }>(
        `SELECT usename AS role, application_name AS app, count(*)::int AS n
         FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
         GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      return rows;
    });
    for (const service of Object.values(ctx.services)) {
      const s = stats.services[service.name];
      if (!s) continue;
      const mine = connections.filter((c) => c.role === service.role && c.app === service.name);
      const conns = mine.reduce((sum, c) => sum + c.n, 0);
      report.measured(
        `${service.name.padEnd(9)} ${s.ratePerSecond.toFixed(1).padStart(6)} req/s  p50 ${s.p50Ms.toFixed(1)} ms  ` +
          `p99 ${s.p99Ms.toFixed(1)} ms  errors ${s.errors}  connections ${conns} (role ${service.role}, application_name ${service.name})`,
      );
      report.expect(s.requests > 0, `${service.name} served no requests`);
      report.expect(
        s.errors === 0,
        `${service.name} answered ${s.errors} request(s) with an error`,
      );
      report.expect(
        conns > 0,
        `no connection of ${service.name} as role ${service.role} with application_name ${service.name}`,
      );
    }
    report.measured(
      `total ${stats.total.requests} requests, ${stats.total.ratePerSecond.toFixed(1)} req/s, ${stats.total.errors} errors` +
        (stats.skipped > 0 ? `, ${stats.skipped} not sent (the generator fell behind)` : ''),
    );
    for (const e of stats.recentErrors.slice(-3))
      report.measured(`error: ${e.service} ${e.operation} → ${e.status} ${e.message}`);
    report.figure('traffic', {
      seconds: stats.seconds,
      total: stats.total,
      skipped: stats.skipped,
      services: Object.fromEntries(
        Object.entries(stats.services).map(([name, s]) => [
          name,
          {
            requests: s.requests,
            errors: s.errors,
            ratePerSecond: s.ratePerSecond,
            p50Ms: s.p50Ms,
            p95Ms: s.p95Ms,
            p99Ms: s.p99Ms,
            maxMs: s.maxMs,
          },
        ]),
      ),
    });
    report.figure(
      'connections',
      connections.map((c) => ({ role: c.role, applicationName: c.app, count: c.n })),
    );
    return report.result();
  },
};
