import type { RuntimeReport } from '../../runtime/monitor.js';
import type { LockWait } from '../../runtime/types.js';
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

/** Invoicing's billing run reads the accounts it bills (its declared columns) in one transaction. */
const BILLING_READ = `SELECT id, name, street_and_number, zip, city FROM users.account ORDER BY id LIMIT 100`;
/** Users' migration: a new column on its own table (rolled back whatever happens). */
const MIGRATION = 'ALTER TABLE users.account ADD COLUMN phone text';
const INTERVAL_MS = 200;
/** How long the demo lets the migration wait when users has no lock_timeout. */
const UNLIMITED_WAIT_MS = 3000;

/** `a`, `a and b`, `a, b and c`. */
function listed(items: string[]): string {
  if (items.length === 0) return 'nobody';
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The migration's own wait on invoicing in a report, if the sampler saw it. */
function migrationWait(
  report: RuntimeReport,
  migration: ServiceSession,
  billing: ServiceSession,
): LockWait | undefined {
  return report.sample.lockWaits.find(
    (w) => w.waiting.pid === migration.pid && w.holding.some((h) => h.pid === billing.pid),
  );
}

/** Chapter: a long transaction in invoicing holds up users' migration, and users' traffic behind it. */
export const lockWaitChapter: DemoChapter = {
  id: 'runtime-lock-wait',
  title: 'A long transaction in invoicing blocks users: the lock view names both sides',
  articleQuote:
    'If service A locks a table column and service B needs that data, then you are in for some ugly analysis.',
  async run(ctx) {
    const report = new ChapterReport();
    const lockTimeout = ctx.manifest.services.find((s) => s.name === 'users')?.limits.lockTimeoutMs;
    const monitor = await openDemoMonitor(ctx, { intervalMs: INTERVAL_MS });
    let billing: ServiceSession | undefined;
    let migration: ServiceSession | undefined;
    try {
      await monitor.tick();
      billing = await openServiceSession(ctx, 'invoicing', 'invoicing billing run');
      migration = await openServiceSession(ctx, 'users', 'users migration');
      await billing.client.query('BEGIN');
      await billing.client.query(BILLING_READ);
      report.did(
        `invoicing's billing run (its own role) read the accounts it bills in a transaction and kept it open: BEGIN; ${BILLING_READ}; … (no COMMIT yet)`,
      );
      await ctx.sleep(300);
      const { rows } = await migration.client.query<{ v: string }>(
        `SELECT current_setting('lock_timeout') AS v`,
      );
      await migration.client.query('BEGIN');
      const from = Date.now();
      let ended: Settled | undefined;
      const altering = settle(migration.client, MIGRATION).then((s) => {
        ended = s;
        return s;
      });
      report.did(
        `users deployed a migration of its own table meanwhile (rolled back afterwards): BEGIN; ${MIGRATION}`,
      );
      ctx.progress('users’ migration waits; pgpact top samples the lock view');

      // Sample while the migration waits: until it ends, or the demo's own cap.
      const cap = lockTimeout === undefined ? UNLIMITED_WAIT_MS : lockTimeout + 3000;
      const reports: RuntimeReport[] = [];
      while (ended === undefined && !ctx.signal.aborted && Date.now() - from < cap)
        reports.push(...(await monitor.sampleFor(INTERVAL_MS)));
      // Invoicing's run ends (rolled back: the demo changes nothing); a migration still waiting goes on.
      await billing.client.query('ROLLBACK');
      const outcome = await altering;
      const endedAt = Date.now();
      await migration.client.query('ROLLBACK');
      await ctx.sleep(100);
      const after = await monitor.tick();

      const seen = reports.filter((r) => migrationWait(r, migration!, billing!) !== undefined);
      const longest = seen.at(-1);
      const wait = longest ? migrationWait(longest, migration, billing) : undefined;
      if (longest && wait) {
        const view = topSection(monitor, longest, 'LOCK WAITS');
        const shown = view.slice(0, 4);
        if (view.length > shown.length) shown.push(`… and ${view.length - shown.length} more`);
        report.measured(block(`pgpact top's lock view after ${seconds(wait.waitedMs)}:`, shown));
        for (const f of longest.findings.filter(
          (f) =>
            (f.kind === 'idle-in-transaction-blocker' || f.kind === 'lock-wait') &&
            f.parties.some((p) => p.pid === migration!.pid && p.as === 'waiting'),
        ))
          report.measured(`${f.severity} ${f.kind}: ${f.message}`);
      }
      const queued = longest
        ? longest.sample.lockWaits.filter((w) => w.waiting.pid !== migration!.pid)
        : [];
      const blocker = longest?.findings.find(
        (f) =>
          f.kind === 'idle-in-transaction-blocker' &&
          f.parties.some((p) => p.as === 'holding' && p.pid === billing!.pid),
      );
      report.figure('lockWait', {
        waiting: wait ? { service: wait.waiting.service, pid: wait.waiting.pid } : null,
        holding:
          wait?.holding.map((h) => ({ service: h.service, pid: h.pid, state: h.state })) ?? [],
        object: wait?.object.description ?? null,
        mode: wait?.mode ?? null,
        waitedMs: wait ? Math.round(wait.waitedMs) : null,
        queuedBehind: queued.map((w) => w.waiting.service),
        blockerFinding: blocker?.parties.map((p) => `${p.service}:${p.as}`) ?? [],
      });
      report.expect(
        wait !== undefined,
        `pgpact's lock view never showed users' migration waiting for invoicing (${reports.length} samples)`,
      );
      if (wait) {
        report.expect(
          wait.waiting.service === 'users' &&
            wait.holding.some((h) => h.pid === billing!.pid && h.service === 'invoicing'),
          `the lock view named ${wait.waiting.service} waiting for ${wait.holding.map((h) => h.service).join(', ')}, not users waiting for invoicing`,
        );
        report.expect(
          wait.object.kind === 'relation' &&
            wait.object.schema === 'users' &&
            wait.object.relation === 'account',
          `the lock view named ${wait.object.description}, not relation users.account`,
        );
      }
      report.expect(
        blocker !== undefined,
        'no idle-in-transaction-blocker finding named invoicing holding what users waits for',
      );

      // What the wait did to users' traffic, and how it ended.
      const traffic = ctx.traffic.stats(from, endedAt).services;
      const usersTraffic = traffic.users;
      if (usersTraffic) {
        report.measured(
          `meanwhile ${queued.length} session(s) of ${listed([...new Set(queued.map((w) => w.waiting.service))])} queued behind the migration for users.account; users' slowest request took ${usersTraffic.maxMs.toFixed(0)} ms (p99 ${usersTraffic.p99Ms.toFixed(0)} ms, ${usersTraffic.errors} errors)`,
        );
      }
      report.measured(
        `users' migration ran with lock_timeout ${rows[0]!.v} (pgpact.yaml: ${lockTimeout === undefined ? 'none' : seconds(lockTimeout)}, set on its role) and ended after ${seconds(outcome.ms)}: ${outcome.error ? `ERROR ${outcome.error.sqlstate}: ${outcome.error.message}` : 'it went through once invoicing’s transaction ended (rolled back by the demo)'}`,
      );
      report.figure('migration', {
        lockTimeout: rows[0]!.v,
        endedAfterMs: Math.round(outcome.ms),
        sqlstate: outcome.error?.sqlstate ?? null,
      });
      if (lockTimeout !== undefined) {
        report.expect(
          outcome.error?.sqlstate === '55P03',
          `users' migration was not stopped by its lock_timeout (${outcome.error?.sqlstate ?? 'it completed'})`,
        );
      }
      const logged = after.loggedLockWaits.find(
        (w) => w.waiting.pid === migration!.pid && w.holders.some((h) => h.pid === billing!.pid),
      );
      if (logged) {
        report.measured(
          `the server log (log_lock_waits): ${logged.waiting.service} (pid ${logged.waiting.pid}) ${logged.state === 'waiting' ? 'still waiting' : logged.state} for ${logged.mode} on ${logged.object} after ${seconds(logged.waitedMs)}, held by ${logged.holders.map((h) => `${h.service} (pid ${h.pid})`).join(', ')}`,
        );
      }
      const mine = [billing.pid, migration.pid];
      const stillWaiting = after.sample.lockWaits.filter(
        (w) =>
          w.object.description === wait?.object.description ||
          mine.includes(w.waiting.pid) ||
          w.holding.some((h) => mine.includes(h.pid)),
      ).length;
      report.measured(
        `afterwards: ${stillWaiting} lock wait(s) left on users.account; invoicing's transaction and users' migration are both rolled back`,
      );
      report.expect(stillWaiting === 0, `${stillWaiting} lock wait(s) were left after the chapter`);
    } finally {
      await closeSessions([billing, migration]);
      await monitor.close();
    }
    return report.result();
  },
};
