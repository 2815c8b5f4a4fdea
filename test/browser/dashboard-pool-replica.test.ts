import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { loadManifest } from '../../src/manifest/load.js';
import { findPgbouncer } from '../../src/pool/pgbouncer-binary.js';
import { poolStatus, stopPool, throughPool } from '../../src/pool/pool-process.js';
import { connect, urlWith } from '../../src/postgres/client.js';
import { systemBinaries } from '../../src/postgres/local-server.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import { type Standby, startThrowawayStandby } from '../../src/replica/throwaway-standby.js';
import { type RunningDashboard, startDashboard } from '../../src/server/dashboard.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../runtime/helpers.js';
import { buildWebBundle } from '../server/web-bundle.js';

/**
 * The Runtime tab in real Chromium, with a real PgBouncer in front of a PG 15 primary and a real
 * streaming standby: the pools per service and the replica with its lag are on the page.
 */

const CHROMIUM = '/usr/bin/chromium';
const PG15 = '/usr/lib/postgresql/15/bin';
const ARTIFACTS = path.resolve('test-artifacts/dashboard');
const INTERVAL_MS = 1000;
const REPLICA = 'replica-1';

const MANIFEST = `version: 1
services:
  users:
    role: web_users
    owns: [users]
    limits: { connections: 2 }
  invoicing:
    role: web_invoicing
    limits: { connections: 2 }
  reporting:
    role: web_reporting
    limits: { connections: 3 }
`;

const present =
  fs.existsSync(CHROMIUM) && findPgbouncer() !== undefined && systemBinaries(PG15) !== undefined;

// Under CI a missing Chromium, pgbouncer or PostgreSQL 15 fails the file (beforeAll throws).
describe.skipIf(!present && process.env.CI !== 'true')(
  'the Runtime tab with PgBouncer and a streaming replica, in Chromium',
  () => {
    let server: TestServer;
    let standby: Standby;
    let url: string;
    let stateDir: string;
    let dashboard: RunningDashboard;
    let browser: Browser;
    let page: Page;
    const clients: pg.Client[] = [];
    const errors: string[] = [];
    const previousHome = process.env.PGPACT_HOME;
    const io = {
      out: () => undefined,
      err: (t: string) => errors.push(t),
      isTTY: false,
    };

    beforeAll(async () => {
      if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}`);
      if (findPgbouncer() === undefined) throw new Error('pgbouncer is not installed');
      if (systemBinaries(PG15) === undefined) throw new Error(`PostgreSQL 15 is not in ${PG15}`);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await buildWebBundle();
      server = await startTestServer('PG 15');
      url = await server.createDatabase('webpool');
      stateDir = tempDir('pgpact-web-pool-state-');
      const configFile = path.join(tempDir('pgpact-web-pool-project-'), 'pgpact.yaml');
      fs.writeFileSync(configFile, MANIFEST);
      await applyProvisioning(url, loadManifest(configFile), { stateDir });
      process.env.PGPACT_HOME = stateDir;
      const signal = new AbortController().signal;
      const pool = ['pool', '--config', configFile, '--database-url', url];
      expect(await runCommand([...pool, '--server-connections', '3'], io, signal)).toBe(0);
      expect(await runCommand(['pool', 'start'], io, signal)).toBe(0);
      standby = await startThrowawayStandby(server, { hot_standby_feedback: 'on' });
      const database = new URL(url).pathname.slice(1);
      const replicaUrl = urlWith(standby.url, { database });
      await waitFor(
        () =>
          connect(replicaUrl).then(
            (c) => c.end().then(() => true),
            () => undefined,
          ),
        30_000,
        'the replica to replay the database',
      );
      dashboard = await startDashboard({
        databaseUrl: url,
        port: 0,
        manifestFile: configFile,
        intervalMs: INTERVAL_MS,
        poolStateDir: stateDir,
        replicas: [{ url: replicaUrl, label: REPLICA }],
      });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
    }, 120_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await browser?.close();
      await dashboard?.close();
      if (stateDir) await stopPool(stateDir, true);
      if (previousHome === undefined) delete process.env.PGPACT_HOME;
      else process.env.PGPACT_HOME = previousHome;
      await standby?.destroy();
      await server?.destroy();
    });

    it('shows each service’s pool, and users waiting while reporting holds every server connection', async () => {
      const { port } = poolStatus(stateDir);
      const open = async (role: string, app: string) => {
        const c = await connect(throughPool(serviceUrl(url, role, stateDir), port!), {
          applicationName: app,
        });
        clients.push(c);
        return c;
      };
      // PgBouncer logs a client in with the server's parameters from an earlier server connection:
      // users connects once first, then PgBouncer's idle server connections are closed.
      const users = await open('web_users', 'users-api');
      await users.query('SELECT 1');
      const admin = await connect(url);
      clients.push(admin);
      await waitFor(
        async () => {
          const { rows } = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'web\\_%'`,
          );
          if (rows[0]?.n === 0) return true;
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'web\\_%'`,
          );
          return undefined;
        },
        15_000,
        'idle server connections closed',
      );
      // reporting's burst takes the database's three server connections; users' client waits.
      const burst: pg.Client[] = [];
      for (const i of [1, 2, 3]) {
        const r = await open('web_reporting', `report-${i}`);
        await r.query('BEGIN');
        await r.query('SELECT 1');
        burst.push(r);
      }
      const waiting = users.query('SELECT 1').catch((e: Error) => e);

      await page.goto(dashboard.url);
      await page.click('#tab-runtime');
      const usersRow = page.locator('.pools-table tr.pool-row[data-service="users"]');
      await expect.poll(() => usersRow.getAttribute('data-waiting'), { timeout: 15_000 }).toBe('1');
      const reportingRow = page.locator('.pools-table tr.pool-row[data-service="reporting"]');
      expect((await reportingRow.textContent())?.replace(/\s+/g, ' ')).toContain('3 / 3');
      expect(
        await page.$$eval('.pools-table thead th', (ths) => ths.map((t) => t.textContent)),
      ).toEqual([
        'Service',
        'Clients active',
        'Clients waiting',
        'Longest wait',
        'Server connections / pool size',
        'Saturation',
      ]);
      const finding = page.locator('.pools-card li[data-kind="pool-contention"]').first();
      await finding.waitFor({ timeout: 15_000 });
      const said = (await finding.textContent()) ?? '';
      expect(said).toContain('users');
      expect(said).toContain('reporting');
      await page.screenshot({
        path: path.join(ARTIFACTS, '10-runtime-pool-replica.png'),
        fullPage: true,
      });
      for (const r of burst) await r.query('COMMIT');
      expect(await waiting).not.toBeInstanceOf(Error);
      await expect.poll(() => usersRow.getAttribute('data-waiting'), { timeout: 10_000 }).toBe('0');
    });

    it('labels the primary and the replica, with the replica’s lag and the services reading there', async () => {
      // reporting's role and password reached the replica by WAL replay.
      const onReplica = new URL(serviceUrl(url, 'web_reporting', stateDir));
      onReplica.port = String(standby.port);
      const reporting = await connect(onReplica.toString(), { applicationName: 'nightly-report' });
      clients.push(reporting);
      await reporting.query('BEGIN');
      await reporting.query('SELECT 1');
      const row = page.locator(`.servers-table tr.server-row[data-server="${REPLICA}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(
        await page.locator('.servers-table tr.server-row[data-server="primary"] th').textContent(),
      ).toBe('primary');
      await expect
        .poll(() => row.locator('.replica-lag').textContent(), { timeout: 10_000 })
        .toMatch(/B behind/);
      expect(await row.locator('.replica-lag').getAttribute('data-lag-bytes')).toMatch(/^\d+$/);
      await row.locator('li[data-service="reporting"]').waitFor({ timeout: 10_000 });
      expect(await row.textContent()).toContain('hot_standby_feedback on');
      await page.screenshot({
        path: path.join(ARTIFACTS, '11-runtime-servers.png'),
        fullPage: true,
      });
      await page.setViewportSize({ width: 420, height: 900 });
      await page.waitForTimeout(300);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await page.screenshot({
        path: path.join(ARTIFACTS, '12-narrow-runtime-pool.png'),
        fullPage: true,
      });
      await reporting.query('COMMIT');
      expect(errors).toEqual([]);
    });
  },
);
