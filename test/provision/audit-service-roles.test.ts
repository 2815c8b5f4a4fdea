/**
 * Day one of a monolith in audit mode: two service roles hold the usual GRANT ALL on every
 * table of `public`, and the manifest `pgpact init` writes (audit, table patterns, no write
 * contracts) declares none of it. Apply takes nothing from them: every statement either
 * could run before still runs with the same result, the plan lists what enforce mode will
 * revoke, and switching the owning service to enforce revokes it.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, tempDir } from './fixtures.js';

const manifest = (catalogMode: string) =>
  parseManifest(
    `version: 1
enforcement: audit
services:
  catalog:
    role: asr_catalog
    enforcement: ${catalogMode}
    owns: [public.product*]
  store:
    role: asr_store
    owns: [public.order*]
`,
    '/virtual/pgpact.yaml',
  );

const ROLES = ['asr_catalog', 'asr_store'];

/** Every write and read of each role on every table, its own and the other service's. */
const STATEMENTS: string[] = [
  "INSERT INTO products (name, price) VALUES ('lamp', 20) RETURNING name, price",
  'UPDATE products SET price = price + 1 WHERE id = 1 RETURNING price',
  'DELETE FROM product_tags WHERE product_id = 1 RETURNING tag',
  'SELECT id, name, price FROM products ORDER BY id',
  "INSERT INTO product_tags (product_id, tag) VALUES (1, 'new') RETURNING tag",
  'INSERT INTO orders (product_id, quantity) VALUES (1, 3) RETURNING product_id, quantity',
  'UPDATE orders SET quantity = 5 WHERE id = 1 RETURNING quantity',
  'DELETE FROM order_lines WHERE order_id = 1 RETURNING note',
  'SELECT o.id, p.name FROM orders o JOIN products p ON p.id = o.product_id ORDER BY o.id',
  // Through PUBLIC only.
  "INSERT INTO product_notes VALUES (1, 'fragile') RETURNING note",
  'SELECT note FROM product_notes',
];

describeEachServer('audit mode and the service roles of a monolith', (server) => {
  it('keeps every privilege service roles hold on audit-owned tables until enforce mode', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query(`
        CREATE TABLE public.products (id serial PRIMARY KEY, name text, price int);
        CREATE TABLE public.product_tags (product_id int, tag text);
        CREATE TABLE public.orders (id serial PRIMARY KEY, product_id int, quantity int);
        CREATE TABLE public.order_lines (order_id int, note text);
        INSERT INTO products (name, price) VALUES ('chair', 10);
        INSERT INTO product_tags VALUES (1, 'wood');
        INSERT INTO orders (product_id, quantity) VALUES (1, 2);
        INSERT INTO order_lines VALUES (1, 'gift');`);
      for (const role of ROLES) {
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
        await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
        await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      }
      // store's deploy tool runs CREATE SCHEMA IF NOT EXISTS (Prisma does, on every deploy).
      await c.query(
        `GRANT CREATE ON DATABASE ${(await c.query('SELECT current_database() AS d')).rows[0].d} TO asr_store`,
      );
      // A table every role uses through PUBLIC: each login role keeps it by its own grant.
      await c.query(`CREATE TABLE public.product_notes (product_id int, note text);
        INSERT INTO product_notes VALUES (1, 'heavy');
        GRANT SELECT, INSERT ON product_notes TO PUBLIC;`);
    });
    /** Each role runs every statement in a transaction rolled back, so results repeat (generated ids aside: sequences do not roll back). */
    const run = async () => {
      const seen: Record<string, unknown[]> = {};
      for (const role of ROLES) {
        seen[role] = await withClient(
          urlWith(url, { user: role, password: `pw-${role}` }),
          async (c) => {
            const results: unknown[] = [];
            for (const sql of STATEMENTS) {
              await c.query('BEGIN');
              try {
                results.push((await c.query(sql)).rows);
              } catch (error) {
                results.push(`error ${(error as { code?: string }).code}`);
              } finally {
                await c.query('ROLLBACK');
              }
            }
            return results;
          },
        );
      }
      return seen;
    };
    const before = await run();
    // Every statement works for both roles today.
    expect(
      Object.values(before)
        .flat()
        .filter((r) => typeof r === 'string'),
    ).toEqual([]);

    const audit = manifest('audit');
    const plan = await planFor(url, audit);
    // Only PUBLIC loses anything.
    expect(plan.steps.filter((s) => s.kind === 'revoke').map((s) => s.takes?.grantee)).toEqual([
      'PUBLIC',
    ]);
    const deferred = plan.findings
      .filter((f) => f.kind === 'revoke-deferred')
      .map((f) => f.suggestion);
    // The other service's writes on each table (GRANT ALL: DELETE, INSERT, ..., UPDATE).
    const revokeOf = (table: string, role: string) =>
      expect.stringMatching(
        new RegExp(
          `^enforce mode runs: REVOKE [A-Z, ]*INSERT[A-Z, ]* ON TABLE "public"\\."${table}" FROM "${role}"$`,
        ),
      );
    expect(deferred).toEqual(
      expect.arrayContaining([
        revokeOf('products', 'asr_store'),
        revokeOf('product_tags', 'asr_store'),
        revokeOf('orders', 'asr_catalog'),
        revokeOf('order_lines', 'asr_catalog'),
      ]),
    );
    // PUBLIC loses INSERT and SELECT on catalog's table; store keeps them by its own grant.
    expect(plan.steps.map((s) => s.sql)).toEqual(
      expect.arrayContaining([
        'REVOKE INSERT, SELECT ON TABLE "public"."product_notes" FROM PUBLIC',
        // SELECT as an audit reader, INSERT kept from PUBLIC.
        'GRANT SELECT ON TABLE "public"."product_notes" TO "asr_store"',
        'GRANT INSERT ON TABLE "public"."product_notes" TO "asr_store"',
      ]),
    );
    const message = plan.findings.find(
      (f) => f.kind === 'revoke-deferred' && f.object === 'public.products',
    )?.message;
    expect(message).toMatch(
      /^audit mode leaves this in place \(asr_store holds .*INSERT.* on public\.products, which the manifest does not declare\); enforce mode will revoke it$/,
    );

    // The database's CREATE too: listed, kept.
    expect(deferred).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^enforce mode runs: REVOKE CREATE ON DATABASE "[^"]+" FROM "asr_store"$/,
        ),
      ]),
    );
    const deploy = () =>
      withClient(urlWith(url, { user: 'asr_store', password: 'pw-asr_store' }), (c) =>
        c.query('CREATE SCHEMA IF NOT EXISTS public'),
      );
    await deploy();

    const stateDir = tempDir();
    await applyProvisioning(url, audit, { stateDir });
    expect((await planFor(url, audit)).steps).toEqual([]);
    expect(await run()).toEqual(before);
    await deploy();
    await withClient(url, async (c) => {
      const owners = await c.query(
        `SELECT relname, relowner::regrole::text AS owner FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`,
      );
      expect(owners.rows).toEqual([
        { relname: 'order_lines', owner: 'asr_store' },
        { relname: 'orders', owner: 'asr_store' },
        { relname: 'product_notes', owner: 'asr_catalog' },
        { relname: 'product_tags', owner: 'asr_catalog' },
        { relname: 'products', owner: 'asr_catalog' },
      ]);
    });
    const again = (await planFor(url, audit)).findings
      .filter((f) => f.kind === 'revoke-deferred')
      .map((f) => f.suggestion);
    expect(again).toEqual(expect.arrayContaining([revokeOf('products', 'asr_store')]));

    // catalog switches to enforce: store loses its writes on catalog's tables, nothing else changes.
    const enforce = manifest('enforce');
    const enforcePlan = await planFor(url, enforce);
    const revokes = enforcePlan.steps.filter((s) => s.kind === 'revoke').map((s) => s.sql);
    expect(revokes).toEqual(
      expect.arrayContaining(
        again
          .filter((s) => /"public"\."product/.test(s ?? ''))
          .map((s) => s!.replace('enforce mode runs: ', '')),
      ),
    );
    expect(revokes.some((s) => /"public"\."order/.test(s))).toBe(false);
    expect(revokes.some((s) => /FROM "asr_store"/.test(s))).toBe(true);
    await applyProvisioning(url, enforce, { stateDir });
    const after = await run();
    // store, in audit mode, still reads catalog's tables; its writes there are denied.
    const writesOnCatalog = (sql: string) => /^(INSERT INTO|UPDATE|DELETE FROM) product/.test(sql);
    expect(after.asr_store).toEqual(
      STATEMENTS.map((sql, i) => (writesOnCatalog(sql) ? 'error 42501' : before.asr_store![i])),
    );
    // catalog, in enforce mode, keeps its own tables; store's tables stay as they were (audit).
    expect(after.asr_catalog).toEqual(before.asr_catalog);
  });

  it("a consumer set to enforce keeps what it holds on an audit owner's tables, and the plan warns instead of staying quiet", async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public.report (id int, total int);
        CREATE TABLE public.session (id int, browser text);
        CREATE ROLE asr_analytics LOGIN;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO asr_analytics;`),
    );
    const plan = await planFor(
      url,
      parseManifest(
        `version: 1
enforcement: audit
services:
  app:
    role: asr_app
    owns: [public]
  analytics:
    role: asr_analytics
    enforcement: enforce
    reads:
      public.session: [browser]
`,
        '/virtual/pgpact.yaml',
      ),
    );
    expect(plan.steps.some((s) => s.takes?.grantee === 'asr_analytics')).toBe(false);
    expect(
      plan.findings.find((f) => f.kind === 'revoke-deferred' && f.object === 'public.report'),
    ).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(
        /^analytics is in enforce mode, but the service owning public\.report is in audit mode, which leaves this in place/,
      ),
      suggestion:
        'set the owner of public.report to enforcement: enforce, then apply runs: REVOKE SELECT ON TABLE "public"."report" FROM "asr_analytics"',
    });
  });
});
