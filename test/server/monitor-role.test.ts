import { afterAll, beforeAll, expect, it } from 'vitest';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { startDashboard } from '../../src/server/dashboard.js';
import { ensureMonitorRole, MONITOR_ROLE } from '../../src/server/monitor-role.js';
import { describeEachServer } from '../helpers/postgres.js';
import { type ArticleSystem, provisionArticleSystem } from './article-system.js';
import { buildWebBundle } from './web-bundle.js';

async function sqlstate(url: string, sql: string): Promise<string | undefined> {
  return withClient(url, (c) => c.query(sql)).then(
    () => undefined,
    (error: { code?: string; pg?: { code?: string } }) => error.pg?.code ?? error.code,
  );
}

describeEachServer('the monitoring role', (server) => {
  // Roles are cluster-wide: one provisioned system per server for the whole file.
  let system: ArticleSystem;
  beforeAll(async () => {
    await buildWebBundle();
    system = await provisionArticleSystem(server());
  });
  afterAll(() => system?.cleanup());

  it('reads statistics of every role and pgpact’s schema, and nothing else: no data, no writes, no DDL', async () => {
    {
      const monitor = await ensureMonitorRole(system.adminUrl);
      expect(monitor.role).toBe(MONITOR_ROLE);
      const attributes = await withClient(monitor.url, async (c) => {
        const { rows } = await c.query(`
          SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
                 pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS all_stats,
                 pg_has_role(current_user, 'pg_monitor', 'MEMBER') AS monitor,
                 current_setting('default_transaction_read_only') AS read_only,
                 (SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS member_of
          FROM pg_roles r WHERE r.rolname = current_user`);
        return rows[0];
      });
      expect(attributes).toEqual({
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcanlogin: true,
        all_stats: true,
        monitor: true,
        read_only: 'on',
        member_of: ['pg_monitor'],
      });

      // No service's data, no writes, no DDL, no other role's powers.
      expect(await sqlstate(monitor.url, 'SELECT name FROM users.account')).toBe('42501');
      expect(await sqlstate(monitor.url, 'SELECT count(*) FROM invoicing.invoice')).toBe('42501');
      expect(
        await sqlstate(
          monitor.url,
          'BEGIN READ WRITE; INSERT INTO users.account (name, street_and_number, zip, city) VALUES (1,1,1,1)',
        ),
      ).toBe('42501');
      expect(await sqlstate(monitor.url, 'BEGIN READ WRITE; CREATE TABLE public.x (id int)')).toBe(
        '42501',
      );
      expect(await sqlstate(monitor.url, 'CREATE TEMP TABLE x (id int)')).toBe('25006');
      expect(await sqlstate(monitor.url, 'SET ROLE users')).toBe('42501');

      // What it is for: other roles' statement texts and sessions.
      await withClient(system.urlOf('invoicing'), (c) =>
        c.query('SELECT id, name FROM users.account WHERE id = 1'),
      );
      const seen = await withClient(monitor.url, async (c) => {
        const { rows } = await c.query<{ query: string }>(
          `SELECT s.query FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'invoicing'`,
        );
        return rows.map((r) => r.query);
      });
      expect(seen.some((q) => q.includes('FROM users.account'))).toBe(true);

      // pgpact's own schema (migration state) becomes readable once it exists; still not writable.
      await withClient(system.adminUrl, (c) =>
        c.query(
          `CREATE SCHEMA IF NOT EXISTS pgpact; CREATE TABLE pgpact.probe (id int); INSERT INTO pgpact.probe VALUES (7)`,
        ),
      );
      expect(await sqlstate(monitor.url, 'SELECT id FROM pgpact.probe')).toBe('42501');
      const again = await ensureMonitorRole(system.adminUrl);
      expect(again.created).toBe(false);
      const probe = await withClient(again.url, (c) => c.query('SELECT id FROM pgpact.probe'));
      expect(probe.rows).toEqual([{ id: 7 }]);
      expect(await sqlstate(again.url, 'BEGIN READ WRITE; DELETE FROM pgpact.probe')).toBe('42501');
      // The password changed: the old URL no longer logs in.
      expect(await sqlstate(monitor.url, 'SELECT 1')).toBe('28P01');
      await withClient(system.adminUrl, (c) => c.query('DROP SCHEMA pgpact CASCADE'));
    }
  });

  it('the dashboard refuses a --monitor-url that logs in as a service or as a superuser', async () => {
    {
      await expect(
        startDashboard({
          databaseUrl: system.adminUrl,
          monitorUrl: system.urlOf('invoicing'),
          manifestFile: system.manifestFile,
          port: 0,
        }),
      ).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/logs in as invoicing, a service's role/),
      });
      await expect(
        startDashboard({ databaseUrl: system.adminUrl, monitorUrl: system.adminUrl, port: 0 }),
      ).rejects.toMatchObject({
        code: 'INSUFFICIENT_PRIVILEGE',
      });
      // A role an admin prepared with pg_monitor only is accepted as it is.
      const password = 'prepared-monitor-password';
      await withClient(system.adminUrl, (c) =>
        c.query(
          `DROP ROLE IF EXISTS ops_reader; CREATE ROLE ops_reader LOGIN PASSWORD '${password}'; GRANT pg_monitor TO ops_reader`,
        ),
      );
      const dashboard = await startDashboard({
        databaseUrl: 'postgresql://unused@127.0.0.1:1/unused',
        monitorUrl: urlWith(system.adminUrl, { user: 'ops_reader', password }),
        manifestFile: system.manifestFile,
        port: 0,
      });
      expect(dashboard.monitorRole).toBe('ops_reader');
      await dashboard.close();
      await withClient(system.adminUrl, (c) => c.query('DROP ROLE ops_reader'));
    }
  });
});
