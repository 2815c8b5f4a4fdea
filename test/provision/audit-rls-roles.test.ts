import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, tempDir } from './fixtures.js';
import { outcomesAs } from './invariant-helpers.js';

/**
 * A multi-tenant schema the Supabase way: policies are written `TO authenticated`, the web
 * service's login role reaches them as a member of that group, and the billing sync runs
 * with BYPASSRLS. The admin owns every table.
 */
const SETUP = `
CREATE ROLE ar_authenticated NOLOGIN;
CREATE ROLE ar_web LOGIN IN ROLE ar_authenticated;
CREATE ROLE ar_sync LOGIN BYPASSRLS;
CREATE SCHEMA tenancy;
CREATE TABLE tenancy.notes (id int PRIMARY KEY, tenant text NOT NULL, body text);
CREATE TABLE tenancy.invoices (id int PRIMARY KEY, tenant text NOT NULL, cents int);
INSERT INTO tenancy.notes VALUES (1, 'a', 'mine'), (2, 'b', 'theirs');
INSERT INTO tenancy.invoices VALUES (1, 'a', 100), (2, 'b', 200);
ALTER TABLE tenancy.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_tenant ON tenancy.notes TO ar_authenticated
  USING (tenant = 'a');
CREATE POLICY own_tenant ON tenancy.invoices TO ar_authenticated
  USING (tenant = 'a');
GRANT USAGE ON SCHEMA tenancy TO ar_authenticated, ar_sync;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tenancy TO ar_authenticated;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA tenancy TO ar_sync;
`;

const manifest = (enforcement: string) => `version: 1
enforcement: ${enforcement}
services:
  web:
    role: ar_web
    owns: [tenancy.notes]
  sync:
    role: ar_sync
    owns: [tenancy.invoices]
`;

const WEB = [
  'SELECT id, body FROM tenancy.notes ORDER BY id',
  'SELECT id, cents FROM tenancy.invoices ORDER BY id',
  "UPDATE tenancy.notes SET body = 'hijacked' WHERE id = 2 RETURNING id",
];
const SYNC = [
  'SELECT count(*) FROM tenancy.notes',
  'SELECT id, cents FROM tenancy.invoices ORDER BY id',
  "INSERT INTO tenancy.invoices VALUES (3, 'c', 300) RETURNING id",
];

describeEachServer(
  'audit mode keeps the memberships and BYPASSRLS row-level security depends on',
  (server) => {
    it('a member of the policies’ group and a BYPASSRLS role see the same rows after apply; enforce mode would take both', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => c.query(SETUP));
      const before = {
        web: await outcomesAs(url, 'ar_web', WEB),
        sync: await outcomesAs(url, 'ar_sync', SYNC),
      };
      // The web (tenant a in this sketch) sees its note only; the sync sees every row.
      expect(before.web[0]).toEqual({ rows: JSON.stringify([{ id: 1, body: 'mine' }]) });
      expect(before.sync[0]).toEqual({ rows: JSON.stringify([{ count: '2' }]) });

      const enforce = await planFor(
        url,
        projectManifest({ 'pgpact.yaml': manifest('enforce') }).manifest,
      );
      const enforceSql = enforce.steps.map((s) => s.sql);
      expect(enforceSql.some((s) => s.startsWith('REVOKE "ar_authenticated" FROM "ar_web"'))).toBe(
        true,
      );
      expect(enforceSql).toContain(
        'ALTER ROLE "ar_sync" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
      );

      const { manifest: audit } = projectManifest({ 'pgpact.yaml': manifest('audit') });
      const plan = await planFor(url, audit);
      const sql = plan.steps.map((s) => s.sql);
      expect(sql.filter((s) => s.includes('"ar_authenticated" FROM'))).toEqual([]);
      expect(sql.filter((s) => s.includes('BYPASSRLS'))).toEqual([]);
      const deferred = plan.findings.filter((f) => f.kind === 'revoke-deferred');
      expect(deferred.map((f) => f.suggestion)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^enforce mode runs: REVOKE "ar_authenticated" FROM "ar_web"/),
          'enforce mode runs: ALTER ROLE "ar_sync" WITH NOBYPASSRLS',
        ]),
      );
      await applyProvisioning(url, audit, { stateDir: tempDir() });

      const after = {
        web: await outcomesAs(url, 'ar_web', WEB),
        sync: await outcomesAs(url, 'ar_sync', SYNC),
      };
      expect(after).toEqual(before);
    });
  },
);
