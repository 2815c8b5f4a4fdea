import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Finding } from '../../src/findings.js';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { observeUsage } from '../../src/usage/observe.js';
import { loadUsage, saveUsage } from '../../src/usage/store.js';
import { describeEachServer } from '../helpers/postgres.js';

const EXAMPLE = path.join(import.meta.dirname, '..', 'sql', 'fixtures', 'example.sql');
const MANIFEST = `version: 1
enforcement: audit
services:
  users:
    owns: [users]
  invoicing:
    owns: [invoicing]
    reads:
      users.account: [id, name, street_and_number, zip, city]
  reporting:
    reads:
      users.account: [id, created_at, zip]
      invoicing.invoice: "*"
`;
const ROLES = ['users', 'invoicing', 'reporting', 'backup_bot'];

let dir: string;
let manifest: Manifest;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-observe-'));
  fs.writeFileSync(path.join(dir, 'pgpact.yaml'), MANIFEST);
  manifest = loadManifest(path.join(dir, 'pgpact.yaml'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const brief = (findings: Finding[]) =>
  findings.map(
    (f) => `${f.severity} ${f.kind} ${f.object} ${f.consumers.map((c) => c.service).join(',')}`,
  );

describeEachServer('observe over pg_stat_statements', (server) => {
  let url: string;
  const asRole = async (role: string, statements: [string, unknown[]?][], times = 1) => {
    await withClient(urlWith(url, { user: role, password: `pw-${role}` }), async (c) => {
      for (let i = 0; i < times; i++)
        for (const [sql, params] of statements) await c.query(sql, params);
    });
  };

  beforeAll(async () => {
    url = await server().createDatabase('observe');
    await withClient(url, async (c) => {
      await c.query(fs.readFileSync(EXAMPLE, 'utf8'));
      for (const role of ROLES) {
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
        await c.query(`GRANT USAGE ON SCHEMA users, invoicing, public TO ${role}`);
        await c.query(
          `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA users, invoicing, public TO ${role}`,
        );
        await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA users, invoicing TO ${role}`);
      }
      await c.query('SELECT pg_stat_statements_reset()');
    });
    await asRole('users', [
      [
        'INSERT INTO users.account (name, street_and_number, zip, city) VALUES ($1, $2, $3, $4)',
        ['Ada', 'Main St 1', '1000', 'Bern'],
      ],
      ['UPDATE users.account SET city = $1 WHERE id = $2', ['Basel', 1]],
    ]);
    await asRole('invoicing', [
      ['SELECT name, street_and_number, zip, city FROM users.account WHERE id = $1', [1]],
      [
        'INSERT INTO invoicing.invoice (account_id, amount, billing_name) VALUES ($1, $2, $3)',
        [1, 10, 'Ada'],
      ],
      ['UPDATE users.account SET city = $1 WHERE id = $2', ['Zürich', 1]],
    ]);
    await asRole(
      'reporting',
      [
        ['SELECT id, created_at, name FROM users.account WHERE created_at > $1', ['2000-01-01']],
        ['SELECT count(*) FROM invoicing.invoice', []],
      ],
      3,
    );
    await asRole('backup_bot', [['SELECT * FROM public.legacy_customer', []]]);
  });

  afterAll(async () => {
    await withClient(url, async (c) => {
      for (const role of ROLES) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    });
  });

  it('reports undeclared reads and writes, unused contract columns and unknown roles; own-schema writes are fine', async () => {
    const result = await withClient(url, (client) =>
      observeUsage({ client, manifest, sinceReset: true }),
    );
    expect(result.window.mode).toBe('since-reset');
    expect(brief(result.findings)).toEqual([
      'warning unknown-role backup_bot ',
      'warning undeclared-write users.account.city invoicing',
      'warning undeclared-read users.account.name reporting',
      'info unused-contract-column users.account.zip reporting',
    ]);
    // The foreign-key check of the invoice insert runs as the owner of users.account (postgres):
    // Postgres's integrity machinery, left out.
    const all = result.usage.roles.flatMap((r) => r.statements.map((s) => s.query));
    expect(all.some((q) => q.includes('FOR KEY SHARE'))).toBe(false);
    const postgres = result.usage.roles.find((r) => r.role === 'postgres');
    expect(Object.keys(postgres?.relationsRead ?? {})).toEqual([]);
    const reporting = result.usage.roles.find((r) => r.role === 'reporting')!;
    expect(reporting.service).toBe('reporting');
    expect(reporting.reads['users.account.name']).toMatchObject({ calls: 3, rows: 3 });
    expect(reporting.relationsRead['invoicing.invoice']).toMatchObject({ calls: 3, rows: 3 });
    expect(Object.keys(reporting.reads)).toEqual([
      'users.account.created_at',
      'users.account.id',
      'users.account.name',
    ]);
    const users = result.usage.roles.find((r) => r.role === 'users')!;
    expect(Object.keys(users.writes)).toEqual([
      'users.account.city',
      'users.account.name',
      'users.account.street_and_number',
      'users.account.zip',
    ]);
    expect(result.usage.relations?.['users.account']).toEqual({
      schema: 'users',
      table: 'account',
      kind: 'table',
    });
    expect(result.usage.counters?.entries.length).toBeGreaterThan(0);
    const bot = result.findings.find((f) => f.kind === 'unknown-role')!;
    expect(bot.message).toContain('read public.legacy_customer');
  });

  it('observes the delta since the previous snapshot, and everything again after a reset', async () => {
    const file = path.join(dir, `usage-${server().label.replace(/\W/g, '')}.json`);
    const first = await withClient(url, (client) =>
      observeUsage({ client, manifest, sinceReset: true }),
    );
    saveUsage(file, first.usage);
    await asRole(
      'reporting',
      [['SELECT id, created_at, name FROM users.account WHERE created_at > $1', ['2001-01-01']]],
      2,
    );
    await asRole('reporting', [['SELECT zip FROM users.account', []]]);

    const delta = await withClient(url, (client) =>
      observeUsage({ client, manifest, previous: loadUsage(file) }),
    );
    expect(delta.window).toMatchObject({ mode: 'delta', start: first.usage.takenAt });
    // Only reporting touched tables since (postgres ran pgpact's own catalog queries).
    const touching = delta.usage.roles.filter((r) => Object.keys(r.relationsRead).length > 0);
    expect(touching.map((r) => r.role)).toEqual(['reporting']);
    const reporting = touching[0]!;
    expect(reporting.reads['users.account.name']!.calls).toBe(2);
    expect(reporting.reads['users.account.zip']!.calls).toBe(1);
    expect(reporting.statements.map((s) => s.calls).sort()).toEqual([1, 2]);
    // zip was read in this window, so that contract column counts as used now; the invoices were not.
    expect(brief(delta.findings)).toEqual([
      'warning undeclared-read users.account.name reporting',
      'info unobserved-service invoicing invoicing',
      'info unused-contract-column invoicing.invoice reporting',
    ]);

    await withClient(url, (c) => c.query('SELECT pg_stat_statements_reset()'));
    await asRole('backup_bot', [['SELECT count(*) FROM users.account', []]]);
    const afterReset = await withClient(url, (client) =>
      observeUsage({ client, manifest, previous: delta.usage }),
    );
    expect(afterReset.window.mode).toBe('since-reset');
    expect(afterReset.window.note).toContain('reset');
    expect(
      afterReset.usage.roles.find((r) => r.role === 'backup_bot')?.relationsRead['users.account']
        ?.calls,
    ).toBe(1);
  });

  it('reads an exported CSV written by Postgres itself, rows of other databases skipped', async () => {
    const exportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-export-'));
    fs.chmodSync(exportDir, 0o777);
    const csv = path.join(exportDir, 'stats.csv');
    await asRole('reporting', [['SELECT id, name FROM users.account WHERE zip = $1', ['1000']]]);
    await withClient(url, (c) =>
      c.query(`COPY (SELECT r.rolname, d.datname, s.* FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                JOIN pg_database d ON d.oid = s.dbid) TO '${csv}' CSV HEADER`),
    );
    const result = await withClient(url, (client) =>
      observeUsage({ client, manifest, fromFile: csv }),
    );
    expect(result.window.mode).toBe('file');
    const reporting = result.usage.roles.find((r) => r.role === 'reporting')!;
    expect(reporting.reads['users.account.name']).toBeDefined();
    expect(result.findings.map((f) => f.kind)).toContain('undeclared-read');
    fs.rmSync(exportDir, { recursive: true, force: true });
  });
});
