import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initCommand } from '../../src/cli/commands/init.js';
import { initManifest } from '../../src/init/init-manifest.js';
import { loadManifest } from '../../src/manifest/load.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { passwordEnvVar } from '../../src/provision/credentials.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-init-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `pgpact init` in-process; returns its exit code and what it printed. */
async function runInit(values: Record<string, string | boolean>) {
  let out = '';
  let err = '';
  const code = await initCommand.run(
    { values, positionals: [] },
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      isTTY: false,
    },
    new AbortController().signal,
  );
  return { code, out, err };
}

describeEachServer('pgpact init', (server) => {
  const asRole = async (url: string, role: string, statements: [string, unknown[]?][]) => {
    await withClient(urlWith(url, { user: role, password: `pw-${role}` }), async (c) => {
      for (const [sql, params] of statements) await c.query(sql, params);
    });
  };

  it('proposes owners from writers when the admin owns every table, and says so', async () => {
    const url = await server().createDatabase('init_admin');
    const roles = ['accounts', 'billing', 'batches', 'reports'];
    await withClient(url, async (c) => {
      await c.query(`
        CREATE EXTENSION citext;
        CREATE TYPE public.plan AS ENUM ('free', 'pro');
        CREATE TABLE public.users (id serial PRIMARY KEY, email citext NOT NULL, name text, plan plan DEFAULT 'free');
        CREATE TABLE public.users_emails (id serial PRIMARY KEY, user_id int, email citext);
        CREATE TABLE public.invoices (id serial PRIMARY KEY, user_id int, amount int);
        CREATE TABLE public.invoice_lines (id serial PRIMARY KEY, invoice_id int, text text);
        CREATE TABLE public.batch_changes (id serial PRIMARY KEY, state text);
        CREATE TABLE public.batch_specs (id serial PRIMARY KEY, spec text);
        CREATE TABLE public.audit_log (id serial PRIMARY KEY, what text);
        CREATE TABLE public.orphan (id int);
        CREATE TABLE public."Weird.Name" (id int);
        CREATE VIEW public.user_names AS SELECT id, name FROM public.users;
        CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE public.old_events PARTITION OF public.events FOR VALUES FROM ('2000-01-01') TO ('2024-01-01')
          PARTITION BY RANGE (at);
        CREATE TABLE public.old_events_1 PARTITION OF public.old_events FOR VALUES FROM ('2000-01-01') TO ('2010-01-01');
        CREATE TABLE public.logs (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE public.logs_1 PARTITION OF public.logs FOR VALUES FROM ('2000-01-01') TO ('2100-01-01');`);
      for (const role of roles) {
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
        await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
        await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      }
      await c.query('SELECT pg_stat_statements_reset()');
    });
    await asRole(url, 'accounts', [
      ['INSERT INTO users (email, name) VALUES ($1, $2) RETURNING id', ['ALICE@x', 'Alice']],
      ['INSERT INTO users_emails (user_id, email) VALUES ($1, $2)', [1, 'a@x']],
      ['SELECT id FROM users WHERE email = $1', ['alice@x']],
      ['INSERT INTO audit_log (what) VALUES ($1)', ['signup']],
      ['INSERT INTO "Weird.Name" (id) VALUES ($1)', [1]],
    ]);
    await asRole(url, 'billing', [
      ['SELECT name, email FROM users WHERE id = $1', [1]],
      ['INSERT INTO invoices (user_id, amount) VALUES ($1, $2)', [1, 10]],
      ['INSERT INTO invoice_lines (invoice_id, text) VALUES ($1, $2)', [1, 'x']],
      ['INSERT INTO audit_log (what) VALUES ($1)', ['invoice']],
    ]);
    await asRole(url, 'batches', [
      ['INSERT INTO batch_changes (state) VALUES ($1)', ['open']],
      ['UPDATE batch_specs SET spec = $1 WHERE id = $2', ['s', 1]],
      ['SELECT count(*) FROM invoices', []],
      // Into the partitioned table, and straight into a partition: both are writes of events.
      ['INSERT INTO events (id, at) VALUES ($1, $2)', [1, '2024-05-01']],
      ['INSERT INTO events_2024 (id, at) VALUES ($1, $2)', [2, '2024-06-01']],
    ]);
    await asRole(url, 'reports', [['SELECT id, amount FROM invoices', []]]);
    // The admin writes too: never a service.
    await withClient(url, (c) => c.query('INSERT INTO orphan VALUES (1)'));

    const result = await withClient(url, (c) => initManifest(c));
    const doc = parse(result.text);
    expect(doc.version).toBe(1);
    expect(doc.enforcement).toBe('audit');
    expect(Object.keys(doc.services).sort()).toEqual(['accounts', 'batches', 'billing']);
    expect(doc.services.accounts.owns).toEqual(['public."Weird.Name"', 'public.users*']);
    expect(doc.services.billing.owns).toEqual(['public.invoice*']);
    // Partitions follow their root, down the tree.
    expect(doc.services.batches.owns).toEqual([
      'public.batch_*',
      'public.events*',
      'public.old_events*',
    ]);
    expect(result.text).not.toContain('logs_1');
    expect(result.text).toMatch(/# {3}public\.logs: owned by \S+, written by no service role/);
    expect(doc.services.billing.reads).toEqual({ 'public.users': ['email', 'id', 'name'] });
    expect(doc.services.batches.reads).toEqual({ 'public.invoices': ['id'] });
    expect(doc.services.accounts.reads).toBeUndefined();
    expect(result.proposal.adminOwnsAll).toBe(true);
    expect(result.readersOnly).toEqual(['reports']);
    expect(result.text).toMatch(
      /# Every table is owned by \S+, which is no service: owners are proposed from writers/,
    );
    expect(result.text).toContain('#   public.audit_log: owned by');
    expect(result.text).toContain('written by accounts, billing');
    expect(result.text).toMatch(/# {3}public\.orphan: owned by \S+, written by no service role/);
    expect(result.text).toContain(
      'only read (not services; pgpact observe reports them as unknown roles): reports',
    );

    // The CLI writes the file, refuses to overwrite it, and overwrites with --force.
    const out = path.join(dir, `admin-${server().label.replace(/\W/g, '')}.yaml`);
    const first = await runInit({ 'database-url': url, out });
    expect(first.code).toBe(0);
    expect(first.out).toContain('3 services, 3 tables nobody owns, owners proposed from writers');
    expect(parse(fs.readFileSync(out, 'utf8')).services.batches.owns).toContain('public.batch_*');
    fs.writeFileSync(out, 'mine\n');
    const again = await runInit({ 'database-url': url, out });
    expect(again.code).toBe(2);
    expect(again.err).toContain('exists; give --force');
    expect(fs.readFileSync(out, 'utf8')).toBe('mine\n');
    expect((await runInit({ 'database-url': url, out, force: true })).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('enforcement: audit');

    await withClient(url, async (c) => {
      for (const role of roles) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    });
  });

  it('keeps the owners of a database with owner roles, and the manifest loads', async () => {
    const url = await server().createDatabase('init_owners');
    const roles = ['svc_users', 'svc_invoicing', 'svc_reporting'];
    await withClient(url, async (c) => {
      for (const role of roles) await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
      await c.query(`
        CREATE EXTENSION citext;
        CREATE SCHEMA users AUTHORIZATION svc_users;
        CREATE SCHEMA invoicing AUTHORIZATION svc_invoicing;
        CREATE SCHEMA "Empty" AUTHORIZATION svc_users;
        SET ROLE svc_users;
        CREATE TYPE users.status AS ENUM ('active', 'closed');
        CREATE TABLE users.account (id serial PRIMARY KEY, name citext, city text, status users.status);
        CREATE TABLE users.address (id serial PRIMARY KEY, account_id int, street text);
        GRANT USAGE ON SCHEMA users TO svc_invoicing, svc_reporting;
        GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA users TO svc_invoicing, svc_reporting;
        SET ROLE svc_invoicing;
        CREATE TABLE invoicing.invoice (id serial PRIMARY KEY, account_id int, amount int);
        GRANT USAGE ON SCHEMA invoicing TO svc_reporting;
        GRANT SELECT ON ALL TABLES IN SCHEMA invoicing TO svc_reporting;
        RESET ROLE;`);
      await c.query('SELECT pg_stat_statements_reset()');
    });
    await asRole(url, 'svc_users', [
      ['INSERT INTO users.account (name, city) VALUES ($1, $2)', ['Ada', 'Bern']],
    ]);
    await asRole(url, 'svc_invoicing', [
      ['SELECT name, city FROM users.account WHERE name = $1', ['ADA']],
      ['UPDATE users.account SET city = $1 WHERE id = $2', ['Basel', 1]],
      ['INSERT INTO invoicing.invoice (account_id, amount) VALUES ($1, $2)', [1, 5]],
    ]);
    await asRole(url, 'svc_reporting', [
      [
        'SELECT i.amount, a.city FROM invoicing.invoice i JOIN users.account a ON a.id = i.account_id',
        [],
      ],
    ]);

    const out = path.join(dir, `owners-${server().label.replace(/\W/g, '')}.yaml`);
    const run = await runInit({ 'database-url': url, out });
    expect(run.code, run.err).toBe(0);
    const text = fs.readFileSync(out, 'utf8');
    const manifest = loadManifest(out);
    const byName = Object.fromEntries(manifest.services.map((s) => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['svc_invoicing', 'svc_users']);
    expect(byName.svc_users!.owns).toEqual(['Empty', 'users']);
    expect(byName.svc_invoicing!.owns).toEqual(['invoicing']);
    expect(manifest.enforcement).toBe('audit');
    const doc = parse(text);
    expect(doc.services.svc_invoicing.reads).toEqual({ 'users.account': ['city', 'id', 'name'] });
    expect(doc.services.svc_invoicing.writes).toEqual({ 'users.account': ['city'] });
    expect(text).toContain('#   users.account: owned by svc_users, written by svc_invoicing');
    expect(text).not.toContain('Every table is owned by');

    // apply with it (audit mode) changes no result of the roles' statements.
    const samples: [string, string][] = [
      ['svc_invoicing', "SELECT name, city FROM users.account WHERE name = 'ADA'"],
      ['svc_invoicing', 'SELECT amount FROM invoicing.invoice ORDER BY id'],
      [
        'svc_users',
        "SELECT name, status FROM users.account WHERE status IS NULL OR status = 'active'",
      ],
      [
        'svc_reporting',
        'SELECT i.amount, a.city FROM invoicing.invoice i JOIN users.account a ON a.id = i.account_id',
      ],
      ['svc_reporting', 'SELECT count(*) FROM users.address'],
    ];
    const results = async () => {
      const seen: unknown[] = [];
      for (const [role, sql] of samples)
        seen.push(
          await withClient(urlWith(url, { user: role, password: `pw-${role}` }), (c) =>
            c.query(sql).then(
              (r) => r.rows,
              (e: Error) => `error: ${e.message}`,
            ),
          ),
        );
      return seen;
    };
    const before = await results();
    expect(JSON.stringify(before)).not.toContain('error');
    for (const role of roles) process.env[passwordEnvVar(role)] = `pw-${role}`;
    try {
      await applyProvisioning(url, manifest, {
        stateDir: path.join(dir, `state-${server().label.replace(/\W/g, '')}`),
      });
    } finally {
      for (const role of roles) delete process.env[passwordEnvVar(role)];
    }
    expect(await results()).toEqual(before);
    expect(text).toContain(
      'only read (not services; pgpact observe reports them as unknown roles): svc_reporting',
    );

    await withClient(url, async (c) => {
      for (const role of roles) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    });
  });

  it('works without pg_stat_statements: owners from the catalog, and the file says why', async () => {
    const url = await server().createDatabase('init_nostats');
    await withClient(url, async (c) => {
      await c.query('DROP EXTENSION pg_stat_statements');
      await c.query(`CREATE ROLE lone LOGIN PASSWORD 'pw-lone'`);
      await c.query('CREATE SCHEMA lone AUTHORIZATION lone');
      await c.query('CREATE TABLE lone.t (id int)');
      await c.query('ALTER TABLE lone.t OWNER TO lone');
      await c.query('CREATE TABLE public.admins_table (id int)');
    });
    const result = await withClient(url, (c) => initManifest(c));
    expect(result.usageUnavailable).toMatch(/pg_stat_statements is not available/);
    expect(result.text).toContain('# No observed use (pg_stat_statements is not available');
    expect(parse(result.text).services).toEqual({ lone: { owns: ['lone'] } });
    expect(result.text).toMatch(
      /# {3}public\.admins_table: owned by \S+, written by no service role/,
    );
    await withClient(url, (c) => c.query('DROP OWNED BY lone; DROP ROLE lone'));
  });
});
