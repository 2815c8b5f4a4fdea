/**
 * Day one in audit mode: roles outside the manifest (a BI tool, a legacy job) keep
 * everything they could do; the plan lists what enforce mode will revoke from them.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, tempDir } from './fixtures.js';

const manifest = (mode: string) =>
  parseManifest(
    `version: 1
enforcement: ${mode}
services:
  shop:
    role: ao_shop
    owns: [shop]
  reporting:
    role: ao_reporting
    reads:
      shop.orders: [id]
`,
    '/virtual/pgpact.yaml',
  );

describeEachServer('audit mode and roles outside the manifest', (server) => {
  it('a BI role keeps reading, a legacy owner keeps writing; the plan names what enforce will revoke', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`
        CREATE ROLE ao_bi LOGIN PASSWORD 'bi-secret';
        CREATE ROLE ao_legacy LOGIN PASSWORD 'legacy-secret';
        CREATE SCHEMA shop;
        CREATE TABLE shop.orders (id int, total numeric);
        INSERT INTO shop.orders VALUES (1, 9.5);
        GRANT USAGE ON SCHEMA shop TO ao_bi, ao_legacy;
        GRANT SELECT ON shop.orders TO ao_bi;
        GRANT SELECT (total) ON shop.orders TO ao_bi;
        CREATE TABLE shop.batch (n int);
        ALTER TABLE shop.batch OWNER TO ao_legacy;
        ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO ao_bi;
      `),
    );
    const bi = urlWith(url, { user: 'ao_bi', password: 'bi-secret' });
    const legacy = urlWith(url, { user: 'ao_legacy', password: 'legacy-secret' });
    const works = async () => ({
      bi: await withClient(bi, (c) => c.query('SELECT id, total FROM shop.orders')).then(
        (r) => r.rows.length,
      ),
      legacy: await withClient(legacy, (c) =>
        c.query('INSERT INTO shop.batch VALUES (1) RETURNING n'),
      ).then((r) => r.rows.length),
    });
    expect(await works()).toEqual({ bi: 1, legacy: 1 });

    const audit = manifest('audit');
    const plan = await planFor(url, audit);
    const sql = plan.steps.map((s) => s.sql);
    expect(sql.filter((s) => /FROM "ao_bi"|FROM "ao_legacy"/.test(s))).toEqual([]);
    const deferred = plan.findings
      .filter((f) => f.kind === 'revoke-deferred')
      .map((f) => f.suggestion);
    expect(deferred).toEqual(
      expect.arrayContaining([
        'enforce mode runs: REVOKE SELECT ON TABLE "shop"."orders" FROM "ao_bi"',
        'enforce mode runs: REVOKE SELECT ("total") ON TABLE "shop"."orders" FROM "ao_bi"',
        'enforce mode runs: REVOKE USAGE ON SCHEMA "shop" FROM "ao_bi"',
        'enforce mode runs: ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "shop" REVOKE SELECT ON TABLES FROM "ao_bi"',
      ]),
    );

    const stateDir = tempDir();
    await applyProvisioning(url, audit, { stateDir });
    expect((await planFor(url, audit)).steps).toEqual([]);
    // Nothing that worked before stopped working, though shop now owns batch.
    expect(await works()).toEqual({ bi: 1, legacy: 1 });
    const after = await planFor(url, audit);
    expect(after.findings.filter((f) => f.kind === 'revoke-deferred').length).toBeGreaterThan(3);

    // Enforce mode revokes exactly what the audit plan announced, and the outsiders lose access.
    const enforce = manifest('enforce');
    const enforcePlan = (await planFor(url, enforce)).steps.map((s) => s.sql);
    expect(enforcePlan).toEqual(
      expect.arrayContaining([
        'REVOKE SELECT ON TABLE "shop"."orders" FROM "ao_bi"',
        'REVOKE USAGE ON SCHEMA "shop" FROM "ao_bi"',
      ]),
    );
    expect(enforcePlan.some((s) => s.includes('"shop"."batch" FROM "ao_legacy"'))).toBe(true);
    await applyProvisioning(url, enforce, { stateDir });
    await expect(
      withClient(bi, (c) => c.query('SELECT id FROM shop.orders')),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('a role that reads through PUBLIC keeps reading in audit mode; enforce mode takes it', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ao_report_tool') THEN
            CREATE ROLE ao_report_tool LOGIN PASSWORD 'tool-secret';
          END IF;
        END $$;
        CREATE SCHEMA shop;
        CREATE TABLE shop.orders (id int, total numeric);
        INSERT INTO shop.orders VALUES (1, 9.5);
        GRANT USAGE ON SCHEMA shop TO PUBLIC;
        GRANT SELECT ON shop.orders TO PUBLIC;
      `),
    );
    const tool = urlWith(url, { user: 'ao_report_tool', password: 'tool-secret' });
    const reads = () =>
      withClient(tool, (c) => c.query('SELECT total FROM shop.orders')).then((r) => r.rows.length);
    expect(await reads()).toBe(1);

    const audit = manifest('audit');
    const plan = (await planFor(url, audit)).steps.map((s) => s.sql);
    // PUBLIC loses it (services get exactly their contracts), the tool keeps it by name.
    expect(plan).toEqual(
      expect.arrayContaining([
        'REVOKE SELECT ON TABLE "shop"."orders" FROM PUBLIC',
        'GRANT SELECT ON TABLE "shop"."orders" TO "ao_report_tool"',
        'REVOKE USAGE ON SCHEMA "shop" FROM PUBLIC',
        'GRANT USAGE ON SCHEMA "shop" TO "ao_report_tool"',
      ]),
    );
    const stateDir = tempDir();
    await applyProvisioning(url, audit, { stateDir });
    expect((await planFor(url, audit)).steps).toEqual([]);
    expect(await reads()).toBe(1);

    await applyProvisioning(url, manifest('enforce'), { stateDir });
    await expect(reads()).rejects.toMatchObject({ code: '42501' });
  });
});
