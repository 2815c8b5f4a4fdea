import { expect, it } from 'vitest';
import { type PgpactError, PostgresError } from '../../src/errors.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning, applySteps } from '../../src/provision/apply.js';
import { rolePassword } from '../../src/provision/credentials.js';
import { planProvisioning } from '../../src/provision/plan.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, snapshot, stable, tempDir } from './fixtures.js';

function articleProject(prefix: string) {
  return projectManifest({
    'pgpact.yaml': `version: 1
services:
  users:
    role: ${prefix}users
    owns: [users]
    migrations: migrations/users
    limits: { connections: 20, statement_timeout: 2s, lock_timeout: 1s }
  invoicing:
    role: ${prefix}invoicing
    owns: [invoicing]
    migrations: migrations/invoicing
    reads:
      users.account: [id, name, street_and_number, zip, city]
  reporting:
    role: ${prefix}reporting
    enforcement: audit
    reads:
      users.account: [id, created_at]
      invoicing.invoice: "*"
    limits: { connections: 5, statement_timeout: 30s, idle_in_transaction_session_timeout: 10s, work_mem: 16MB }
`,
    'migrations/users/001_account.sql': `CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL, street_and_number text,
  zip text, city text, created_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION normalize_zip(z text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(trim(z)) $$;`,
    'migrations/invoicing/001_invoice.sql':
      'CREATE TABLE invoice (id serial PRIMARY KEY, account_id int NOT NULL, amount numeric(10, 2) NOT NULL);',
  });
}

/** An admin-owned schema with a table open to PUBLIC and a routine: every kind of step to roll back. */
async function brownfield(url: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`CREATE SCHEMA users;
      CREATE TABLE users.account (id serial PRIMARY KEY, name text, street_and_number text, zip text, city text,
        created_at timestamptz DEFAULT now());
      GRANT ALL ON users.account TO PUBLIC;
      CREATE FUNCTION users.f() RETURNS int LANGUAGE sql AS 'SELECT 1';`),
  );
}

describeEachServer('apply', (server) => {
  it('provisions an empty database; then the plan is empty and applying again changes nothing', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { manifest } = articleProject('e_');
    const first = await applyProvisioning(url, manifest, { stateDir });
    const kinds = new Set(first.steps.map((s) => s.kind));
    for (const kind of ['create-role', 'limit', 'create-schema', 'grant', 'default-privileges'])
      expect(kinds).toContain(kind);
    expect(first.migrations).toHaveLength(2);
    expect((await planFor(url, manifest)).steps).toEqual([]);

    const before = stable(await snapshot(url));
    const again = await applyProvisioning(url, manifest, { stateDir });
    expect(again).toMatchObject({ steps: [], migrations: [], rounds: 1 });
    expect(stable(await snapshot(url))).toEqual(before);

    // What was provisioned: owners, least-privilege roles, normalized limits, private routines.
    const catalog = await snapshot(url);
    expect(catalog.schemas.find((s) => s.name === 'users')?.owner).toBe('e_users');
    expect(catalog.relations.filter((r) => r.schema === 'users').map((r) => r.owner)).toEqual([
      'e_users',
      'e_users',
    ]);
    const reporting = catalog.roles.find((r) => r.name === 'e_reporting')!;
    expect(reporting).toMatchObject({
      canLogin: true,
      superuser: false,
      createdb: false,
      createrole: false,
      replication: false,
      bypassRls: false,
      connectionLimit: 5,
      // Settings hold in this database only: none for every database.
      settings: {},
      settingsByDatabase: {
        [new URL(url).pathname.slice(1)]: {
          statement_timeout: '30000ms',
          idle_in_transaction_session_timeout: '10000ms',
          work_mem: '16384kB',
        },
      },
    });
    const fn = catalog.functions.find((f) => f.name === 'normalize_zip')!;
    expect(fn.grants).toEqual([{ grantee: 'e_users', privilege: 'EXECUTE', grantable: false }]);
    const account = catalog.relations.find((r) => r.schema === 'users' && r.name === 'account')!;
    expect(account.grants.map((g) => g.grantee)).not.toContain('PUBLIC');
    expect(account.columns.find((c) => c.name === 'street_and_number')!.grants).toEqual([
      { grantee: 'e_invoicing', privilege: 'SELECT', grantable: false },
    ]);
  });

  it('reaches a changed manifest from a previous apply, and removes limits no longer declared', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { manifest } = articleProject('c_');
    await applyProvisioning(url, manifest, { stateDir });
    // Another manifest: users is now read by reporting in enforce mode, invoicing lost its contract and
    // users its limits; a schema moved from invoicing to a new service billing.
    const { manifest: next } = projectManifest({
      'pgpact.yaml': `version: 1
services:
  users:
    role: c_users
    owns: [users]
  invoicing:
    role: c_invoicing
  billing:
    role: c_billing
    owns: [invoicing]
  reporting:
    role: c_reporting
    reads:
      users.account: [id]
`,
    });
    const plan = await planFor(url, next);
    const sql = plan.steps.map((s) => s.sql);
    const database = new URL(url).pathname.slice(1);
    expect(sql).toContain(`ALTER ROLE "c_users" IN DATABASE "${database}" RESET statement_timeout`);
    expect(sql).toContain('ALTER ROLE "c_users" CONNECTION LIMIT -1');
    expect(sql).toContain('ALTER SCHEMA "invoicing" OWNER TO "c_billing"');
    expect(sql).toContain('ALTER TABLE "invoicing"."invoice" OWNER TO "c_billing"');
    expect(sql).toContain('REVOKE SELECT ("name") ON TABLE "users"."account" FROM "c_invoicing"');
    expect(sql).toContain('REVOKE SELECT ON TABLE "users"."account" FROM "c_reporting"');
    expect(sql).toContain('GRANT SELECT ("id") ON TABLE "users"."account" TO "c_reporting"');
    const result = await applyProvisioning(url, next, { stateDir });
    expect(result.steps.length).toBe(plan.steps.length);
    expect((await planFor(url, next)).steps).toEqual([]);
    const catalog = await snapshot(url);
    expect(catalog.roles.find((r) => r.name === 'c_users')).toMatchObject({
      connectionLimit: -1,
      settings: {},
    });
    const account = catalog.relations.find((r) => r.schema === 'users' && r.name === 'account')!;
    expect(account.grants.map((g) => g.grantee).sort()).toEqual(
      Array(account.grants.length).fill('c_users'),
    );
    expect(
      account.columns.flatMap((c) => c.grants.map((g) => `${c.name}:${g.grantee}:${g.privilege}`)),
    ).toEqual(['id:c_reporting:SELECT']);
  });

  it('leaves the catalog exactly as before when a step in the middle fails', async () => {
    const url = await server().createDatabase();
    const { manifest } = articleProject('f1_');
    await brownfield(url);
    const before = await snapshot(url);
    const steps = planProvisioning(manifest, before).steps;
    const half = Math.floor(steps.length / 2);
    const failing = {
      kind: 'grant' as const,
      sql: 'GRANT SELECT ON TABLE "users"."account" TO "no such role"',
      reason: 'injected',
    };
    const ran: string[] = [];
    const error = await withClient(url, (c) =>
      applySteps(c, url, [...steps.slice(0, half), failing, ...steps.slice(half)], {
        stateDir: tempDir(),
        onStep: (s) => ran.push(s.sql),
      }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PostgresError);
    expect((error as PostgresError).message).toMatch(
      new RegExp(
        `^step ${half + 1} of ${steps.length + 1} \\(grant: injected\\) failed: role "no such role" does not exist`,
      ),
    );
    expect((error as PostgresError).pg.code).toBe('42704');
    expect(ran).toHaveLength(half + 1);
    expect(stable(await snapshot(url))).toEqual(stable(before));
  });

  it('leaves the catalog exactly as before when onStep throws after half the steps', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { manifest } = articleProject('f2_');
    await brownfield(url);
    const before = await snapshot(url);
    const total = planProvisioning(manifest, before).steps.length;
    expect(total).toBeGreaterThan(10);
    let seen = 0;
    const error = await applyProvisioning(url, manifest, {
      stateDir,
      onStep: () => {
        seen += 1;
        if (seen > total / 2) throw new Error('injected failure');
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('injected failure');
    expect(seen).toBe(Math.floor(total / 2) + 1);
    expect(stable(await snapshot(url))).toEqual(stable(before));
    // Nothing was created, so no password was kept either.
    expect(rolePassword(url, 'f2_users', stateDir)).toBeUndefined();
  });

  it('refuses to run while another apply holds the database', async () => {
    const url = await server().createDatabase();
    const { manifest } = articleProject('l_');
    await withClient(url, async (holder) => {
      await holder.query("SELECT pg_advisory_lock(hashtextextended('pgpact:apply', 0))");
      const error = await applyProvisioning(url, manifest, { stateDir: tempDir() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'APPLY_IN_PROGRESS' });
    });
    // Released: it runs now.
    await expect(applyProvisioning(url, manifest, { stateDir: tempDir() })).resolves.toMatchObject({
      rounds: 2,
    });
  });

  it('fails with APPLY_INCOMPLETE, listing what is left, when privileges change behind its back', async () => {
    const url = await server().createDatabase();
    await brownfield(url);
    // Someone else's automation re-opens the table whenever default privileges change.
    await withClient(url, (c) =>
      c.query(`CREATE FUNCTION public.reopen() RETURNS event_trigger LANGUAGE plpgsql AS $$
          BEGIN EXECUTE 'GRANT SELECT ON users.account TO PUBLIC'; END $$;
        CREATE EVENT TRIGGER reopen ON ddl_command_end WHEN TAG IN ('ALTER DEFAULT PRIVILEGES')
          EXECUTE FUNCTION public.reopen();`),
    );
    const { manifest } = projectManifest({
      'pgpact.yaml': 'version: 1\nservices:\n  users:\n    role: i_users\n    owns: [users]\n',
    });
    const error = await applyProvisioning(url, manifest, { stateDir: tempDir() }).then(
      () => undefined,
      (e: unknown) => e as PgpactError,
    );
    expect(error).toMatchObject({ code: 'APPLY_INCOMPLETE' });
    expect(error!.message).toBe(
      'after apply, 1 step(s) are still planned: the database did not reach the manifest',
    );
    expect(error!.detail).toBe(
      'REVOKE SELECT ON TABLE "users"."account" FROM PUBLIC;  -- revoke: PUBLIC holds SELECT on users.account, which the manifest does not declare',
    );
  });

  it('takes the public schema when a service owns it', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query('CREATE TABLE public.shared (id int); GRANT SELECT ON public.shared TO PUBLIC'),
    );
    const { manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  legacy:\n    role: p_legacy\n    owns: [public]\n  users:\n    role: p_users\n',
    });
    await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect((await planFor(url, manifest)).steps).toEqual([]);
    const catalog = await snapshot(url);
    expect(catalog.schemas.find((s) => s.name === 'public')).toMatchObject({
      owner: 'p_legacy',
      grants: [
        { grantee: 'p_legacy', privilege: 'CREATE', grantable: false },
        { grantee: 'p_legacy', privilege: 'USAGE', grantable: false },
      ],
    });
    expect(catalog.relations.find((r) => r.name === 'shared')).toMatchObject({ owner: 'p_legacy' });
    expect(
      catalog.relations.find((r) => r.name === 'shared')!.grants.map((g) => g.grantee),
    ).not.toContain('PUBLIC');
  });
});
