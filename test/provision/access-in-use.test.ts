/**
 * A plan that takes away access in use says so: a consumer's view reading a column its
 * contract no longer lists (changed, or misspelt), a statement observed in usage.json.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import { formatPlan } from '../../src/provision/format-plan.js';
import { planProvisioning } from '../../src/provision/plan.js';
import type { UsageSnapshot } from '../../src/usage/types.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, snapshot, tempDir } from './fixtures.js';

const manifest = (reads: string, extra = '') =>
  parseManifest(
    `version: 1
services:
  users:
    role: iu_users
    owns: [users]
  invoicing:
    role: iu_invoicing
    owns: [invoicing]
    reads:
      users.account: ${reads}
${extra}`,
    '/virtual/pgpact.yaml',
  );

/** users.account, and invoicing's view over id and name of it. */
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

/** What a reader of invoicing.names gets, as invoicing's own role. */
function readView(url: string, stateDir: string) {
  return withClient(serviceUrl(url, 'iu_invoicing', stateDir), (c) =>
    c.query('SELECT name FROM invoicing.names'),
  );
}

describeEachServer('revokes of access in use', (server) => {
  // Roles belong to the server: one credentials folder for every test of the block.
  const stateDir = tempDir();
  it("a misspelt contract column: the plan marks the revoke that breaks invoicing's view", async () => {
    const url = await server().createDatabase();
    await setUp(url);
    await applyProvisioning(url, manifest('[id, name]'), { stateDir });
    expect((await readView(url, stateDir)).rows).toEqual([{ name: 'Ada' }]);

    const typo = manifest('[id, nmae]');
    const plan = await planFor(url, typo);
    const revoke = plan.steps.find((s) => s.sql.startsWith('REVOKE SELECT ("name")'))!;
    expect(revoke.sql).toBe(
      'REVOKE SELECT ("name") ON TABLE "users"."account" FROM "iu_invoicing"',
    );
    expect(revoke.inUse).toEqual([
      'iu_invoicing reads users.account (id, name): view invoicing.names (owner iu_invoicing, service invoicing)',
    ]);
    expect(plan.findings.find((f) => f.kind === 'contract-column-missing')?.suggestion).toMatch(
      /^did you mean name\? fix the column name/,
    );
    const finding = plan.findings.find((f) => f.kind === 'revoke-in-use')!;
    expect(finding).toMatchObject({
      severity: 'warning',
      object: 'users.account',
      consumers: [{ service: 'invoicing', source: 'declared' }],
    });
    expect(finding.message).toContain('view invoicing.names');
    // The printed plan says it right above the statement.
    expect(formatPlan(plan, [], 'db')).toContain(
      '-- !! takes away access in use: iu_invoicing reads users.account (id, name): view invoicing.names (owner iu_invoicing, service invoicing)\nREVOKE SELECT ("name") ON TABLE "users"."account" FROM "iu_invoicing";',
    );
  });

  it('a contract narrowed from "*": the table-level revoke is marked', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    await applyProvisioning(url, manifest('"*"'), { stateDir });
    const plan = await planFor(url, manifest('[id]'));
    const revoke = plan.steps.find(
      (s) => s.sql === 'REVOKE SELECT ON TABLE "users"."account" FROM "iu_invoicing"',
    )!;
    expect(revoke.inUse?.[0]).toContain('view invoicing.names');
  });

  it('an audit consumer switched to enforce: its view of an undeclared column is marked', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    const audit = manifest('[id]').services;
    const auditManifest = { ...manifest('[id]') };
    auditManifest.services = audit.map((s) =>
      s.name === 'invoicing' ? { ...s, enforcement: 'audit' as const } : s,
    );
    await applyProvisioning(url, auditManifest, { stateDir });
    expect((await readView(url, stateDir)).rows).toEqual([{ name: 'Ada' }]);
    const plan = await planFor(url, manifest('[id]'));
    expect(plan.steps.filter((s) => s.inUse).map((s) => s.sql)).toEqual([
      'REVOKE SELECT ON TABLE "users"."account" FROM "iu_invoicing"',
    ]);
  });

  it('a statement observed in usage.json that reads the column is named with its service', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    const reporting = `  reporting:
    role: iu_reporting
    reads:
      users.account: READS
`;
    await applyProvisioning(
      url,
      manifest('[id, name]', reporting.replace('READS', '[id, email]')),
      {
        stateDir,
      },
    );
    const usage: UsageSnapshot = {
      version: 1,
      database: new URL(url).pathname.slice(1),
      takenAt: new Date().toISOString(),
      roles: [
        {
          role: 'iu_reporting',
          service: 'reporting',
          reads: {},
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [
            {
              queryId: '42',
              query: 'SELECT email FROM users.account WHERE id = $1',
              calls: 12,
              rows: 12,
              totalTimeMs: 1,
              reads: ['users.account.email', 'users.account.id'],
              writes: [],
              relationsRead: ['users.account'],
              relationsWritten: [],
              warnings: [],
            },
          ],
        },
      ],
    };
    const next = manifest('[id, name]', reporting.replace('READS', '[id]'));
    const plan = planProvisioning(next, await snapshot(url), { usage });
    const revoke = plan.steps.find((s) => s.sql.includes('("email")'))!;
    expect(revoke.sql).toBe(
      'REVOKE SELECT ("email") ON TABLE "users"."account" FROM "iu_reporting"',
    );
    expect(revoke.inUse).toEqual([
      'iu_reporting reads users.account (email, id): statement "SELECT email FROM users.account WHERE id = $1" (service reporting, 12 calls)',
    ]);
    expect(plan.findings.find((f) => f.kind === 'revoke-in-use')?.consumers).toEqual([
      { service: 'reporting', source: 'observed' },
    ]);
    // Without the snapshot nothing is known about the statement, and nothing is marked.
    expect(planProvisioning(next, await snapshot(url)).steps.some((s) => s.inUse)).toBe(false);
  });

  it('a membership taken from a service is marked; PUBLIC taken from an outsider in audit mode is kept for it', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    await withClient(url, (c) =>
      c.query(`
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'iu_bi') THEN CREATE ROLE iu_bi LOGIN; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'iu_reader') THEN CREATE ROLE iu_reader LOGIN; END IF;
        END $$;
        GRANT pg_read_all_data TO iu_reader;
        GRANT USAGE ON SCHEMA users TO PUBLIC;
        GRANT SELECT (id, name) ON users.account TO PUBLIC;
      `),
    );
    const observed = (role: string, query: string, reads: string[]) => ({
      role,
      reads: {},
      writes: {},
      relationsRead: {},
      relationsWritten: {},
      statements: [
        {
          queryId: role,
          query,
          calls: 5,
          rows: 5,
          totalTimeMs: 1,
          reads,
          writes: [],
          relationsRead: ['users.account'],
          relationsWritten: [],
          warnings: [],
        },
      ],
    });
    const usage: UsageSnapshot = {
      version: 1,
      database: new URL(url).pathname.slice(1),
      takenAt: new Date().toISOString(),
      roles: [
        observed('iu_reader', 'SELECT email FROM users.account', ['users.account.email']),
        observed('iu_bi', 'SELECT name FROM users.account', ['users.account.name']),
      ],
    };
    const next = parseManifest(
      `version: 1
enforcement: audit
services:
  users:
    role: iu_users
    owns: [users]
  reader:
    role: iu_reader
    enforcement: enforce
    reads:
      users.account: [id]
`,
      '/virtual/pgpact.yaml',
    );
    const plan = planProvisioning(next, await snapshot(url), { usage });
    const granted = server().majorVersion >= 16 ? ' GRANTED BY "postgres"' : '';
    const inUse = (sql: string) => plan.steps.find((s) => s.sql === sql)?.inUse ?? [];
    expect(inUse(`REVOKE "pg_read_all_data" FROM "iu_reader"${granted}`)).toEqual([
      'iu_reader reads users.account (email): statement "SELECT email FROM users.account" (service reader, 5 calls)',
    ]);
    // The BI role read through PUBLIC: in audit mode it keeps that by its own grant, so its
    // statement loses nothing and is not named. So does every login role, service roles too
    // (reader's email, which PUBLIC never had, went with its membership).
    expect(plan.steps.map((s) => s.sql)).toEqual(
      expect.arrayContaining([
        'GRANT SELECT ("id", "name") ON TABLE "users"."account" TO "iu_bi"',
        'GRANT SELECT ("id", "name") ON TABLE "users"."account" TO "iu_reader"',
      ]),
    );
    expect(plan.steps.flatMap((s) => s.inUse ?? []).filter((u) => u.includes('iu_bi'))).toEqual([]);
    expect(plan.findings.filter((f) => f.kind === 'revoke-in-use').map((f) => f.consumers)).toEqual(
      [[{ service: 'reader', source: 'observed' }]],
    );
  });

  it('an observed UPDATE of a column whose writes: contract goes is marked on the UPDATE revoke only', async () => {
    const url = await server().createDatabase();
    await setUp(url);
    const writer = (writes: string) =>
      manifest(
        '[id, name]',
        `  billing:
    role: iu_billing
${writes}`,
      );
    await applyProvisioning(
      url,
      writer('    reads:\n      users.account: [id]\n    writes:\n      users.account: [email]\n'),
      { stateDir },
    );
    const usage: UsageSnapshot = {
      version: 1,
      database: new URL(url).pathname.slice(1),
      takenAt: new Date().toISOString(),
      roles: [
        {
          role: 'iu_billing',
          reads: {},
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [
            {
              queryId: '9',
              query: 'UPDATE users.account SET email = $1 WHERE id = $2',
              calls: 2,
              rows: 2,
              totalTimeMs: 1,
              reads: ['users.account.id'],
              writes: ['users.account.email'],
              relationsRead: ['users.account'],
              relationsWritten: ['users.account'],
              warnings: [],
            },
          ],
        },
      ],
    };
    const next = writer('    reads:\n      users.account: [id]\n');
    const plan = planProvisioning(next, await snapshot(url), { usage });
    const marked = plan.steps.filter((s) => s.inUse).map((s) => [s.sql, s.inUse]);
    expect(marked).toEqual([
      [
        'REVOKE INSERT ("email"), UPDATE ("email") ON TABLE "users"."account" FROM "iu_billing"',
        [
          'iu_billing writes users.account (email): statement "UPDATE users.account SET email = $1 WHERE id = $2" (service billing, 2 calls)',
        ],
      ],
    ]);
  });
});
