/**
 * apply never silently takes away access in use: a misspelt contract is an error naming the
 * closest column (exit 2); a changed contract that would break a consumer's view, or a
 * statement observed in usage.json, is refused (exit 1) until --allow-revoke; nothing changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import type { UsageSnapshot } from '../../src/usage/types.js';
import { describeEachServer } from '../helpers/postgres.js';
import { snapshot, stable, tempDir, writeProject } from './fixtures.js';

async function pgpact(...argv: string[]) {
  const o = { stdout: '', stderr: '', isTTY: false } as Output & { stdout: string; stderr: string };
  o.out = (t: string) => {
    o.stdout += t;
  };
  o.err = (t: string) => {
    o.stderr += t;
  };
  const code = await runCommand(argv, o);
  return { code, stdout: o.stdout, stderr: o.stderr };
}

let home: string | undefined;
let stateDir = '';
beforeAll(() => {
  home = process.env.PGPACT_HOME;
  stateDir = tempDir();
  process.env.PGPACT_HOME = stateDir;
});
afterAll(() => {
  if (home === undefined) delete process.env.PGPACT_HOME;
  else process.env.PGPACT_HOME = home;
});

function project(prefix: string, invoicingReads: string, reportingReads: string): string {
  const dir = writeProject({
    'pgpact.yaml': `version: 1
services:
  users:
    role: ${prefix}users
    owns: [users]
  invoicing:
    role: ${prefix}invoicing
    owns: [invoicing]
    reads:
      users.account: ${invoicingReads}
  reporting:
    role: ${prefix}reporting
    reads:
      users.account: ${reportingReads}
`,
  });
  return path.join(dir, 'pgpact.yaml');
}

async function setUp(url: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`
      CREATE SCHEMA users;
      CREATE TABLE users.account (id int PRIMARY KEY, name text, email text);
      INSERT INTO users.account VALUES (1, 'Ada', 'ada@example.org');
      CREATE SCHEMA invoicing;
      CREATE VIEW invoicing.names AS SELECT id, name FROM users.account;
    `),
  );
}

describeEachServer('apply refuses to take away access in use', (server) => {
  it('a misspelt contract column is an error with the closest name, and nothing changes', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    const ok = await pgpact(
      'apply',
      '--config',
      project('rr1_', '[id, name]', '[id]'),
      '--database-url',
      url,
      '--quiet',
    );
    expect(ok.code).toBe(0);
    const before = stable(await snapshot(url));

    const typo = project('rr1_', '[id, nmae]', '[id]');
    const applied = await pgpact('apply', '--config', typo, '--database-url', url);
    expect(applied.code).toBe(2);
    expect(applied.stderr).toContain('error [CONTRACT_MISMATCH]');
    expect(applied.stderr).toMatch(
      /pgpact\.yaml:10:27: service `invoicing` reads column `nmae` of `users.account`, which has no such column \[CONTRACT_COLUMN_MISSING\]\n\s+hint: did you mean `name`\?/,
    );
    expect(stable(await snapshot(url))).toEqual(before);
    const view = await withClient(serviceUrl(url, 'rr1_invoicing', stateDir), (c) =>
      c.query('SELECT name FROM invoicing.names'),
    );
    expect(view.rows).toEqual([{ name: 'Ada' }]);
  });

  it("a narrowed contract that breaks invoicing's view: exit 1 naming the view, then --allow-revoke", async () => {
    const url = await server().createDatabase();
    await setUp(url);
    expect(
      (
        await pgpact(
          'apply',
          '--config',
          project('rr2_', '[id, name]', '[id]'),
          '--database-url',
          url,
          '--quiet',
        )
      ).code,
    ).toBe(0);
    const before = stable(await snapshot(url));
    const narrowed = project('rr2_', '[id]', '[id]');

    const plan = await pgpact('plan', '--config', narrowed, '--database-url', url);
    expect(plan.stdout).toContain(
      '-- !! takes away access in use: rr2_invoicing reads users.account (id, name): view invoicing.names (owner rr2_invoicing, service invoicing)',
    );
    const refused = await pgpact('apply', '--config', narrowed, '--database-url', url);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'error [REVOKE_IN_USE]: apply would take away access in use (1 step(s)); nothing was changed',
    );
    expect(refused.stderr).toContain(
      'REVOKE SELECT ("name") ON TABLE "users"."account" FROM "rr2_invoicing";',
    );
    expect(refused.stderr).toContain(
      'in use: rr2_invoicing reads users.account (id, name): view invoicing.names',
    );
    expect(stable(await snapshot(url))).toEqual(before);

    const allowed = await pgpact(
      'apply',
      '--config',
      narrowed,
      '--database-url',
      url,
      '--allow-revoke',
      '--json',
    );
    expect(allowed.code).toBe(0);
    const steps = (JSON.parse(allowed.stdout) as { steps: { sql: string; inUse?: string[] }[] })
      .steps;
    expect(steps.find((st) => st.sql.startsWith('REVOKE SELECT ("name")'))?.inUse).toHaveLength(1);
    expect(allowed.stdout).not.toContain('"takes"');
    await expect(
      withClient(serviceUrl(url, 'rr2_invoicing', stateDir), (c) =>
        c.query('SELECT name FROM invoicing.names'),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('a statement observed in usage.json keeps its column until --allow-revoke', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    expect(
      (
        await pgpact(
          'apply',
          '--config',
          project('rr3_', '[id, name]', '[id, email]'),
          '--database-url',
          url,
          '--quiet',
        )
      ).code,
    ).toBe(0);
    const usage: UsageSnapshot = {
      version: 1,
      database: new URL(url).pathname.slice(1),
      takenAt: new Date().toISOString(),
      roles: [
        {
          role: 'rr3_reporting',
          service: 'reporting',
          reads: { 'users.account.email': { calls: 3, rows: 3, totalTimeMs: 1 } },
          writes: {},
          relationsRead: { 'users.account': { calls: 3, rows: 3, totalTimeMs: 1 } },
          relationsWritten: {},
          statements: [
            {
              queryId: '7',
              query: 'SELECT email FROM users.account',
              calls: 3,
              rows: 3,
              totalTimeMs: 1,
              reads: ['users.account.email'],
              writes: [],
              relationsRead: ['users.account'],
              relationsWritten: [],
              warnings: [],
            },
          ],
        },
      ],
    };
    const file = path.join(tempDir(), 'usage.json');
    fs.writeFileSync(file, JSON.stringify(usage));
    const before = stable(await snapshot(url));
    const narrowed = project('rr3_', '[id, name]', '[id]');
    const refused = await pgpact(
      'apply',
      '--config',
      narrowed,
      '--database-url',
      url,
      '--usage',
      file,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'in use: rr3_reporting reads users.account (email): statement "SELECT email FROM users.account" (service reporting, 3 calls)',
    );
    expect(stable(await snapshot(url))).toEqual(before);
    // Without the snapshot, nothing is known to use the column: apply goes ahead.
    const missing = await pgpact(
      'apply',
      '--config',
      narrowed,
      '--database-url',
      url,
      '--usage',
      `${file}.nope`,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
    expect(
      (await pgpact('apply', '--config', narrowed, '--database-url', url, '--quiet')).code,
    ).toBe(0);
  });
});
