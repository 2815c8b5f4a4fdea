import type { DeadlockReport } from '../../runtime/log-reader.js';
import type { RuntimeReport } from '../../runtime/monitor.js';
import { withClient } from '../../postgres/client.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter } from '../types.js';
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
 * Both services serialise work per account with a transaction-level advisory
 * lock keyed by (the oid of users.account, the account id): the two-key form,
 * which no other part of pgpact uses.
 */
const LOCK_ACCOUNT = `SELECT pg_advisory_xact_lock('users.account'::regclass::oid::int, $1::int)`;
/** Users' account merge writes its own table; invoicing's billing run reads its declared columns. */
const MERGE_WRITE = 'UPDATE users.account SET city = city WHERE id = $1';
const BILLING_READ =
  'SELECT id, name, street_and_number, zip, city FROM users.account WHERE id = $1';
/** Sampling interval while the two transactions wait for each other. */
const INTERVAL_MS = 50;
/** How long the server log is polled for the deadlock after it happened. */
const LOG_WAIT_MS = 3000;

/** The deadlock between the two sessions, as the log reader reported it. */
function deadlockOf(report: RuntimeReport, pids: number[]): DeadlockReport | undefined {
  return report.deadlocks.find((d) => pids.every((pid) => d.processes.some((p) => p.pid === pid)));
}

/** Whether the lock view shows each session waiting for the other (the cycle, before Postgres breaks it). */
function cycleIn(report: RuntimeReport, a: ServiceSession, b: ServiceSession): boolean {
  const waits = (x: ServiceSession, y: ServiceSession) =>
    report.sample.lockWaits.some(
      (w) => w.waiting.pid === x.pid && w.holding.some((h) => h.pid === y.pid),
    );
  return waits(a, b) && waits(b, a);
}

/** Chapter: two services deadlock; pgpact names both, after the fact, from the server log. */
export const deadlockChapter: DemoChapter = {
  id: 'runtime-deadlock',
  title: 'Two services deadlock: pgpact names both sides, after the fact',
  articleQuote: 'The same holds for locks, too, and may lead to deadlocks.',
  async run(ctx) {
    const report = new ChapterReport();
    const monitor = await openDemoMonitor(ctx, { intervalMs: INTERVAL_MS });
    let merge: ServiceSession | undefined;
    let billing: ServiceSession | undefined;
    try {
      await monitor.tick();
      merge = await openServiceSession(ctx, 'users', 'users account merge');
      billing = await openServiceSession(ctx, 'invoicing', 'invoicing billing run');
      const ids = (
        await merge.client.query<{ id: string }>('SELECT id FROM users.account ORDER BY id LIMIT 2')
      ).rows.map((r) => Number(r.id));
      if (!report.expect(ids.length === 2, 'users.account has fewer than two accounts'))
        return report.result();
      const [first, second] = ids as [number, number];
      report.did(
        'with ownership enforced no table is writable by two services, so they cannot deadlock on each other’s rows; ' +
          'they still share the database’s lock manager: users’ account merge and invoicing’s billing run both take ' +
          `pg_advisory_xact_lock(<users.account>, account id) so that an account is never billed while it is merged`,
      );
      await merge.client.query('BEGIN');
      await billing.client.query('BEGIN');
      await merge.client.query(LOCK_ACCOUNT, [first]);
      await merge.client.query(MERGE_WRITE, [first]);
      await billing.client.query(LOCK_ACCOUNT, [second]);
      await billing.client.query(BILLING_READ, [second]);
      const mergeWaits = settle(merge.client, LOCK_ACCOUNT, [second]);
      await ctx.sleep(300);
      const billingWaits = settle(billing.client, LOCK_ACCOUNT, [first]);
      report.did(
        `users locked account ${first} then ${second}; invoicing locked ${second} then ${first}, each in one transaction`,
      );
      ctx.progress('both transactions wait for each other; sampling the lock view');

      // Sample until Postgres breaks the cycle (after deadlock_timeout): one side fails, the other goes on.
      let done = false;
      void Promise.race([mergeWaits, billingWaits]).then(() => {
        done = true;
      });
      const during: RuntimeReport[] = [];
      const began = Date.now();
      while (!done && !ctx.signal.aborted && Date.now() - began < 10_000)
        during.push(...(await monitor.sampleFor(INTERVAL_MS)));
      if (!done) {
        // Interrupted (or no deadlock detection at all): cancel both waits so nothing stays locked.
        await withClient(ctx.adminUrl, (c) =>
          c.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [
            [merge!.pid, billing!.pid],
          ]),
        );
      }
      // The victim's locks are released as its transaction aborts: the other one gets its lock.
      const outcomes: [ServiceSession, Settled][] = [
        [merge, await mergeWaits],
        [billing, await billingWaits],
      ];
      await merge.client.query('ROLLBACK').catch(() => undefined);
      await billing.client.query('ROLLBACK').catch(() => undefined);
      const cycle = during.find((r) => cycleIn(r, merge!, billing!));
      if (cycle) {
        report.measured(
          block(
            'pgpact top’s lock view before Postgres broke the cycle:',
            topSection(monitor, cycle, 'LOCK WAITS'),
          ),
        );
      }

      const victims = outcomes.filter(([, o]) => o.error?.sqlstate === '40P01');
      for (const [s, o] of outcomes) {
        report.measured(
          `${s.service} (pid ${s.pid}): ${o.error ? `ERROR ${o.error.sqlstate}: ${o.error.message}` : 'got its lock once the other transaction was aborted'} after ${seconds(o.ms)}`,
        );
      }
      report.expect(
        victims.length === 1,
        `expected Postgres to abort one of the two transactions with 40P01, got ${outcomes.map(([, o]) => o.error?.sqlstate ?? 'ok').join(', ')}`,
      );

      // After the fact: both sessions' transactions are over; the server log names the sides.
      const pids = [merge.pid, billing.pid];
      let after = await monitor.tick();
      const until = Date.now() + LOG_WAIT_MS;
      while (
        monitor.log !== null &&
        deadlockOf(after, pids) === undefined &&
        Date.now() < until &&
        !ctx.signal.aborted
      ) {
        await ctx.sleep(100);
        after = await monitor.tick();
      }
      const logged = deadlockOf(after, pids);
      const finding = after.findings.find(
        (f) => f.kind === 'deadlock' && pids.every((pid) => f.parties.some((p) => p.pid === pid)),
      );
      if (logged) {
        report.measured(
          block(
            'pgpact top, read from the server log afterwards:',
            topSection(monitor, after, 'DEADLOCKS'),
          ),
        );
      }
      if (finding) report.measured(`${finding.severity} ${finding.kind}: ${finding.message}`);
      const counted = after.sample.services
        .filter((s) => s.totals.deadlocks > 0)
        .map((s) => `${s.service} ${s.totals.deadlocks}`);
      if (counted.length > 0)
        report.measured(
          `deadlocks counted per service (pgpact_deadlocks_total): ${counted.join(', ')}`,
        );

      const serviceOf = (pid: number) =>
        logged?.processes.find((p) => p.pid === pid)?.service ??
        cycle?.sample.lockWaits.find((w) => w.waiting.pid === pid)?.waiting.service;
      const named = {
        users: serviceOf(merge.pid) ?? null,
        invoicing: serviceOf(billing.pid) ?? null,
      };
      const source = logged ? 'server log' : cycle ? 'lock view' : null;
      if (monitor.log === null) {
        report.measured(
          `no server log is readable here: Postgres counted the deadlock, and its sides are named only from the lock view sampled while both waited${cycle ? '' : ' (which did not catch the cycle)'}`,
        );
      }
      report.figure('deadlock', {
        namedFrom: source,
        log: monitor.log !== null,
        services: logged?.services ?? [],
        pids: { users: merge.pid, invoicing: billing.pid },
        named,
        victim: victims[0] ? victims[0][0].service : null,
        loggedVictim: logged?.victim.service ?? null,
        finding: finding?.parties.map((p) => `${p.service}:${p.as}`) ?? [],
      });
      report.expect(
        named.users === 'users' && named.invoicing === 'invoicing',
        `pgpact named the deadlock's sides ${named.users ?? 'unknown'} and ${named.invoicing ?? 'unknown'}, not users and invoicing`,
      );
      if (monitor.log !== null) {
        report.expect(logged !== undefined, 'the deadlock was not read from the server log');
        report.expect(finding !== undefined, 'no deadlock finding named both services');
        report.expect(
          logged === undefined || victims.length !== 1 || logged.victim.pid === victims[0]![0].pid,
          `the log reader named pid ${logged?.victim.pid} as the victim, not the aborted ${victims[0]?.[0].service} (pid ${victims[0]?.[0].pid})`,
        );
      }
    } finally {
      await closeSessions([merge, billing]);
      await monitor.close();
    }
    return report.result();
  },
};
