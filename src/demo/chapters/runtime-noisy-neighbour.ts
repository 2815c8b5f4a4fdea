import { withClient } from '../../postgres/client.js';
import type { RuntimeReport } from '../../runtime/monitor.js';
import { localServerCpus } from '../../runtime/server-cpus.js';
import type { RuntimeSample } from '../../runtime/types.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter, Figure } from '../types.js';
import {
  block,
  closeSessions,
  openDemoMonitor,
  openServiceSession,
  type ServiceSession,
  type Settled,
  seconds,
  settle,
  topSection,
} from './runtime.js';

/**
 * Team C's naive report: an accounts-growth chart at 10-minute resolution since
 * the first account, each point counted from scratch (a join of every point with
 * every older account: minutes of CPU for a few thousand accounts). It reads only
 * the columns reporting declared (id, created_at).
 */
const EXPENSIVE_REPORT = `SELECT t AS at, count(a.id) AS accounts_so_far
FROM generate_series(date_trunc('hour', (SELECT min(created_at) FROM users.account)), now(), interval '10 minutes') AS t
JOIN users.account a ON a.created_at <= t
GROUP BY 1 ORDER BY 1`;

/**
 * The analysts let their export use parallel query to finish sooner. users.account
 * is small, so the planner is told parallel plans cost nothing; on a large table it
 * would choose them by itself. Parallel workers do not count against the role's
 * connection limit: that limit does not bound a service's CPU.
 */
const PARALLEL_PLAN = `SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0`;

/** Concurrent report sessions: reporting's pool (3) plus these stay within its connection limit (5). */
const REPORT_SESSIONS = 2;
/** The sampler's interval, and how long the baseline is sampled before the report. */
const INTERVAL_MS = 250;
const BASELINE_MS = 2000;
/** Samples this soon after the report started are left out of "during" (the plans start up). */
const SETTLE_MS = 500;
/** How long the demo lets a report run when reporting has no statement_timeout at all. */
const UNLIMITED_REPORT_MS = 5000;

/** Per service: database time per second of wall time, and mean statement time, over some samples. */
interface Load {
  dbMsPerSecond: number;
  calls: number;
  meanStatementMs: number | null;
}

function loadOf(samples: readonly RuntimeSample[]): Map<string, Load> {
  const covered = samples.reduce((sum, s) => sum + (s.intervalMs ?? 0), 0);
  const sums = new Map<string, { db: number; calls: number; time: number }>();
  for (const s of samples) {
    if (s.intervalMs === null) continue;
    for (const row of s.services) {
      const sum = sums.get(row.service) ?? { db: 0, calls: 0, time: 0 };
      sum.db += row.dbTimeMs;
      sum.calls += row.calls;
      sum.time += row.statementTimeMs;
      sums.set(row.service, sum);
    }
  }
  return new Map(
    [...sums].map(([service, sum]) => [
      service,
      {
        dbMsPerSecond: covered > 0 ? (sum.db / covered) * 1000 : 0,
        calls: sum.calls,
        meanStatementMs: sum.calls > 0 ? sum.time / sum.calls : null,
      },
    ]),
  );
}

const ms = (x: number | null | undefined) =>
  x === null || x === undefined ? '-' : x >= 10 ? `${Math.round(x)} ms` : `${x.toFixed(2)} ms`;

/** The report's processes running in a sample: its sessions, and reporting's parallel workers. */
function reportProcesses(
  sample: RuntimeSample,
  pids: number[],
): { sessions: number; workers: number } {
  const active = sample.sessions.filter((s) => s.service === 'reporting' && s.state === 'active');
  return {
    sessions: active.filter((s) => pids.includes(s.pid)).length,
    workers: active.filter((s) => s.backendType === 'parallel worker').length,
  };
}

/** Chapter: one service's expensive query degrades another, and pgpact names the cause. */
export const noisyNeighbourChapter: DemoChapter = {
  id: 'runtime-noisy-neighbour',
  title: 'An expensive report slows users down: pgpact top names reporting, its timeout stops it',
  articleQuote:
    'So, if one service submits a really expensive query, then this may degrade the performance of other services. If the monitoring is not configured to capture these cases, then the debugging sessions become a game of hunting in the dark.',
  async run(ctx) {
    const report = new ChapterReport();
    const declared = ctx.manifest.services.find((s) => s.name === 'reporting')?.limits
      .statementTimeoutMs;
    const monitor = await openDemoMonitor(ctx, {
      intervalMs: INTERVAL_MS,
      findings: { noisyNeighbour: { windowMs: 2000 } },
    });
    const sessions: ServiceSession[] = [];
    try {
      ctx.progress(`pgpact top sampling every ${INTERVAL_MS} ms: the steady traffic first`);
      // The first tick reads the server log so far: done before the baseline, as the traffic
      // generator shares this process and would count the parsing as latency.
      await monitor.tick();
      await ctx.sleep(INTERVAL_MS);
      const baselineFrom = Date.now();
      const baseline = await monitor.sampleFor(BASELINE_MS);
      report.did(
        `sampled the running system every ${INTERVAL_MS} ms as pgpact top does, ${seconds(BASELINE_MS)} of steady traffic first`,
      );

      for (let i = 0; i < REPORT_SESSIONS; i += 1) {
        const session = await openServiceSession(ctx, 'reporting', 'reporting export');
        sessions.push(session);
        await session.client.query(PARALLEL_PLAN);
      }
      const timeouts = await Promise.all(
        sessions.map(async (s) => {
          const { rows } = await s.client.query<{ v: string }>(
            `SELECT current_setting('statement_timeout') AS v`,
          );
          return rows[0]!.v;
        }),
      );
      const started = Date.now();
      let finished = false;
      const running = Promise.all(sessions.map((s) => settle(s.client, EXPENSIVE_REPORT))).finally(
        () => {
          finished = true;
        },
      );
      report.did(
        `reporting (its own role, ${REPORT_SESSIONS} sessions, parallel query on) ran a naive accounts-growth chart over users.account while the traffic went on: ${EXPENSIVE_REPORT.replace(/\s+/g, ' ')}`,
      );
      ctx.progress('reporting runs its expensive report');

      // Sample until the reports end: reporting's statement_timeout, or the demo's own cap.
      const during: RuntimeReport[] = [];
      const cap = declared === undefined ? UNLIMITED_REPORT_MS : declared + 5000;
      while (!finished && !ctx.signal.aborted && Date.now() - started < cap)
        during.push(...(await monitor.sampleFor(INTERVAL_MS)));
      const cancelledByDemo = !finished;
      if (cancelledByDemo) {
        // No limit stopped it: the demo cancels its own report (from another connection) so the story goes on.
        await withClient(ctx.adminUrl, (c) =>
          c.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [
            sessions.map((s) => s.pid),
          ]),
        );
      }
      const ended: Settled[] = await running;
      const endedAt = Date.now();
      // One more tick reads what the server logged when the reports were cancelled.
      await ctx.sleep(100);
      const after = await monitor.tick();

      // The symptom: what users' clients saw, before and during the report.
      const before = ctx.traffic.stats(baselineFrom, started).services.users;
      const whileRunning = ctx.traffic.stats(started, endedAt).services.users;
      if (before && whileRunning) {
        report.measured(
          `users' requests as its clients saw them: p50 ${before.p50Ms.toFixed(1)} → ${whileRunning.p50Ms.toFixed(1)} ms, p99 ${before.p99Ms.toFixed(1)} → ${whileRunning.p99Ms.toFixed(1)} ms (before → during the report, ${before.requests} and ${whileRunning.requests} requests)${whileRunning.p50Ms <= before.p50Ms && whileRunning.p99Ms <= before.p99Ms ? '; it did not rise in this run' : ''}`,
        );
        report.figure('usersLatency', {
          before: { p50Ms: before.p50Ms, p99Ms: before.p99Ms, requests: before.requests },
          during: {
            p50Ms: whileRunning.p50Ms,
            p99Ms: whileRunning.p99Ms,
            requests: whileRunning.requests,
          },
        });
      }

      // The cause, from the sampler's data: whose database time rose.
      // While the reports ran: after they started up, while both sessions were still active.
      const reportsActive = (sample: RuntimeSample) =>
        sessions.every((x) => sample.sessions.some((s) => s.pid === x.pid && s.state === 'active'));
      const duringSamples = during
        .map((r) => r.sample)
        .filter((s) => Date.parse(s.takenAt) - started >= SETTLE_MS && reportsActive(s));
      const loadBefore = loadOf(baseline.map((r) => r.sample));
      const loadDuring = loadOf(duringSamples);
      const services = ctx.manifest.services.map((s) => s.name);
      const rise = (service: string) =>
        (loadDuring.get(service)?.dbMsPerSecond ?? 0) -
        (loadBefore.get(service)?.dbMsPerSecond ?? 0);
      const cause = [...services].sort((a, b) => rise(b) - rise(a))[0]!;
      const peak = duringSamples.reduce(
        (best, s) => {
          const p = reportProcesses(
            s,
            sessions.map((x) => x.pid),
          );
          return p.sessions + p.workers > best.sessions + best.workers ? p : best;
        },
        { sessions: 0, workers: 0 },
      );
      report.measured(
        block(
          'database time per second and mean statement time, per service (pgpact top’s samples, before → during):',
          services.map((service) => {
            const b = loadBefore.get(service);
            const d = loadDuring.get(service);
            return `${service.padEnd(10)} ${ms(b?.dbMsPerSecond).padStart(7)}/s → ${ms(d?.dbMsPerSecond).padStart(7)}/s   mean statement ${ms(b?.meanStatementMs)} → ${ms(d?.meanStatementMs)}`;
          }),
        ),
      );
      const shown = during.filter((r) => duringSamples.includes(r.sample)).at(-1);
      if (shown) {
        report.measured(
          block(
            `pgpact top ${seconds(Date.parse(shown.sample.takenAt) - started)} into the report:`,
            topSection(monitor, shown, 'services'),
          ),
        );
      }
      report.measured(
        `the cause: ${cause}, whose database time rose by ${Math.round(rise(cause))} ms per second, with ${peak.sessions} report sessions and ${peak.workers} parallel workers running at once (workers do not count against its connection limit; limits.parallel_workers in pgpact.yaml bounds them)`,
      );
      const finding = during.flatMap((r) => r.findings).find((f) => f.kind === 'noisy-neighbour');
      const usersBefore = loadBefore.get('users')?.meanStatementMs ?? null;
      const usersDuring = loadDuring.get('users')?.meanStatementMs ?? null;
      const cpus = localServerCpus(ctx.adminUrl);
      report.measured(
        `users' statements took ${ms(usersBefore)} → ${ms(usersDuring)} inside Postgres: a statement that waits for a CPU waits before it starts, so statement statistics do not see the slowdown its clients saw`,
      );
      if (finding) report.measured(`${finding.severity} ${finding.kind}: ${finding.message}`);
      else {
        report.measured(
          `no noisy-neighbour finding${cpus === null ? ': the server is not on this machine, so pgpact does not know its CPUs (pgpact top --cpus N)' : ''}`,
        );
      }
      report.figure('noisyNeighbour', {
        cause,
        dbMsPerSecond: Object.fromEntries(
          services.map((s) => [
            s,
            {
              before: Math.round(loadBefore.get(s)?.dbMsPerSecond ?? 0),
              during: Math.round(loadDuring.get(s)?.dbMsPerSecond ?? 0),
            },
          ]),
        ) as Record<string, Figure>,
        reportingProcesses: { ...peak },
        topRow: shown?.sample.services[0]?.service ?? null,
        finding: finding
          ? {
              noisy: finding.parties.filter((p) => p.as === 'noisy').map((p) => p.service),
              slowed: finding.parties.filter((p) => p.as === 'slowed').map((p) => p.service),
            }
          : null,
      });
      report.expect(
        duringSamples.length >= 3,
        `only ${duringSamples.length} samples while the report ran`,
      );
      report.expect(
        cause === 'reporting' && rise('reporting') >= 500,
        `pgpact's samples did not name reporting as the cause (largest rise: ${cause}, ${Math.round(rise(cause))} ms/s)`,
      );
      report.expect(
        shown?.sample.services[0]?.service === 'reporting',
        `pgpact top's first row during the report was ${shown?.sample.services[0]?.service ?? 'missing'}, not reporting`,
      );
      // On this machine pgpact knows the server's CPUs: the saturation rule must name both sides.
      if (cpus !== null) {
        report.expect(
          finding !== undefined,
          'pgpact reported no noisy-neighbour finding while reporting ran its report',
        );
      }
      if (finding) {
        report.expect(
          finding.parties.every((p) => (p.as === 'noisy') === (p.service === 'reporting')) &&
            finding.parties.some((p) => p.as === 'slowed' && p.service === 'users'),
          `the noisy-neighbour finding did not name reporting as noisy and users as slowed: ${finding.message}`,
        );
      }

      // The limit: reporting's statement_timeout, set on its role by pgpact from pgpact.yaml.
      const sqlstates = ended.map((e) => e.error?.sqlstate ?? 'ok');
      report.measured(
        `reporting's sessions run with statement_timeout ${[...new Set(timeouts)].join(', ')} (pgpact.yaml: ${declared === undefined ? 'none' : seconds(declared)}, set on its role); the reports ended after ${ended.map((e) => seconds(e.ms)).join(' and ')}: ${[...new Set(ended.map((e) => (e.error ? `ERROR ${e.error.sqlstate}: ${e.error.message}` : 'completed')))].join('; ')}`,
      );
      report.figure('statementTimeout', {
        declaredMs: declared ?? null,
        session: timeouts,
        endedAfterMs: ended.map((e) => Math.round(e.ms)),
        sqlstates,
        cancelledByDemo,
      });
      report.expect(
        declared !== undefined,
        'reporting has no statement_timeout in pgpact.yaml: nothing contains its reports',
      );
      report.expect(
        !cancelledByDemo && sqlstates.every((s) => s === '57014'),
        cancelledByDemo
          ? `nothing stopped reporting's reports: the demo cancelled them after ${seconds(endedAt - started)}`
          : `reporting's reports were not cancelled by its statement_timeout (${sqlstates.join(', ')})`,
      );
      if (declared !== undefined) {
        report.expect(
          ended.every((e) => e.ms >= declared - 50 && e.ms < declared + 3000),
          `the reports ended after ${ended.map((e) => seconds(e.ms)).join(', ')}, not at reporting's statement_timeout (${seconds(declared)})`,
        );
      }
      const logged = after.loggedLimits.filter(
        (l) => l.limit === 'statement_timeout' && sessions.some((s) => s.pid === l.process.pid),
      );
      if (monitor.log !== null) {
        report.measured(
          `the server log: ${logged.length} statements cancelled by statement_timeout, attributed to ${[...new Set(logged.map((l) => l.process.service))].join(', ') || 'nobody'}`,
        );
        report.figure(
          'loggedTimeouts',
          logged.map((l) => l.process.service),
        );
        report.expect(
          logged.length === REPORT_SESSIONS &&
            logged.every((l) => l.process.service === 'reporting'),
          `the log reader attributed ${logged.filter((l) => l.process.service === 'reporting').length} of ${REPORT_SESSIONS} cancelled reports to reporting`,
        );
      }
    } finally {
      await closeSessions(sessions);
      await monitor.close();
    }
    return report.result();
  },
};
