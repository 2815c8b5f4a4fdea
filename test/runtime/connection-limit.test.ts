import { expect, it } from 'vitest';
import { FileLogSource } from '../../src/runtime/log-source.js';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs } from './helpers.js';

describeEachServer('connection limits per service', (server) => {
  it('reports reporting at its limit of 2, then the connection Postgres refused', async () => {
    const db = await server().createDatabase('limits');
    const reportingUrl = await createLoginRole(db, 'reporting', { connectionLimit: 2 });
    const usersUrl = await createLoginRole(db, 'users', { connectionLimit: 5 });
    const manifest = manifestOf({ reporting: 'reporting', users: 'users' });
    const monitorClient = await openAs(db, 'pgpact test');
    const clients = [
      await openAs(reportingUrl, 'report-1'),
      await openAs(reportingUrl, 'report-2'),
      ...(await Promise.all([1, 2, 3, 4].map((i) => openAs(usersUrl, `users-${i}`)))),
    ];
    try {
      const monitor = await RuntimeMonitor.create(monitorClient, {
        manifest,
        log: new FileLogSource(server().logFile),
      });
      const report = await monitor.tick();
      const reporting = report.sample.services.find((s) => s.service === 'reporting')!;
      expect(reporting).toMatchObject({ connectionLimit: 2, limitUsed: 2, roles: ['reporting'] });
      expect(reporting.connections.idle).toBe(2);
      const limits = report.findings.filter((f) => f.kind === 'connection-limit');
      const atLimit = limits.find((f) => f.object === 'service reporting')!;
      expect(atLimit.severity).toBe('warning');
      expect(atLimit.parties).toEqual([
        { service: 'reporting', attribution: 'manifest-role', as: 'at-limit' },
      ]);
      expect(atLimit.message).toContain('reporting uses 2 of its 2 connections');
      // users holds 4 of 5: near its limit, not at it.
      const near = limits.find((f) => f.object === 'service users')!;
      expect(near.severity).toBe('info');
      expect(near.message).toContain('users uses 4 of its 5 connections');

      // A third connection of reporting is refused by Postgres; the log names it.
      const refused = await openAs(reportingUrl, 'report-3').then(
        (c) => c,
        (e: Error) => e,
      );
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toContain('too many connections for role "reporting"');
      await new Promise((r) => setTimeout(r, 200));
      const after = await monitor.tick();
      const fromLog = after.findings.find(
        (f) => f.kind === 'connection-limit' && f.parties[0]?.as === 'refused',
      )!;
      expect(fromLog).toBeDefined();
      expect(fromLog.parties[0]!.service).toBe('reporting');
      expect(fromLog.message).toMatch(/reporting had [1-9]\d* connection\(s\) refused/);
      expect(
        after.loggedLimits.some(
          (l) => l.kind === 'connection-refused' && l.process.role === 'reporting',
        ),
      ).toBe(true);

      await closeAll(clients.splice(0, 1));
      const relieved = await monitor.tick();
      expect(relieved.sample.services.find((s) => s.service === 'reporting')!.limitUsed).toBe(1);
      expect(
        relieved.findings.some(
          (f) => f.object === 'service reporting' && f.parties[0]?.as === 'at-limit',
        ),
      ).toBe(false);
    } finally {
      await closeAll([...clients, monitorClient]);
    }
  });
});
