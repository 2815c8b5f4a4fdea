import os from 'node:os';
import { expect, it } from 'vitest';
import type pg from 'pg';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import type { RuntimeReport } from '../../src/runtime/monitor.js';
import { describeEachServer } from '../helpers/postgres.js';
import { withClient } from '../../src/postgres/client.js';
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
        /^reporting's share of database time rose from \d+% to \d+% over the last 2\.5 s \(running: SELECT count\(\*\) FROM generate_series\(1, 2000000\)\) while users's (mean statement time rose from [\d.]+ ms to [\d.]+ ms \(\+\d+%\)|calls per second fell from [\d.,]+ to [\d.,]+ \(−\d+%\))$/,
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

  it('names a service that keeps every CPU busy, and the services whose short statements wait for one', async () => {
    const db = await server().createDatabase('saturated');
    await withClient(db, (c) =>
      c.query(`CREATE TABLE "Artikel" (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO "Artikel" SELECT g, 'Artikel ' || g FROM generate_series(1, 1000) g`),
    );
    const shopUrl = await createLoginRole(db, 'shop api');
    await withClient(db, (c) => c.query(`GRANT SELECT ON "Artikel" TO "shop api"`));
    const batchUrl = await createLoginRole(db, 'nightly batch');
    await withClient(db, (c) => c.query(`GRANT SELECT ON "Artikel" TO "nightly batch"`));
    const manifest = manifestOf({ shop: 'shop api', batch: 'nightly batch' });
    const cpus = os.availableParallelism();
    const monitorClient = await openAs(db, 'pgpact test');
    const shop = await openAs(shopUrl, 'shop-api');
    const batch = await Promise.all(
      Array.from({ length: cpus + 2 }, (_, i) => openAs(batchUrl, `batch-${i}`)),
    );
    const windowMs = 2500;
    const monitor = await RuntimeMonitor.create(monitorClient, {
      manifest,
      serverCpus: cpus,
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
    // The shop's point lookups: a fraction of a millisecond each, a few hundred a second.
    let shopping = true;
    const lookups = (async () => {
      while (shopping) {
        await shop.query('SELECT name FROM "Artikel" WHERE id = $1', [
          1 + Math.floor(Math.random() * 1000),
        ]);
        await sleep(3);
      }
    })();
    try {
      await sampleFor(2 * windowMs + 500);
      expect(reports.at(-1)!.findings.filter((f) => f.kind === 'noisy-neighbour')).toEqual([]);

      // The batch keeps more sessions busy than the server has CPUs (pure CPU: no spill to disk).
      const stopBatch = loop(
        batch,
        `SELECT count(*) FROM "Artikel" a CROSS JOIN "Artikel" b WHERE md5(a.name || b.name) LIKE 'ab%'`,
      );
      let found: RuntimeReport | undefined;
      const deadline = Date.now() + 3 * windowMs;
      while (!found && Date.now() < deadline) {
        await sampleFor(250);
        const last = reports.at(-1)!;
        if (last.findings.some((f) => f.kind === 'noisy-neighbour')) found = last;
      }
      const busyRow = reports.at(-1)!.sample.services.find((s) => s.service === 'batch')!;
      await stopBatch();
      expect(found, 'a noisy-neighbour finding while the batch ran').toBeDefined();
      const finding = found!.findings.find((f) => f.kind === 'noisy-neighbour')!;
      expect(finding.object).toBe('service batch');
      expect(finding.parties.map((p) => [p.service, p.as])).toEqual([
        ['batch', 'noisy'],
        ['shop', 'slowed'],
      ]);
      // Either the shop's statements got slower, or (short ones) they waited for a CPU first.
      expect(finding.message).toMatch(
        new RegExp(
          `while (shop's mean statement time rose .*|shop's calls per second fell .*|the server's ${cpus} CPUs? (were|was) saturated \\([\\d.]+ busy processes on average, [\\d.]+ of them batch's\\): shop \\(\\d+ statements\\) waited for a CPU before each statement started.*)$`,
        ),
      );
      // The sample counts the batch's processes on a CPU or waiting for one.
      expect(busyRow.busyProcesses).toBeGreaterThanOrEqual(Math.min(cpus, 2));
      expect(busyRow.busyProcesses).toBeLessThanOrEqual(cpus + 2);

      // Quiet again: the finding goes away.
      await sampleFor(windowMs + 1000);
      expect(reports.at(-1)!.findings.filter((f) => f.kind === 'noisy-neighbour')).toEqual([]);
    } finally {
      shopping = false;
      await lookups.catch(() => undefined);
      await closeAll([shop, ...batch, monitorClient]);
    }
  });
});
