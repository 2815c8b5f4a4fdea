import { expect, it } from 'vitest';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, snapshot, tempDir } from './fixtures.js';

/** An existing schema full of admin-owned objects of every kind, open to PUBLIC and to a legacy role. */
const BROWNFIELD = `
  CREATE ROLE b_legacy_app LOGIN;
  CREATE ROLE b_other;
  CREATE ROLE b_outsider LOGIN PASSWORD 'outsider-pw';
  CREATE ROLE b_users SUPERUSER CREATEDB NOLOGIN;
  CREATE ROLE b_admin_human LOGIN IN ROLE b_users;
  GRANT pg_read_all_data TO b_users;
  CREATE ROLE b_group;
  CREATE ROLE b_granter CREATEROLE;
  GRANT b_group TO b_granter WITH ADMIN OPTION;
  SET ROLE b_granter;
  GRANT b_group TO b_users;
  RESET ROLE;
  GRANT CREATE ON DATABASE current_db TO PUBLIC;

  CREATE SCHEMA users;
  CREATE TYPE users.mood AS ENUM ('ok', 'meh');
  CREATE DOMAIN users.positive AS int CHECK (VALUE > 0);
  CREATE TYPE users.pair AS (a int, b int);
  CREATE TABLE users.account (id serial PRIMARY KEY, name text NOT NULL, secret text, mood users.mood);
  CREATE SEQUENCE users.invoice_no;
  CREATE VIEW users.account_names AS SELECT id, name FROM users.account;
  CREATE MATERIALIZED VIEW users.account_count AS SELECT count(*) AS n FROM users.account;
  CREATE TABLE users.event (id int, at date NOT NULL) PARTITION BY RANGE (at);
  CREATE TABLE users.event_2024 PARTITION OF users.event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE FUNCTION users.shout(t text) RETURNS text LANGUAGE sql AS 'SELECT upper(t)';
  CREATE PROCEDURE users.touch() LANGUAGE sql AS 'SELECT 1';
  CREATE AGGREGATE users.total(int) (SFUNC = int4pl, STYPE = int);

  GRANT ALL ON SCHEMA users TO PUBLIC;
  GRANT ALL ON ALL TABLES IN SCHEMA users TO PUBLIC;
  GRANT ALL ON ALL SEQUENCES IN SCHEMA users TO PUBLIC;
  GRANT SELECT, UPDATE (secret) ON users.account TO b_legacy_app WITH GRANT OPTION;
  SET ROLE b_legacy_app;
  GRANT SELECT ON users.account TO b_other;
  RESET ROLE;
  ALTER DEFAULT PRIVILEGES IN SCHEMA users GRANT SELECT ON TABLES TO PUBLIC;
  ALTER DEFAULT PRIVILEGES FOR ROLE b_legacy_app IN SCHEMA users GRANT ALL ON TABLES TO b_other;

  CREATE TABLE public.orphan (id int);
  ALTER TABLE public.orphan OWNER TO b_legacy_app;
`;

describeEachServer('brownfield', (server) => {
  it('an admin-owned schema open to PUBLIC ends owned by the service and private', async () => {
    const url = await server().createDatabase();
    const database = new URL(url).pathname.slice(1);
    await withClient(url, (c) => c.query(BROWNFIELD.replace('current_db', `"${database}"`)));
    const { manifest } = projectManifest({
      'pgpact.yaml': `version: 1
services:
  users:
    role: b_users
    owns: [users]
  invoicing:
    role: b_invoicing
    reads:
      users.account: [id, name]
`,
    });
    const plan = await planFor(url, manifest);
    const sql = plan.steps.map((s) => s.sql);
    expect(sql).toContain(
      'ALTER ROLE "b_users" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
    );
    // Postgres 16+ keeps a membership per grantor: each is revoked as granted.
    const granted = (by: string) => (server().majorVersion >= 16 ? ` GRANTED BY "${by}"` : '');
    expect(sql).toContain(`REVOKE "pg_read_all_data" FROM "b_users"${granted('postgres')}`);
    expect(sql).toContain(`REVOKE "b_group" FROM "b_users"${granted('b_granter')}`);
    expect(sql).toContain('REVOKE SELECT ON TABLE "users"."account" FROM "b_legacy_app" CASCADE');
    expect(sql).toContain(`REVOKE CREATE ON DATABASE "${database}" FROM PUBLIC`);
    expect(plan.findings.map((f) => `${f.severity} ${f.kind} ${f.object}`)).toEqual(
      expect.arrayContaining([
        'warning unowned-schema public',
        'warning unowned-table public.orphan',
        'info unused-role b_legacy_app',
      ]),
    );
    // No password ever appears in a plan.
    expect(
      sql.filter((s) => s.includes('PASSWORD')).every((s) => s.endsWith("PASSWORD '<redacted>'")),
    ).toBe(true);

    await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect((await planFor(url, manifest)).steps).toEqual([]);

    const catalog = await snapshot(url);
    const inUsers = <T extends { schema: string }>(list: T[]) =>
      list.filter((o) => o.schema === 'users');
    expect(catalog.schemas.find((s) => s.name === 'users')).toMatchObject({ owner: 'b_users' });
    expect(new Set(inUsers(catalog.relations).map((r) => r.owner))).toEqual(new Set(['b_users']));
    expect(inUsers(catalog.relations).map((r) => r.name)).toEqual([
      'account',
      'account_count',
      'account_id_seq',
      'account_names',
      'event',
      'event_2024',
      'invoice_no',
    ]);
    expect(new Set(inUsers(catalog.functions).map((f) => f.owner))).toEqual(new Set(['b_users']));
    expect(new Set(inUsers(catalog.types ?? []).map((t) => t.owner))).toEqual(new Set(['b_users']));
    expect(inUsers(catalog.types ?? []).map((t) => t.name)).toEqual(['mood', 'pair', 'positive']);

    // Private: only the owner holds anything, except the declared column reads.
    const grantees = [
      ...catalog.schemas.filter((s) => s.name === 'users').flatMap((s) => s.grants),
      ...inUsers(catalog.relations).flatMap((r) => [
        ...r.grants,
        ...r.columns.flatMap((c) => c.grants),
      ]),
      ...inUsers(catalog.functions).flatMap((f) => f.grants ?? []),
    ].map((g) => g.grantee);
    expect(new Set(grantees)).toEqual(new Set(['b_users', 'b_invoicing']));
    const account = catalog.relations.find((r) => r.schema === 'users' && r.name === 'account')!;
    expect(
      account.columns.flatMap((c) => c.grants.map((g) => `${c.name}:${g.grantee}:${g.privilege}`)),
    ).toEqual(['id:b_invoicing:SELECT', 'name:b_invoicing:SELECT']);
    expect(catalog.defaultPrivileges.filter((d) => d.schema === 'users')).toEqual([]);
    expect(catalog.roles.find((r) => r.name === 'b_users')).toMatchObject({
      superuser: false,
      createdb: false,
      canLogin: true,
      memberOf: [],
    });
    expect(
      catalog.databaseGrants.filter((g) => g.privilege === 'CREATE').map((g) => g.grantee),
    ).not.toContain('PUBLIC');

    // A role nobody declared gets nothing: not the table, not the routine.
    await withClient(urlWith(url, { user: 'b_outsider', password: 'outsider-pw' }), async (c) => {
      await expect(c.query('SELECT id FROM users.account')).rejects.toMatchObject({
        code: '42501',
      });
      await expect(c.query("SELECT users.shout('x')")).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('CREATE SCHEMA sneaky')).rejects.toMatchObject({ code: '42501' });
    });
    // Left alone: data no service owns keeps its owner (it is reported, not taken).
    expect(catalog.relations.find((r) => r.name === 'orphan')?.owner).toBe('b_legacy_app');
  });
});
