/**
 * REVOKE … CASCADE from a role holding a grant option also drops the grants it passed on.
 * A service's declared access that was granted that way is given back in the same
 * transaction: apply neither commits a consumer without its access nor ends APPLY_INCOMPLETE.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, tempDir } from './fixtures.js';

describeEachServer('grants a revoke cascaded to', (server) => {
  it("a consumer's declared read granted by a legacy role with grant option survives the revoke", async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cr_legacy') THEN CREATE ROLE cr_legacy; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cr_reader') THEN CREATE ROLE cr_reader LOGIN; END IF;
        END $$;
        CREATE SCHEMA users;
        CREATE TABLE users.account (id int, name text);
        GRANT USAGE ON SCHEMA users TO cr_legacy;
        GRANT SELECT ON users.account TO cr_legacy WITH GRANT OPTION;
        SET ROLE cr_legacy;
        GRANT SELECT ON users.account TO cr_reader;
        RESET ROLE;
      `),
    );
    const manifest = parseManifest(
      `version: 1
services:
  users:
    role: cr_users
    owns: [users]
  reader:
    role: cr_reader
    reads:
      users.account: "*"
`,
      '/virtual/pgpact.yaml',
    );
    const plan = await planFor(url, manifest);
    expect(plan.steps.map((s) => s.sql)).toContain(
      'REVOKE SELECT ON TABLE "users"."account" FROM "cr_legacy" CASCADE',
    );
    const result = await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect(result.steps.map((s) => s.sql)).toContain(
      'GRANT SELECT ON TABLE "users"."account" TO "cr_reader"',
    );
    const can = await withClient(url, (c) =>
      c.query<{ reader: boolean; legacy: boolean }>(
        `SELECT has_table_privilege('cr_reader', 'users.account', 'SELECT') AS reader,
                has_table_privilege('cr_legacy', 'users.account', 'SELECT') AS legacy`,
      ),
    );
    expect(can.rows[0]).toEqual({ reader: true, legacy: false });
    expect((await planFor(url, manifest)).steps).toEqual([]);
  });
});
