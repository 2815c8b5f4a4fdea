import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { observeUsage } from '../../src/usage/observe.js';
import { runCheck } from '../../src/impact/run-check.js';
import { parseManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { connect, urlWith, withClient } from '../../src/postgres/client.js';
import { systemBinaries } from '../../src/postgres/local-server.js';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import { FileLogSource } from '../../src/runtime/log-source.js';
import { renderMetrics } from '../../src/server/metrics.js';
import { runtimeState } from '../../src/server/runtime-section.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { createAccounts, fixture } from '../migrate/helpers.js';
import { createLoginRole, manifestOf, waitFor } from '../runtime/helpers.js';
import { type Standby, startThrowawayStandby } from '../../src/replica/throwaway-standby.js';

// The issue asks for Debian's PostgreSQL 15 for the streaming replica: under CI it must be there.
const pg15 = systemBinaries('/usr/lib/postgresql/15/bin') !== undefined;
const available = pg15 || process.env.CI === 'true';

describe.skipIf(!available)('a streaming replica, watched with the primary [PG 15]', () => {
  let primary: TestServer;
  let standby: Standby;
  let database: string;
  let manifest: Manifest;
  let usersUrl: string;
  let reportingOnReplica: string;
  const clients: pg.Client[] = [];
  const opened: { monitor?: RuntimeMonitor } = {};

  const open = async (url: string, applicationName: string) => {
    const client = await connect(url, { applicationName });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    if (!pg15)
      throw new Error('PostgreSQL 15 is not installed in /usr/lib/postgresql/15/bin (CI=true)');
    primary = await startTestServer('PG 15');
    const url = await primary.createDatabase('replica');
    database = new URL(url).pathname.slice(1);
    usersUrl = await createLoginRole(url, 'rep_users');
    const reporting = await createLoginRole(url, 'rep_reporting');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE account (id int PRIMARY KEY, name text);
        INSERT INTO account SELECT g, 'n' || g FROM generate_series(1, 100) g;
        CREATE TABLE doomed (id int);
        INSERT INTO doomed VALUES (1);
        GRANT SELECT ON account, doomed TO rep_reporting;
        GRANT SELECT, UPDATE ON account TO rep_users;`),
    );
    manifest = manifestOf({ users: 'rep_users', reporting: 'rep_reporting' });
    standby = await startThrowawayStandby(primary, {
      hot_standby_feedback: 'on',
      wal_receiver_status_interval: '1s',
      max_standby_streaming_delay: '1s',
    });
    const replicaAdmin = urlWith(standby.url, { database });
    reportingOnReplica = urlWith(replicaAdmin, {
      user: 'rep_reporting',
      password: decodeURIComponent(new URL(reporting).password),
    });
    // The database and roles reach the replica by WAL replay.
    await waitFor(
      () =>
        withClient(reportingOnReplica, (c) => c.query('SELECT count(*) FROM account')).then(
          () => true,
          () => undefined,
        ),
      30_000,
      'the replica to replay the database',
    );
    const primaryMonitor = await open(urlWith(primary.url, { database }), 'pgpact top');
    const replicaMonitor = await open(replicaAdmin, 'pgpact top');
    opened.monitor = await RuntimeMonitor.create(primaryMonitor, {
      manifest,
      replicas: [
        {
          server: `127.0.0.1:${standby.port}`,
          client: replicaMonitor,
          log: FileLogSource.open(standby.logFile),
        },
      ],
      replicaFindings: { xminHoldbackMs: 1000 },
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await standby?.destroy();
    await primary?.destroy();
  });

  it('labels the replica, measures its lag and counts the sessions of each service on it', async () => {
    const report = await opened.monitor!.tick();
    const replica = report.replicas?.[0];
    expect(replica?.error).toBeNull();
    expect(replica?.server).toBe(`127.0.0.1:${standby.port}`);
    expect(replica?.standby).toBe(true);
    expect(replica?.hotStandbyFeedback).toBe(true);
    expect(replica?.lagBytes).toBeGreaterThanOrEqual(0);
    const reader = await open(reportingOnReplica, 'nightly-report');
    await reader.query('SELECT count(*) FROM account');
    const next = await opened.monitor!.tick();
    const services = next.replicas?.[0]?.sample?.services ?? [];
    expect(services.find((s) => s.service === 'reporting')?.connections.total).toBe(1);
    const dashboard = runtimeState(next, opened.monitor!.sampler.history, {
      intervalMs: 1000,
      hiddenRoles: [],
    });
    expect(dashboard.replicas?.[0]).toMatchObject({
      server: `127.0.0.1:${standby.port}`,
      standby: true,
      services: [{ service: 'reporting', sessions: 1 }],
    });
    const metrics = renderMetrics(next);
    expect(metrics).toMatch(
      new RegExp(
        `^pgpact_replica_lag_bytes\\{server="127\\.0\\.0\\.1:${standby.port}"\\} \\d+$`,
        'm',
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        `^pgpact_replica_service_sessions\\{server="127\\.0\\.0\\.1:${standby.port}",service="reporting"\\} 1$`,
        'm',
      ),
    );
    const out: string[] = [];
    const code = await runCommand(
      [
        'top',
        '--once',
        '--interval',
        '200ms',
        '--database-url',
        urlWith(primary.url, { database }),
        '--replica',
        urlWith(standby.url, { database }),
      ],
      { out: (t) => out.push(t), err: (t) => out.push(t), isTTY: false },
      new AbortController().signal,
    );
    expect([0, 1]).toContain(code);
    const frame = out.join('');
    expect(frame).toContain(`server=127.0.0.1:${standby.port} · lag `);
    expect(frame).toMatch(/^ {2}rep_reporting: 1 sessions/m);
    expect(frame).not.toContain(primary.password);
    await reader.end();
  });

  it('names the replica transaction that holds back the primary xmin, with its service and age', async () => {
    const reader = await open(reportingOnReplica, 'nightly-report');
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query('SELECT count(*) FROM account');
    // users keeps writing on the primary: the rows it replaces cannot be vacuumed away.
    const writer = await open(usersUrl, 'users-api');
    await writer.query(`UPDATE account SET name = name || '!' WHERE id <= 10`);
    const report = await waitFor(
      async () => {
        const r = await opened.monitor!.tick();
        const found = r.findings.find((f) => f.kind === 'replica-xmin-holdback');
        return found && r.replicas?.[0]?.onPrimary ? r : undefined;
      },
      30_000,
      'the holdback finding, confirmed on the primary',
    );
    const finding = report.findings.find((f) => f.kind === 'replica-xmin-holdback')!;
    const pid = Number(
      (await reader.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
    );
    expect(finding.parties).toEqual([
      { service: 'reporting', attribution: 'manifest-role', as: 'holding', pid },
    ]);
    expect(finding.message).toMatch(
      new RegExp(
        `a transaction of reporting \\(pid ${pid}\\) on replica 127\\.0\\.0\\.1:${standby.port}, open \\d+\\.\\ds`,
      ),
    );
    expect(finding.message).toContain("holds back the primary's xmin");
    expect(report.replicas![0]!.oldestSnapshot).toEqual({
      service: 'reporting',
      attribution: 'manifest-role',
      pid,
      role: 'rep_reporting',
      applicationName: 'nightly-report',
      xmin: expect.stringMatching(/^\d+$/),
      xminAge: expect.any(Number),
      transactionMs: expect.any(Number),
      query: 'SELECT count(*) FROM account',
    });
    const xmin = report.replicas![0]!.oldestSnapshot!.xmin;
    const { rows } = await withClient(primary.url, (c) =>
      c.query<{ xmin: string }>('SELECT backend_xmin::text AS xmin FROM pg_stat_replication'),
    );
    expect(rows.map((r) => r.xmin)).toContain(xmin);
    await reader.query('COMMIT');
    const after = await waitFor(
      async () => {
        const r = await opened.monitor!.tick();
        return r.findings.some((f) => f.kind === 'replica-xmin-holdback') ? undefined : r;
      },
      10_000,
      'the finding to clear',
    );
    expect(after.replicas?.[0]?.oldestSnapshot?.service).not.toBe('reporting');
  });

  it('attributes a recovery-conflict cancellation on the replica to its service', async () => {
    const reader = await open(reportingOnReplica, 'nightly-report');
    const cancelled = reader.query('SELECT pg_sleep(60) FROM doomed').then(
      () => undefined,
      (e: Error) => e,
    );
    await waitFor(
      () =>
        withClient(urlWith(standby.url, { database }), async (c) => {
          const { rows } = await c.query(
            `SELECT 1 FROM pg_stat_activity WHERE usename = 'rep_reporting' AND query LIKE '%pg_sleep%' AND state = 'active'`,
          );
          return rows.length > 0 ? true : undefined;
        }),
      10_000,
      'the report to run on the replica',
    );
    // Dropping the table on the primary replays an AccessExclusiveLock the report's lock blocks.
    await withClient(urlWith(primary.url, { database }), (c) => c.query('DROP TABLE doomed'));
    const error = await cancelled;
    expect(error?.message).toMatch(/conflict with recovery/);
    const report = await waitFor(
      async () => {
        const r = await opened.monitor!.tick();
        return r.findings.some((f) => f.kind === 'recovery-conflict') ? r : undefined;
      },
      15_000,
      'the recovery-conflict finding',
    );
    const finding = report.findings.find((f) => f.kind === 'recovery-conflict')!;
    expect(finding.parties[0]).toMatchObject({ service: 'reporting', as: 'victim' });
    expect(finding.message).toContain(
      `replica 127.0.0.1:${standby.port} was cancelled by a recovery conflict`,
    );
    expect(renderMetrics(report)).toMatch(
      new RegExp(
        `^pgpact_replica_recovery_conflicts_total\\{server="127\\.0\\.0\\.1:${standby.port}",service="reporting"\\} 1$`,
        'm',
      ),
    );
  });

  it('a reader of the old shape on the replica blocks migrate complete, named with its service and "replica"', async () => {
    const primaryUrl = urlWith(primary.url, { database });
    const replicaUrl = urlWith(standby.url, { database });
    await withClient(primaryUrl, async (c) => {
      await createAccounts(c, 50);
      await c.query('GRANT USAGE ON SCHEMA users TO rep_reporting');
      await c.query('GRANT SELECT ON users.account TO rep_reporting');
      await c.query('ALTER SCHEMA users OWNER TO rep_users');
      await c.query('ALTER TABLE users.account OWNER TO rep_users');
    });
    const reader = await open(reportingOnReplica, 'nightly-report');
    await waitFor(
      () =>
        reader.query('SELECT street_and_number FROM users.account WHERE id = $1', [1]).then(
          () => true,
          () => undefined,
        ),
      30_000,
      'the replica to replay the migration start',
    );
    // observe merges what ran on the replica, marked with the server it ran on.
    const replicaAdmin = await open(replicaUrl, 'pgpact observe');
    const observed = await withClient(primaryUrl, (client) =>
      observeUsage({
        client,
        manifest,
        sinceReset: true,
        replicas: [{ server: `127.0.0.1:${standby.port}`, client: replicaAdmin }],
      }),
    );
    const reportingUsage = observed.usage.roles.find((r) => r.role === 'rep_reporting');
    expect(reportingUsage?.service).toBe('reporting');
    expect(Object.keys(reportingUsage?.reads ?? {})).toContain('users.account.street_and_number');
    expect(
      reportingUsage?.statements.find((s) => s.reads.includes('users.account.street_and_number'))
        ?.server,
    ).toBe(`127.0.0.1:${standby.port}`);
    expect(observed.usage.replicas?.map((r) => r.server)).toEqual([`127.0.0.1:${standby.port}`]);
    // check names the replica reader as an observed consumer of the column it would drop.
    const dir = tempDir('pgpact-replica-check-');
    const file = path.join(dir, '002_drop_street.sql');
    fs.writeFileSync(file, 'ALTER TABLE users.account DROP COLUMN street_and_number;\n');
    const checkManifest = parseManifest(
      'version: 1\nservices:\n  users:\n    role: rep_users\n    owns: [users]\n  reporting:\n    role: rep_reporting\n',
      path.join(dir, 'pgpact.yaml'),
    );
    const report = await runCheck({
      manifest: checkManifest,
      files: [file],
      root: dir,
      databaseUrl: primaryUrl,
      usage: observed.usage,
    });
    expect(report.findings.find((f) => f.kind === 'column-dropped')).toMatchObject({
      severity: 'breaking',
      object: 'users.account.street_and_number',
      consumers: expect.arrayContaining([{ service: 'reporting', source: 'observed' }]),
    });

    await startMigration(primaryUrl, await loadMigration(fixture('split-street.yaml')));
    // The primary alone sees nobody on the old shape.
    const primaryOnly = await migrationStatus(primaryUrl, { manifest, quietForMs: 60_000 });
    expect(primaryOnly?.canComplete).toBe(true);
    const replicas = [{ url: replicaUrl }];
    const status = await migrationStatus(primaryUrl, { manifest, quietForMs: 60_000, replicas });
    expect(status?.canComplete).toBe(false);
    expect(status?.consumers.uses.map((u) => [u.service, u.source, u.server, u.blocking])).toEqual([
      ['reporting', 'observed', `127.0.0.1:${standby.port}`, true],
    ]);
    const refused = await completeMigration(primaryUrl, {
      manifest,
      quietForMs: 60_000,
      replicas,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(MigrationBlockedError);
    const blocked = refused as MigrationBlockedError;
    expect(blocked.message).toBe(
      `cannot complete split-street-and-number: reporting (on replica 127.0.0.1:${standby.port}) still uses the old shape`,
    );
    expect(blocked.detail).toContain(`(it reads on replica 127.0.0.1:${standby.port})`);
    // The column is still there on both servers.
    expect(
      (await reader.query('SELECT street_and_number FROM users.account WHERE id = 1')).rows,
    ).toHaveLength(1);
  });
});
