import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { FileLogSource, ServerLogSource } from '../../src/runtime/log-source.js';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import { SERVER_LABELS, startTestServer, type TestServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs, provokeDeadlock } from './helpers.js';

/**
 * A deadlock between users and invoicing is reported from the server log with
 * both services named, after both sessions ended, whatever the log tells:
 * the line prefix (%u), the connection lines, or only pids the sampler saw.
 */
const SETUPS: {
  title: string;
  settings: Record<string, string>;
  viaServer?: boolean;
  samplerSees?: boolean;
}[] = [
  { title: "pgpact's log_line_prefix (user in every line)", settings: {} },
  {
    title: 'a prefix without the user, log_connections on',
    settings: { log_line_prefix: '%t [%p]: [%l-1] ' },
  },
  {
    title: 'no user in the log at all: pids from the sampler history',
    settings: { log_line_prefix: '%m [%p] ', log_connections: 'off', log_disconnections: 'off' },
    samplerSees: true,
  },
  {
    title: 'jsonlog through the logging collector, read over SQL',
    settings: { logging_collector: 'on', log_destination: 'jsonlog', log_directory: 'log' },
    viaServer: true,
  },
];

for (const label of SERVER_LABELS) {
  describe(`deadlocks are named on both sides [${label}]`, () => {
    for (const setup of SETUPS) {
      describe(setup.title, () => {
        let server: TestServer;
        beforeAll(async () => {
          server = await startTestServer(label, setup.settings);
        });
        afterAll(async () => {
          await server?.destroy();
        });

        it('reports the deadlock with users and invoicing after both sessions ended', async () => {
          const db = await server.createDatabase('dl');
          await withClient(db, (c) =>
            c.query(`CREATE TABLE "Ledger Entries" (id int PRIMARY KEY, v int);
                     INSERT INTO "Ledger Entries" VALUES (1, 0), (2, 0);`),
          );
          const usersUrl = await createLoginRole(db, 'users_app');
          const invoicingUrl = await createLoginRole(db, 'Invoicing');
          await withClient(db, (c) =>
            c.query(`GRANT SELECT, UPDATE ON "Ledger Entries" TO users_app, "Invoicing"`),
          );
          const manifest = manifestOf({ users: 'users_app', invoicing: 'Invoicing' });
          const monitorClient = await openAs(db, 'pgpact test');
          try {
            const log = setup.viaServer
              ? new ServerLogSource(monitorClient)
              : new FileLogSource(server.logFile);
            const monitor = await RuntimeMonitor.create(monitorClient, { manifest, log });
            const users = { url: usersUrl, app: 'users-api' };
            const invoicing = { url: invoicingUrl, app: 'invoicing-worker' };
            let pids: { firstPid: number; secondPid: number; victimPid: number };
            if (setup.samplerSees) {
              // The sampler must see the sessions while they live: sample during the deadlock.
              const sampling = (async () => {
                const until = Date.now() + 1500;
                while (Date.now() < until) {
                  await monitor.sampler.sample();
                  await new Promise((r) => setTimeout(r, 50));
                }
              })();
              pids = await provokeDeadlock(users, invoicing, '"Ledger Entries"');
              await sampling;
            } else {
              pids = await provokeDeadlock(users, invoicing, '"Ledger Entries"');
            }
            // Both sessions are gone now; the log is read after the fact.
            await new Promise((r) => setTimeout(r, 300));
            const report = await monitor.tick();
            expect(report.log.error).toBeNull();
            const deadlock = report.deadlocks.find((d) =>
              d.processes.some((p) => p.pid === pids.firstPid),
            );
            expect(deadlock, JSON.stringify(report.deadlocks)).toBeDefined();
            const byPid = new Map(deadlock!.processes.map((p) => [p.pid, p]));
            expect(byPid.get(pids.firstPid)).toMatchObject({ service: 'users', role: 'users_app' });
            expect(byPid.get(pids.secondPid)).toMatchObject({
              service: 'invoicing',
              role: 'Invoicing',
            });
            expect(byPid.get(pids.firstPid)!.query).toContain('UPDATE "Ledger Entries"');
            expect(byPid.get(pids.firstPid)!.waitsFor).toMatch(/^ShareLock on transaction \d+$/);
            expect(byPid.get(pids.firstPid)!.blockedBy).toBe(pids.secondPid);
            expect(deadlock!.victim.pid).toBe(pids.victimPid);
            expect(deadlock!.services.sort()).toEqual(['invoicing', 'users']);
            expect(deadlock!.context).toMatch(/in relation "Ledger Entries"/);

            const finding = report.findings.find(
              (f) => f.kind === 'deadlock' && f.parties.length > 0,
            )!;
            expect(finding.severity).toBe('warning');
            expect(finding.object).toBe('Ledger Entries');
            expect(finding.parties.map((p) => p.service).sort()).toEqual(['invoicing', 'users']);
            expect(finding.parties.find((p) => p.pid === pids.victimPid)!.as).toBe('victim');
            expect(finding.message).toMatch(
              /^deadlock between (users and invoicing|invoicing and users)/,
            );
            // The first waiter's wait was logged too, with its holder named.
            const wait = report.loggedLockWaits.find(
              (w) => w.waiting.pid === pids.firstPid && w.state === 'waiting',
            );
            expect(wait?.holders.map((h) => h.service)).toEqual(['invoicing']);
            expect(wait?.object).toMatch(/^row \(0,2\) of "Ledger Entries" \(transaction \d+\)$/);
            const counted = report.sample.services
              .filter((s) => s.totals.deadlocks > 0)
              .map((s) => s.service);
            expect(counted.sort()).toEqual(['invoicing', 'users']);
          } finally {
            await closeAll([monitorClient]);
          }
        });
      });
    }
  });
}
