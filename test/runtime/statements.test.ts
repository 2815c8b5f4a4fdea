import { expect, it } from 'vitest';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { RuntimeSampler } from '../../src/runtime/sampler.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs } from './helpers.js';

describeEachServer('database time per service', (server) => {
  it('reads pg_stat_statements from a schema off the search path; top statements per service', async () => {
    const db = urlWith(server().url, { database: 'ext_elsewhere' });
    await withClient(server().url, (c) => c.query('CREATE DATABASE ext_elsewhere'));
    await withClient(db, (c) =>
      c.query(`CREATE SCHEMA "Monitoring Ext"; CREATE EXTENSION pg_stat_statements SCHEMA "Monitoring Ext";
               CREATE TABLE invoice (id int PRIMARY KEY, total int);
               INSERT INTO invoice SELECT g, g FROM generate_series(1, 1000) g;`),
    );
    const invoicingUrl = await createLoginRole(db, 'invoicing');
    await withClient(db, (c) => c.query('GRANT SELECT ON invoice TO invoicing'));
    const monitorClient = await openAs(db, 'pgpact test');
    const invoicing = await openAs(invoicingUrl, 'invoicing-api');
    // A session of another role that says it is users through application_name.
    const viaApp = await openAs(db, 'users');
    try {
      const manifest = manifestOf({ invoicing: 'invoicing', users: 'users_role' });
      const sampler = new RuntimeSampler(monitorClient, { manifest, statementDetailIntervalMs: 0 });
      await sampler.sample();
      for (let i = 0; i < 25; i += 1)
        await invoicing.query('SELECT total FROM invoice WHERE id = $1', [i + 1]);
      const sample = await sampler.sample();
      expect(sample.statementsAvailable).toBe(true);
      expect(sample.notes).toEqual([]);
      const row = sample.services.find((s) => s.service === 'invoicing')!;
      expect(row.calls).toBe(25);
      expect(row.meanStatementMs).toBeGreaterThan(0);
      expect(row.topStatement).toMatchObject({
        service: 'invoicing',
        role: 'invoicing',
        calls: 25,
      });
      expect(row.topStatement!.query).toBe('SELECT total FROM invoice WHERE id = $1');
      expect(sample.topStatements[0]!.queryId).toBe(row.topStatement!.queryId);
      const users = sample.services.find((s) => s.service === 'users')!;
      expect(users.connections).toMatchObject({ total: 1, idle: 1 });
      const session = sample.sessions.find((s) => s.applicationName === 'users')!;
      expect(session).toMatchObject({
        service: 'users',
        attribution: 'application-name',
        role: 'postgres',
      });
      expect(users.roles).toContain('postgres');
      // users' own role has no session: its connection limit counts none.
      expect(users.limitUsed).toBe(0);
    } finally {
      await closeAll([invoicing, viaApp, monitorClient]);
    }
  });

  it('without pg_stat_statements, says so and estimates database time from active sessions', async () => {
    const db = urlWith(server().url, { database: 'no_pgss' });
    await withClient(server().url, (c) => c.query('CREATE DATABASE no_pgss'));
    const reportingUrl = await createLoginRole(db, 'reporting');
    const monitorClient = await openAs(db, 'pgpact test');
    const reporting = await openAs(reportingUrl, 'nightly');
    try {
      const sampler = new RuntimeSampler(monitorClient);
      await sampler.sample();
      const sleeping = reporting.query('SELECT pg_sleep(1.2)');
      await new Promise((r) => setTimeout(r, 600));
      const sample = await sampler.sample();
      await sleeping;
      expect(sample.statementsAvailable).toBe(false);
      expect(sample.notes.join('\n')).toMatch(
        /pg_stat_statements is not readable .*CREATE EXTENSION pg_stat_statements/,
      );
      const row = sample.services.find((s) => s.service === 'reporting')!;
      expect(row.dbTimeMs).toBeGreaterThan(400);
      expect(row.dbTimeShare).toBe(1);
      expect(row.calls).toBe(0);
    } finally {
      await closeAll([reporting, monitorClient]);
    }
  });

  it('when reading pg_stat_statements is refused, samples sessions all the same and says why', async () => {
    const db = urlWith(server().url, { database: 'pgss_refused' });
    await withClient(server().url, (c) => c.query('CREATE DATABASE pgss_refused'));
    // The extension is there, but the monitoring role may not call its function.
    await withClient(db, (c) =>
      c.query(`CREATE EXTENSION pg_stat_statements;
               REVOKE EXECUTE ON FUNCTION pg_stat_statements(boolean) FROM PUBLIC`),
    );
    const monitorUrl = await createLoginRole(db, 'pgss watcher');
    await withClient(db, (c) => c.query('GRANT pg_monitor TO "pgss watcher"'));
    const reportingUrl = await createLoginRole(db, 'nightly export');
    const monitorClient = await openAs(monitorUrl, 'pgpact test');
    const reporting = await openAs(reportingUrl, 'nightly');
    try {
      const sampler = new RuntimeSampler(monitorClient);
      await sampler.sample();
      const sleeping = reporting.query('SELECT pg_sleep(1)');
      await new Promise((r) => setTimeout(r, 500));
      const sample = await sampler.sample();
      await sleeping;
      expect(sample.statementsAvailable).toBe(false);
      expect(sample.notes.join('\n')).toMatch(
        /pg_stat_statements is not readable \(permission denied for function pg_stat_statements\)/,
      );
      const row = sample.services.find((s) => s.service === 'nightly export')!;
      expect(row.connections.active).toBe(1);
      expect(row.dbTimeMs).toBeGreaterThan(200);
    } finally {
      await closeAll([reporting, monitorClient]);
    }
  });
});
