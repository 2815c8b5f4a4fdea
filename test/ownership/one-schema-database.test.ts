/**
 * Table-level ownership on a one-schema database: everything in `public`, owned by three
 * services through owns: table patterns. observe, the dashboard's coupling map and
 * migrate status/complete name each table's own service, never "the owner of public".
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { readMigrationStatus } from '../../src/migrate/read-status.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import type { CouplingMap, Section } from '../../src/server/api-types.js';
import { buildCouplingMap } from '../../src/server/coupling-map.js';
import { type RunningDashboard, startDashboard } from '../../src/server/dashboard.js';
import { observeUsage } from '../../src/usage/observe.js';
import { saveUsage } from '../../src/usage/store.js';
import type { UsageSnapshot } from '../../src/usage/types.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { buildWebBundle } from '../server/web-bundle.js';

const CHROMIUM = '/usr/bin/chromium';

const MANIFEST = `version: 1
services:
  orders:
    owns: [public.order*]
  billing:
    owns: [public.invoice*]
    reads:
      public.orders: [id, total, note]
  reporting:
    enforcement: audit # reads orders' customers without a contract (yet)
    owns: [public.report_*]
`;

// The monolith as it is before pgpact: every table in public, every table the admin's.
const SCHEMA = `
  CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric(12, 2) NOT NULL, note text);
  CREATE TABLE public.order_lines (order_id bigint NOT NULL REFERENCES public.orders (id), sku text NOT NULL);
  CREATE TABLE public.invoices (id bigint PRIMARY KEY, order_id bigint NOT NULL, amount numeric(12, 2) NOT NULL);
  CREATE VIEW public.report_revenue AS SELECT sum(total) AS revenue FROM public.orders;
  CREATE TABLE public.legacy_export (id int); -- nobody's: no pattern matches it, the admin keeps it
  INSERT INTO public.orders SELECT i, 'customer ' || i, i * 10, 'note ' || i FROM generate_series(1, 20) i;
`;

const DROP_NOTE = `name: orders-drop-note
operations:
  - drop_column:
      table: public.orders
      column: note
`;

function get<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(body) as T)
            : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      })
      .on('error', reject);
  });
}

describeEachServer('table-level ownership on a one-schema database', (server) => {
  let url: string;
  let dir: string;
  let manifestFile: string;
  let manifest: Manifest;
  let as: (service: 'orders' | 'billing' | 'reporting') => string;
  let usage: UsageSnapshot;
  let dashboard: RunningDashboard | undefined;

  beforeAll(async () => {
    url = await server().createDatabase('oneschema');
    dir = tempDir('pgpact-one-schema-');
    manifestFile = path.join(dir, 'pgpact.yaml');
    fs.writeFileSync(manifestFile, MANIFEST);
    manifest = loadManifest(manifestFile);
    await withClient(url, (c) => c.query(SCHEMA));
    await applyProvisioning(url, manifest, { stateDir: dir });
    as = (service) => serviceUrl(url, service, dir);
    await withClient(url, (c) => c.query('SELECT pg_stat_statements_reset()'));
    // Each service as its own role: its own tables, and what it reads of the others'.
    await withClient(as('orders'), async (c) => {
      await c.query('INSERT INTO public.order_lines VALUES (1, $1)', ['sku-1']);
      await c.query('SELECT id, note FROM public.orders WHERE id = $1', [1]);
    });
    await withClient(as('billing'), async (c) => {
      await c.query('SELECT id, total FROM public.orders WHERE id = $1', [2]);
      await c.query('INSERT INTO public.invoices VALUES (1, 2, 20)');
      await c.query('SELECT amount FROM public.invoices');
    });
    await withClient(as('reporting'), async (c) => {
      await c.query('SELECT customer, total FROM public.orders');
      await c.query('SELECT revenue FROM public.report_revenue');
      await c.query('SELECT count(*) FROM public.invoices');
    });
  }, 120_000);

  afterAll(async () => {
    await dashboard?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('observe: reading another service’s table in public without a contract is an undeclared read naming its owner; own tables and contracts are not', async () => {
    const observed = await withClient(url, (client) => observeUsage({ client, manifest }));
    usage = observed.usage;
    const access = observed.findings.filter(
      (f) => f.kind === 'undeclared-read' || f.kind === 'undeclared-write',
    );
    expect(access.map((f) => [f.severity, f.kind, f.object, f.consumers[0]?.service])).toEqual([
      ['warning', 'undeclared-read', 'public.invoices', 'reporting'],
      ['warning', 'undeclared-read', 'public.orders.customer', 'reporting'],
      ['warning', 'undeclared-read', 'public.orders.total', 'reporting'],
    ]);
    expect(access[0]!.message).toContain('public.invoices belongs to service billing');
    for (const f of access.slice(1))
      expect(f.message).toContain('public.orders belongs to service orders');
  });

  it('the dashboard’s coupling map (/api/map) draws each edge to the table’s own service', async () => {
    const usageFile = path.join(dir, 'usage.json');
    saveUsage(usageFile, usage);
    await buildWebBundle();
    dashboard = await startDashboard({
      databaseUrl: url,
      port: 0,
      manifestFile,
      usageFile,
      intervalMs: 60_000,
    });
    const section = await get<Section<CouplingMap>>(`${dashboard.url}api/map`);
    if (!section.available) throw new Error(section.reason);
    const map = section.data;
    const owners = Object.fromEntries(map.tables.map((t) => [t.id, t.ownerService ?? null]));
    expect(owners).toEqual({
      'public.invoices': 'billing',
      'public.legacy_export': null,
      'public.order_lines': 'orders',
      'public.orders': 'orders',
      'public.report_revenue': 'reporting',
    });
    expect(map.schemas.find((s) => s.name === 'public')?.ownerService).toBeUndefined();
    expect(Object.fromEntries(map.services.map((s) => [s.name, s.ownsTables ?? []]))).toEqual({
      billing: ['public.invoices'],
      orders: ['public.order_lines', 'public.orders'],
      reporting: ['public.report_revenue'],
    });
    // Edges only where a service uses another's table; its own tables draw none.
    expect(map.edges.map((e) => [e.service, e.table, e.access, e.status])).toEqual([
      ['billing', 'public.orders', 'read', 'ok'],
      ['reporting', 'public.invoices', 'read', 'undeclared'],
      ['reporting', 'public.orders', 'read', 'undeclared'],
    ]);
  });

  it.skipIf(!fs.existsSync(CHROMIUM) && process.env.CI !== 'true')(
    'the page draws an ownership arrow from each service to its own tables in public, and lists them in its details',
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(dashboard!.url);
        await page.waitForSelector('.map-svg .table-node[data-table="public.orders"]');
        const titles = await page.$$eval('.map-svg path.edge-owns title', (nodes) =>
          nodes.map((n) => n.textContent).sort(),
        );
        expect(titles).toEqual([
          'billing owns table public.invoices',
          'orders owns table public.order_lines',
          'orders owns table public.orders',
          'reporting owns table public.report_revenue',
        ]);
        await page.locator('.map-svg .service-node[data-service="orders"]').click();
        await page.waitForSelector('.details-panel [data-details-service="orders"]');
        expect(await page.textContent('.details-panel [data-details-service="orders"]')).toContain(
          'table public.order_lines, table public.orders',
        );
      } finally {
        await browser.close();
      }
    },
  );

  it('without a manifest the map takes each table’s owner role, not the owner of public', async () => {
    const catalog = await withClient(url, (c) => readCatalog(c));
    const map = buildCouplingMap({ catalog, usage: { snapshot: usage, origin: 'test' } });
    const owners = Object.fromEntries(map.tables.map((t) => [t.id, t.ownerService ?? null]));
    expect(owners).toEqual({
      'public.invoices': 'billing',
      'public.legacy_export': null,
      'public.order_lines': 'orders',
      'public.orders': 'orders',
      'public.report_revenue': 'reporting',
    });
    // public's owner (pg_database_owner since PG 15, or the admin) is no service.
    expect(map.services.map((s) => s.name)).toEqual(['billing', 'orders', 'reporting']);
    expect(map.edges.map((e) => [e.service, e.table, e.status])).toEqual([
      ['billing', 'public.orders', 'observed'],
      ['reporting', 'public.invoices', 'observed'],
      ['reporting', 'public.orders', 'observed'],
    ]);
  });

  it('migrate: the consumers of public.orders are named by service; the admin’s own ad-hoc reads are not consumers, an unknown role is', async () => {
    const file = path.join(dir, 'drop-note.yaml');
    fs.writeFileSync(file, DROP_NOTE);
    await withClient(url, (c) =>
      c.query(`CREATE VIEW public.report_notes AS SELECT id, note FROM public.orders;
               ALTER VIEW public.report_notes OWNER TO reporting;
               DROP ROLE IF EXISTS nightly_export;
               CREATE ROLE nightly_export LOGIN PASSWORD 'export-secret';
               GRANT USAGE ON SCHEMA public TO nightly_export;
               GRANT SELECT (id, note) ON public.orders TO nightly_export`),
    );
    await startMigration(url, await loadMigration(file));
    // Since start: billing and an export job read the old column; so does the DBA, as the admin.
    await withClient(as('billing'), (c) =>
      c.query('SELECT id, note FROM public.orders WHERE id = $1', [3]),
    );
    const exportUrl = new URL(url);
    exportUrl.username = 'nightly_export';
    exportUrl.password = 'export-secret';
    await withClient(exportUrl.toString(), (c) => c.query('SELECT note FROM public.orders'));
    await withClient(url, (c) =>
      c.query('SELECT count(note) FROM public.orders WHERE id > $1', [0]),
    );

    const status = await migrationStatus(url, { manifest, quietForMs: 3_600_000 });
    const uses = status!.consumers.uses.map((u) => [
      u.source,
      u.service ?? `role ${u.role}`,
      u.blocking,
    ]);
    expect(uses).toEqual(
      expect.arrayContaining([
        ['declared', 'billing', true],
        ['dependency', 'reporting', true],
        ['observed', 'billing', true],
        ['observed', 'role nightly_export', true],
      ]),
    );
    expect(uses).toHaveLength(4);
    const admin = decodeURIComponent(new URL(url).username);
    expect(status!.consumers.uses.some((u) => u.role === admin)).toBe(false);
    expect(status!.consumers.uses.find((u) => u.view)?.view).toBe('public.report_notes');

    // The dashboard's reading (SELECTs only) names the migrating table's own service.
    const reading = await withClient(url, (client) =>
      readMigrationStatus(client, { manifest, quietForMs: 3_600_000 }),
    );
    expect(reading?.services).toEqual(['orders']);

    // complete names the view's service first (a DROP would fail on it), then the readers.
    const first = await completeMigration(url, { manifest, quietForMs: 3_600_000 }).catch(
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(MigrationBlockedError);
    expect((first as MigrationBlockedError).message).toMatch(
      /cannot complete orders-drop-note: reporting still uses the old shape/,
    );
    await withClient(url, (c) => c.query('DROP VIEW public.report_notes'));
    const second = await completeMigration(url, { manifest, quietForMs: 3_600_000 }).catch(
      (e: unknown) => e,
    );
    expect(second).toBeInstanceOf(MigrationBlockedError);
    expect((second as MigrationBlockedError).message).toMatch(
      /cannot complete orders-drop-note: billing, role nightly_export still use the old shape/,
    );
    expect((second as MigrationBlockedError).detail).not.toContain(`role ${admin}`);
  });
});
