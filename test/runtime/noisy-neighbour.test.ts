import { expect, it } from 'vitest';
import type pg from 'pg';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import type { RuntimeReport } from '../../src/runtime/monitor.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs } from './helpers.js';

/** Runs a statement in a loop on each client until stop() resolves the loops. */
function loop(clients: pg.Client[], sql: string) {
  let running = true;
  const loops = clients.map(async (c) => {
    while (running) await c.query(sql);
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachServer('noisy neighbour', (server) => {
  it('names reporting as the cause when its heavy queries slow down users', async () => {
    const db = await server().createDatabase('noisy');
    const usersUrl = await createLoginRole(db, 'users');
    const reportingUrl = await createLoginRole(db, 'reporting');
    const manifest = manifestOf({ users: 'users', reporting: 'reporting', invoicing: 'invoicing' });
    const monitorClient = await openAs(db, 'pgpact test');
    const users = [await openAs(usersUrl, 'users-api')];
    const reporting = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => openAs(reportingUrl, `report-${i}`)),
    );
    const windowMs = 2500;
    const monitor = await RuntimeMonitor.create(monitorClient, {
      manifest,
      findings: { noisyNeighbour: { windowMs } },
    });
    const reports: RuntimeReport[] = [];
    const sampleFor = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        reports.push(await monitor.tick());
        await sleep(250);
      }
    };
    try {
      // Users' short CPU-bound statements (one session) alone: two full windows, no finding.
      const stopUsers = loop(users, 'SELECT count(*) FROM generate_series(1, 100000)');
      await sampleFor(2 * windowMs + 500);
      const quiet = reports.at(-1)!;
      expect(quiet.findings.filter((f) => f.kind === 'noisy-neighbour')).toEqual([]);
      expect(quiet.sample.services.find((s) => s.service === 'users')!.dbTimeShare).toBeGreaterThan(
        0.9,
      );

      // Reporting starts six heavy reports on a two-core machine.
      const stopReports = loop(reporting, 'SELECT count(*) FROM generate_series(1, 2000000)');
      let found: RuntimeReport | undefined;
      const deadline = Date.now() + 3 * windowMs;
      while (!found && Date.now() < deadline) {
        await sampleFor(250);
        const last = reports.at(-1)!;
        if (last.findings.some((f) => f.kind === 'noisy-neighbour')) found = last;
      }
      await stopReports();
      expect(found, 'a noisy-neighbour finding while reporting ran').toBeDefined();
      const finding = found!.findings.find((f) => f.kind === 'noisy-neighbour')!;
      expect(finding.severity).toBe('warning');
      expect(finding.object).toBe('service reporting');
      expect(finding.parties.map((p) => [p.service, p.as])).toEqual([
        ['reporting', 'noisy'],
        ['users', 'slowed'],
      ]);
      expect(finding.message).toMatch(
        /^reporting's share of database time rose from \d+% to \d+% over the last 2\.5 s while users's mean statement time rose from [\d.]+ ms to [\d.]+ ms \(\+\d+%\)$/,
      );
      // The top row of the sample is reporting, with most of the database time.
      const top = found!.sample.services[0]!;
      expect(top.service).toBe('reporting');
      expect(top.dbTimeShare).toBeGreaterThan(0.5);

      // Once reporting is quiet again, the finding goes away.
      await sampleFor(windowMs + 1000);
      await stopUsers();
      expect(reports.at(-1)!.findings.filter((f) => f.kind === 'noisy-neighbour')).toEqual([]);
    } finally {
      await closeAll([...users, ...reporting, monitorClient]);
    }
  });
});
