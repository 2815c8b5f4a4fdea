import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { poolFindings } from '../../src/pool/pool-findings.js';
import { findPgbouncer } from '../../src/pool/pgbouncer-binary.js';
import { readPoolConsole } from '../../src/pool/admin-console.js';
import { poolConsoleUrl, poolStatus, stopPool, throughPool } from '../../src/pool/pool-process.js';
import { POOL_MONITOR_USER, poolAddress } from '../../src/pool/write-pool.js';
import { connect } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { rolePassword, serviceUrl } from '../../src/provision/credentials.js';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import { serveMetrics } from '../../src/server/metrics.js';
import { runtimeState } from '../../src/server/runtime-section.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../runtime/helpers.js';

// Under CI a missing pgbouncer fails the file (beforeAll throws); elsewhere the file is skipped.
const available = findPgbouncer() !== undefined || process.env.CI === 'true';

const MANIFEST = `version: 1
services:
  users:
    role: pool_users
    owns: [users]
    limits: { connections: 2 }
  invoicing:
    role: pool_invoicing
    limits: { connections: 2 }
  reporting:
    role: pool_reporting
    limits: { connections: 3 }
`;

const outputOf = () => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    output: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), isTTY: false },
    out: () => out.join(''),
    err: () => err.join(''),
  };
};

describe.skipIf(!available)('PgBouncer in front of the database (pgpact pool)', () => {
  let server: TestServer;
  let url: string;
  let stateDir: string;
  let manifest: Manifest;
  let configFile: string;
  const clients: pg.Client[] = [];
  const previousHome = process.env.PGPACT_HOME;

  const open = async (role: string, port: number, app: string) => {
    const client = await connect(throughPool(serviceUrl(url, role, stateDir), port), {
      applicationName: app,
    });
    clients.push(client);
    return client;
  };

  /** PgBouncer keeps idle server connections: close them from Postgres until none is left. */
  const closeServerConnections = async () => {
    const admin = await connect(url);
    try {
      await waitFor(
        async () => {
          const { rows } = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'pool\\_%'`,
          );
          if (rows[0]?.n === 0) return true;
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'pool\\_%'`,
          );
          return undefined;
        },
        15_000,
        'idle server connections closed',
      );
    } finally {
      await admin.end();
    }
  };

  beforeAll(async () => {
    if (findPgbouncer() === undefined) throw new Error('pgbouncer is not installed (CI=true)');
    server = await startTestServer();
    url = await server.createDatabase('pool');
    stateDir = tempDir('pgpact-pool-state-');
    const project = tempDir('pgpact-pool-project-');
    configFile = path.join(project, 'pgpact.yaml');
    fs.writeFileSync(configFile, MANIFEST);
    manifest = loadManifest(configFile);
    await applyProvisioning(url, manifest, { stateDir });
    process.env.PGPACT_HOME = stateDir;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    if (stateDir) await stopPool(stateDir, true);
    if (previousHome === undefined) delete process.env.PGPACT_HOME;
    else process.env.PGPACT_HOME = previousHome;
    await server?.destroy();
  });

  it('writes one pool per service role, sized from limits, with no password in any file (0600)', async () => {
    const io = outputOf();
    const code = await runCommand(
      ['pool', '--config', configFile, '--database-url', url, '--server-connections', '3'],
      io.output,
      new AbortController().signal,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toContain('pool pool_reporting (service reporting): 3 server connections');
    const status = poolStatus(stateDir);
    expect(status.configured).toBe(true);
    const ini = fs.readFileSync(status.iniFile, 'utf8');
    const authFile = path.join(path.dirname(status.iniFile), 'userlist.txt');
    const auth = fs.readFileSync(authFile, 'utf8');
    expect(ini).toMatch(/^pool_users = max_user_connections=2$/m);
    expect(ini).toMatch(/^pool_reporting = max_user_connections=3$/m);
    expect(ini).toMatch(/max_db_connections=3/);
    expect(ini).toMatch(/^auth_type = scram-sha-256$/m);
    for (const role of ['pool_users', 'pool_invoicing', 'pool_reporting']) {
      expect(auth).toMatch(new RegExp(`^"${role}" "SCRAM-SHA-256\\$4096:`, 'm'));
    }
    const secrets = [
      ...['pool_users', 'pool_invoicing', 'pool_reporting'].map(
        (r) => rolePassword(url, r, stateDir)!,
      ),
      rolePassword(poolAddress(status.port!), POOL_MONITOR_USER, stateDir)!,
      server.password,
    ];
    for (const file of [status.iniFile, authFile]) {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const content = fs.readFileSync(file, 'utf8');
      for (const secret of secrets) expect(content).not.toContain(secret);
    }
  });

  it('the generated configuration starts; services log in with their own password; others are refused', async () => {
    const io = outputOf();
    expect(await runCommand(['pool', 'start'], io.output, new AbortController().signal)).toBe(0);
    expect(io.out()).toMatch(/PgBouncer running on 127\.0\.0\.1:\d+/);
    const { port } = poolStatus(stateDir);
    const users = await open('pool_users', port!, 'users-api');
    const invoicing = await open('pool_invoicing', port!, 'invoicing-api');
    expect((await users.query('SELECT current_user AS u')).rows[0]?.u).toBe('pool_users');
    expect((await invoicing.query('SELECT current_user AS u')).rows[0]?.u).toBe('pool_invoicing');
    // The superuser is in no pool: PgBouncer does not know it.
    await expect(connect(throughPool(url, port!))).rejects.toThrow();
    const console = await connect(poolConsoleUrl(stateDir)!);
    clients.push(console);
    const sample = await readPoolConsole(console, { manifest, target: `127.0.0.1:${port}` });
    const pools = sample.pools.map((p) => `${p.database}/${p.role}→${p.service}:${p.poolSize}`);
    const database = new URL(url).pathname.slice(1);
    expect(pools).toContain(`${database}/pool_users→users:2`);
    expect(pools).toContain(`${database}/pool_invoicing→invoicing:2`);
    expect(sample.databases.find((d) => d.database === database)?.maxConnections).toBe(3);
    // Nobody waits: SHOW CLIENTS is not read, and no client is listed as waiting.
    expect(sample.waitingClients).toEqual([]);
  });

  it('a burst of reporting makes users wait; the finding names both; /metrics carries the waiting clients', async () => {
    const { port } = poolStatus(stateDir);
    // users' and invoicing's server connections from the previous test go back to the pool:
    // reporting's burst takes every shared server connection once those are closed.
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    await closeServerConnections();
    const admin = await connect(url);
    clients.push(admin);
    const reporting = await Promise.all(
      [1, 2, 3].map((i) => open('pool_reporting', port!, `report-${i}`)),
    );
    for (const r of reporting) {
      await r.query('BEGIN');
      await r.query('SELECT 1');
    }
    const users = await open('pool_users', port!, 'users-api');
    const waiting = users.query('SELECT current_user AS u');
    const consoleClient = await connect(poolConsoleUrl(stateDir)!);
    clients.push(consoleClient);
    const monitor = await RuntimeMonitor.create(admin, {
      manifest,
      pool: { client: consoleClient, target: `127.0.0.1:${port}` },
    });
    const report = await waitFor(
      async () => {
        const r = await monitor.tick();
        return r.findings.some((f) => f.kind === 'pool-contention') ? r : undefined;
      },
      15_000,
      'a pool-contention finding',
    );
    const finding = report.findings.find((f) => f.kind === 'pool-contention')!;
    expect(finding.parties).toEqual([
      { service: 'users', attribution: 'manifest-role', as: 'waiting' },
      { service: 'reporting', attribution: 'manifest-role', as: 'holding' },
    ]);
    expect(finding.message).toContain('users');
    expect(finding.message).toContain('reporting (3)');
    expect(report.pool?.services.find((s) => s.service === 'users')?.clientsWaiting).toBe(1);
    expect(report.pool?.waitingClients).toEqual([
      expect.objectContaining({
        service: 'users',
        role: 'pool_users',
        applicationName: 'users-api',
      }),
    ]);
    expect(report.pool?.services.find((s) => s.service === 'reporting')?.saturation).toBe(1);
    expect(poolFindings(report.pool!)).toEqual(
      report.findings.filter((f) => f.kind.startsWith('pool-')),
    );

    const dashboardState = runtimeState(report, monitor.sampler.history, {
      intervalMs: 1000,
      hiddenRoles: [],
    });
    expect(dashboardState.pool?.find((s) => s.service === 'users')).toMatchObject({
      clientsWaiting: 1,
    });

    const served = await serveMetrics({ host: '127.0.0.1', port: 0, latest: () => ({ report }) });
    try {
      const body = await (await fetch(served.url)).text();
      expect(body).toMatch(/^pgpact_pool_clients_waiting\{service="users"\} 1$/m);
      expect(body).toMatch(/^pgpact_pool_clients_waiting\{service="reporting"\} 0$/m);
      expect(body).toMatch(/^pgpact_pool_server_connections\{service="reporting"\} 3$/m);
      expect(body).toMatch(/^pgpact_findings\{kind="pool-contention",severity="warning"\} 1$/m);
    } finally {
      await served.close();
    }

    // The waiting client gets its server connection when reporting commits.
    await reporting[0]!.query('COMMIT');
    expect((await waiting).rows[0]?.u).toBe('pool_users');
    for (const r of reporting.slice(1)) await r.query('COMMIT');
  });

  it('users exhausting its own pool is its own finding, naming nobody else', async () => {
    const { port } = poolStatus(stateDir);
    const users = await Promise.all([1, 2, 3].map((i) => open('pool_users', port!, `users-${i}`)));
    for (const u of users.slice(0, 2)) {
      await u.query('BEGIN');
      await u.query('SELECT 1');
    }
    const third = users[2]!.query('SELECT 2 AS n');
    const consoleClient = await connect(poolConsoleUrl(stateDir)!);
    clients.push(consoleClient);
    const finding = await waitFor(
      async () => {
        const sample = await readPoolConsole(consoleClient, {
          manifest,
          target: `127.0.0.1:${port}`,
        });
        return poolFindings(sample).find((f) => f.kind === 'pool-exhausted');
      },
      15_000,
      'a pool-exhausted finding',
    );
    expect(finding.parties).toEqual([
      { service: 'users', attribution: 'manifest-role', as: 'at-limit' },
    ]);
    expect(finding.message).toMatch(
      /^1 client of users waits \(longest \d+\.\ds\) for a server connection to \S+: its pool is exhausted \(2\/2 server connections\)$/,
    );
    for (const u of users.slice(0, 2)) await u.query('COMMIT');
    expect((await third).rows[0]?.n).toBe(2);
  });

  it('pgpact top --once shows the pools of the running PgBouncer; stop ends it', async () => {
    const io = outputOf();
    const code = await runCommand(
      ['top', '--once', '--interval', '200ms', '--config', configFile, '--database-url', url],
      io.output,
      new AbortController().signal,
    );
    expect([0, 1]).toContain(code);
    expect(io.out()).toMatch(/POOLS \(PgBouncer 127\.0\.0\.1:\d+\)/);
    expect(io.out()).toMatch(/^reporting\s+\d+\s+0\s+-\s+\d+\/3/m);
    // Rewriting the configuration reloads the running PgBouncer: 4 shared server connections now.
    const rewrite = outputOf();
    expect(
      await runCommand(
        ['pool', '--config', configFile, '--database-url', url, '--server-connections', '4'],
        rewrite.output,
        new AbortController().signal,
      ),
    ).toBe(0);
    expect(rewrite.out()).toContain('the running PgBouncer reloaded it');
    const consoleClient = await connect(poolConsoleUrl(stateDir)!);
    clients.push(consoleClient);
    const database = new URL(url).pathname.slice(1);
    await waitFor(
      async () => {
        const sample = await readPoolConsole(consoleClient, { manifest, target: 'pgbouncer' });
        const shared = sample.databases.find((d) => d.database === database)?.maxConnections;
        return shared === 4 ? true : undefined;
      },
      10_000,
      'PgBouncer to reload its configuration',
    );
    const stop = outputOf();
    expect(await runCommand(['pool', 'stop'], stop.output, new AbortController().signal)).toBe(0);
    expect(stop.out()).toBe('PgBouncer stopped\n');
    expect(poolStatus(stateDir).running).toBe(false);
  });
});
