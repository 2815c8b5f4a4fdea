/**
 * pgpact's own roles (the dashboard's pgpact_monitor) and the database's administrators
 * are not services nobody declared: plan leaves them alone and never suggests DROP OWNED.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { ensureMonitorRole } from '../../src/server/monitor-role.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, snapshot, tempDir } from './fixtures.js';

describeEachServer("pgpact's own and the admin's roles", (server) => {
  it('are neither reported as unused roles nor stripped of what they hold', async () => {
    const url = await server().createDatabase();
    const database = new URL(url).pathname.slice(1);
    await withClient(url, (c) =>
      c.query(`
        CREATE ROLE own_app_admin NOLOGIN CREATEDB;
        ALTER DATABASE ${quoteIdent(database)} OWNER TO own_app_admin;
        CREATE SCHEMA shop;
        CREATE TABLE shop.orders (id int);
        GRANT SELECT ON shop.orders TO own_app_admin;
        CREATE ROLE own_leftover;
        GRANT SELECT ON shop.orders TO own_leftover;
        CREATE ROLE own_bookkeeper NOLOGIN;
        CREATE SCHEMA pgpact AUTHORIZATION own_bookkeeper;
        GRANT SELECT ON shop.orders TO own_bookkeeper;
      `),
    );
    // The dashboard creates its monitoring role as it does on every start.
    await ensureMonitorRole(url);
    const manifest = parseManifest(
      'version: 1\nservices:\n  shop:\n    role: own_shop\n    owns: [shop]\n',
      '/virtual/pgpact.yaml',
    );
    const plan = await planFor(url, manifest);
    const unused = plan.findings.filter((f) => f.kind === 'unused-role').map((f) => f.object);
    // A role nobody declared is still reported: the check can fail.
    expect(unused).toContain('own_leftover');
    expect(unused).not.toContain('pgpact_monitor');
    expect(unused).not.toContain('own_app_admin');
    // The role an earlier apply ran as (it owns pgpact's bookkeeping schema).
    expect(unused).not.toContain('own_bookkeeper');
    const text = JSON.stringify(plan);
    expect(text).not.toMatch(/pgpact_monitor[^"]*DROP OWNED|DROP OWNED[^"]*pgpact_monitor/);
    const sql = plan.steps.map((s) => s.sql);
    expect(sql).toContain('REVOKE SELECT ON TABLE "shop"."orders" FROM "own_leftover"');
    expect(sql.filter((s) => /own_app_admin|pgpact_monitor|own_bookkeeper/.test(s))).toEqual([]);

    await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect((await planFor(url, manifest)).steps).toEqual([]);
    const orders = (await snapshot(url)).relations.find((r) => r.name === 'orders')!;
    expect(orders.grants.filter((g) => g.grantee === 'own_app_admin')).toEqual([
      { grantee: 'own_app_admin', privilege: 'SELECT', grantable: false },
    ]);
  });

  it('refuses pgpact_monitor as the role of a service', () => {
    expect(() =>
      parseManifest('version: 1\nservices:\n  shop:\n    role: pgpact_monitor\n', 'pgpact.yaml'),
    ).toThrow(
      expect.objectContaining({
        problems: [
          expect.objectContaining({ code: 'MANIFEST_RESERVED_NAME', line: 4, column: 11 }),
        ],
      }),
    );
  });
});
