import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initManifest } from '../../src/init/init-manifest.js';
import { loadManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { passwordEnvVar } from '../../src/provision/credentials.js';
import { describeEachServer } from '../helpers/postgres.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-init-patterns-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const ROLES = ['tp_accounts', 'tp_billing', 'tp_batches', 'tp_reports'];

/** Each role's sample statements; the writes run in a transaction rolled back, so results repeat. */
const SAMPLES: [string, string][] = [
  ['tp_accounts', "SELECT id, name FROM users WHERE email = 'ALICE@X'"],
  ['tp_accounts', 'SELECT plan, count(*) FROM users GROUP BY plan ORDER BY plan'],
  ['tp_accounts', "INSERT INTO users (email, name) VALUES ('bob@x', 'Bob') RETURNING name, plan"],
  ['tp_billing', 'SELECT name, email FROM users WHERE id = 1'],
  ['tp_billing', 'INSERT INTO invoices (user_id, amount) VALUES (1, 7) RETURNING amount'],
  ['tp_billing', 'UPDATE invoice_lines SET text = $$y$$ WHERE id = 1 RETURNING text'],
  ['tp_batches', "UPDATE batch_changes SET state = 'closed' WHERE id = 1 RETURNING state"],
  ['tp_batches', 'SELECT count(*) FROM invoices'],
  ['tp_batches', 'DELETE FROM batch_specs WHERE id = 1 RETURNING spec'],
  ['tp_reports', 'SELECT id, amount FROM invoices ORDER BY id'],
  [
    'tp_reports',
    'SELECT u.name, sum(i.amount) FROM users u JOIN invoices i ON i.user_id = u.id GROUP BY u.name',
  ],
  ['tp_reports', 'SELECT what FROM audit_log ORDER BY id'],
];

describeEachServer('pgpact init with table patterns', (server) => {
  it('the first manifest of a one-schema database loads, and apply with it changes no result', async () => {
    const url = await server().createDatabase('init_patterns');
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
        CREATE TABLE public."Weird.Name" (id int);
        INSERT INTO users (email, name) VALUES ('Alice@x', 'Alice');
        INSERT INTO invoices (user_id, amount) VALUES (1, 10);
        INSERT INTO invoice_lines (invoice_id, text) VALUES (1, 'x');
        INSERT INTO batch_changes (state) VALUES ('open');
        INSERT INTO batch_specs (spec) VALUES ('s');
        INSERT INTO audit_log (what) VALUES ('start');`);
      for (const role of ROLES) {
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
        await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
        await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      }
      await c.query('SELECT pg_stat_statements_reset()');
    });
    const run = async () => {
      const seen: unknown[] = [];
      for (const [role, sql] of SAMPLES)
        seen.push(
          await withClient(urlWith(url, { user: role, password: `pw-${role}` }), async (c) => {
            await c.query('BEGIN');
            try {
              return (await c.query(sql)).rows;
            } catch (error) {
              return `error: ${(error as Error).message}`;
            } finally {
              await c.query('ROLLBACK');
            }
          }),
        );
      return seen;
    };
    // The traffic init learns from: the samples, plus writes that give each table its writer.
    await run();
    for (const [role, sql] of [
      ['tp_accounts', "INSERT INTO users_emails (user_id, email) VALUES (1, 'a@x')"],
      ['tp_accounts', 'INSERT INTO "Weird.Name" (id) VALUES (1)'],
      ['tp_accounts', "INSERT INTO users (email, name) VALUES ('carol@x', 'Carol')"],
      ['tp_billing', "INSERT INTO invoice_lines (invoice_id, text) VALUES (1, 'z')"],
      ['tp_batches', "INSERT INTO batch_specs (spec) VALUES ('t')"],
      ['tp_accounts', "INSERT INTO audit_log (what) VALUES ('a')"],
      ['tp_billing', "INSERT INTO audit_log (what) VALUES ('b')"],
    ] as const)
      await withClient(urlWith(url, { user: role, password: `pw-${role}` }), (c) => c.query(sql));

    const out = path.join(dir, `patterns-${server().label.replace(/\W/g, '')}.yaml`);
    const result = await withClient(url, (c) => initManifest(c));
    fs.writeFileSync(out, result.text);
    expect(Object.fromEntries(result.owns)).toEqual({
      tp_accounts: ['public."Weird.Name"', 'public.users*'],
      tp_batches: ['public.batch_*'],
      tp_billing: ['public.invoice*'],
    });
    const manifest = loadManifest(out);
    expect(manifest.enforcement).toBe('audit');

    const before = await run();
    expect(JSON.stringify(before)).not.toContain('error');
    for (const role of ROLES) process.env[passwordEnvVar(role)] = `pw-${role}`;
    try {
      await applyProvisioning(url, manifest, {
        stateDir: path.join(dir, `state-${server().label.replace(/\W/g, '')}`),
      });
    } finally {
      for (const role of ROLES) delete process.env[passwordEnvVar(role)];
    }
    // The tables changed owner: apply did something.
    await withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class
          WHERE relname IN ('users', 'batch_specs', 'invoices', 'audit_log') ORDER BY relname`,
      );
      expect(rows.map((r) => `${r.relname}:${r.owner}`)).toEqual([
        expect.stringMatching(/^audit_log:(?!tp_)/),
        'batch_specs:tp_batches',
        'invoices:tp_billing',
        'users:tp_accounts',
      ]);
    });
    expect(await run()).toEqual(before);

    await withClient(url, async (c) => {
      for (const role of ROLES) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    });
  });
});
