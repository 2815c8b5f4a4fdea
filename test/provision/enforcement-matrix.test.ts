import { expect, it } from 'vitest';
import type { Enforcement } from '../../src/manifest/types.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, snapshot, tempDir } from './fixtures.js';
import { runMatrix, tablesOf } from './matrix.js';

/** Services A (users), B (invoicing), a shipping service and C (reporting, audit), with migrations that create their tables. */
function project(mode: Enforcement, prefix: string) {
  return projectManifest({
    'pgpact.yaml': `version: 1
enforcement: ${mode}
services:
  users:
    role: ${prefix}users
    owns: [users]
    migrations: migrations/users
  invoicing:
    role: ${prefix}invoicing
    owns: [invoicing]
    migrations: migrations/invoicing
    reads:
      users.account: [id, name, zip]
    writes:
      users.account: [name]
  shipping:
    role: ${prefix}shipping
    owns: [shipping]
    migrations: migrations/shipping
    reads:
      invoicing.invoice: "*"
      users.account: [id]
    writes:
      invoicing.invoice_line: "*"
  reporting:
    role: ${prefix}reporting
    enforcement: audit
    owns: [reporting]
    migrations: migrations/reporting
    reads:
      users.account: [id, created_at]
`,
    'migrations/users/001_account.sql': `CREATE TABLE account (
  id serial PRIMARY KEY,
  name text NOT NULL,
  zip text,
  secret text,
  created_at timestamptz NOT NULL DEFAULT now()
);`,
    'migrations/users/002_session.sql':
      'CREATE TABLE session (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id int REFERENCES account (id), token text);',
    'migrations/invoicing/001_invoice.sql': `CREATE TABLE invoice (id serial PRIMARY KEY, account_id int NOT NULL, amount numeric(10, 2));
CREATE TABLE invoice_line (id serial PRIMARY KEY, invoice_id int REFERENCES invoice (id), text text);`,
    'migrations/shipping/001_parcel.sql':
      'CREATE TABLE parcel (id int PRIMARY KEY, invoice_id int, weight int);',
    'migrations/reporting/001_report.sql': 'CREATE TABLE report (id int, body text);',
  });
}

describeEachServer('the enforcement matrix', (server) => {
  for (const mode of ['enforce', 'audit'] as const) {
    it(`allows exactly what the manifest declares (${mode} mode)`, async () => {
      const url = await server().createDatabase();
      const stateDir = tempDir();
      const { manifest } = project(mode, `${mode[0]}_`);
      // Data that belongs to nobody: no service may touch it.
      await withClient(url, (c) => c.query('CREATE TABLE public.legacy (id int, note text)'));

      const result = await applyProvisioning(url, manifest, { stateDir });
      expect(result.migrations.map((m) => `${m.service}/${m.file}`)).toEqual([
        'users/001_account.sql',
        'users/002_session.sql',
        'invoicing/001_invoice.sql',
        'shipping/001_parcel.sql',
        'reporting/001_report.sql',
      ]);
      expect(result.rounds).toBe(2);
      expect((await planFor(url, manifest)).steps).toEqual([]);

      const tables = tablesOf(await snapshot(url));
      expect(tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
        'invoicing.invoice',
        'invoicing.invoice_line',
        'public.legacy',
        'reporting.report',
        'shipping.parcel',
        'users.account',
        'users.session',
      ]);
      const matrix = await runMatrix(url, manifest, stateDir, tables);
      console.log(
        `enforcement matrix [${server().label}, ${mode}]: ${matrix.attempts} attempts, ${matrix.allowed} allowed, ${matrix.denied} denied, ${matrix.unexpected.length} unexpected`,
      );
      expect(matrix.unexpected).toEqual([]);
      // 4 roles × (3 operations per column over 21 columns + 4 table operations over 7 tables).
      expect(matrix.attempts).toBe(4 * (3 * 21 + 4 * 7));
      expect(matrix.allowed).toBeGreaterThan(0);
      expect(matrix.denied).toBeGreaterThan(0);

      // The matrix can fail: one undeclared grant made behind pgpact's back is caught, and the
      // plan revokes it (enforce mode) or reports the revoke it defers (audit mode).
      const invoicing = manifest.services.find((s) => s.name === 'invoicing')!;
      await withClient(url, (c) =>
        c.query(`GRANT SELECT (secret) ON users.account TO ${invoicing.role}`),
      );
      const drifted = await runMatrix(url, manifest, stateDir, tables);
      expect(drifted.unexpected).toEqual(
        mode === 'audit'
          ? []
          : [
              `invoicing (enforce): SELECT "secret" FROM "users"."account" LIMIT 0 → allowed, expected denied`,
            ],
      );
      const plan = await planFor(url, manifest);
      const revoke = `REVOKE SELECT ("secret") ON TABLE "users"."account" FROM "${invoicing.role}"`;
      const deferred = plan.findings.filter((f) => f.kind === 'revoke-deferred');
      if (mode === 'audit') {
        expect(plan.steps).toEqual([]);
        expect(deferred).toEqual([
          {
            severity: 'info',
            kind: 'revoke-deferred',
            object: 'users.account.secret',
            consumers: [],
            message: `audit mode leaves this in place (${invoicing.role} holds SELECT on users.account.secret, which the manifest does not declare); enforce mode will revoke it`,
            suggestion: `enforce mode runs: ${revoke}`,
          },
        ]);
      } else {
        expect(plan.steps.map((s) => s.sql)).toEqual([revoke]);
        expect(deferred).toEqual([]);
      }
    });
  }
});
