import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { formatLogReport } from '../../src/report/format-log-report.js';
import { buildLogReport, type LogReport } from '../../src/report/log-report.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import {
  closeAll,
  createLoginRole,
  manifestOf,
  openAs,
  provokeDeadlock,
} from '../runtime/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// One real server whose log holds, after the fact: statements with durations from two
// services, a lock wait (invoicing holds, users waits), a deadlock, a statement_timeout
// and a refused connection.
let server: TestServer;
let report: LogReport;
const manifest = manifestOf({ users: 'users', invoicing: 'invoicing', reporting: 'reporting' });

beforeAll(async () => {
  server = await startTestServer('embedded PG 18', {
    log_min_duration_statement: '0',
    lc_messages: 'C',
  });
  const db = await server.createDatabase('report');
  await withClient(db, (c) =>
    c.query(`CREATE TABLE account (id int PRIMARY KEY, v int NOT NULL);
             INSERT INTO account SELECT g, 0 FROM generate_series(1, 100) g`),
  );
  const users = await createLoginRole(db, 'users');
  const invoicing = await createLoginRole(db, 'invoicing');
  const reporting = await createLoginRole(db, 'reporting', { connectionLimit: 1 });
  await withClient(db, (c) =>
    c.query(`GRANT SELECT, UPDATE ON account TO users, invoicing, reporting;
             ALTER ROLE reporting SET statement_timeout = '300ms'`),
  );
  const u = await openAs(users, 'users-api');
  const inv = await openAs(invoicing, 'invoicing-batch');
  try {
    for (let i = 0; i < 50; i += 1)
      await u.query('SELECT v FROM account WHERE id = $1', [1 + (i % 100)]);
    // Invoicing takes the row lock with one statement, then does something else while users waits.
    await inv.query('BEGIN');
    await inv.query('UPDATE account SET v = v + 1 WHERE id = 7');
    await inv.query('SELECT count(*) FROM account');
    const waiting = u.query('UPDATE account SET v = v + 10 WHERE id = 7');
    await sleep(1500);
    await inv.query('COMMIT');
    await waiting;
    await provokeDeadlock(
      { url: users, app: 'users-api' },
      { url: invoicing, app: 'invoicing-batch' },
      'account',
    );
    // Reporting: its statement hits statement_timeout, and a second connection is refused.
    const rep = await openAs(reporting, 'reports');
    await rep.query('SELECT pg_sleep(2)').catch(() => undefined);
    await openAs(reporting, 'reports-2').then(
      (c) => c.end(),
      () => undefined,
    );
    await closeAll([rep]);
  } finally {
    await closeAll([u, inv]);
  }
  await sleep(500);
  report = await buildLogReport({ logFile: server.logFile, manifest });
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

it('gives database time, calls, mean and p95 per service from the duration lines', () => {
  expect(report.durationsLogged).toBe(true);
  const users = report.services.find((s) => s.service === 'users')!;
  expect(users.calls).toBeGreaterThanOrEqual(50);
  expect(users.p95Ms).toBeGreaterThan(0);
  expect(users.p95Ms).toBeLessThan(users.totalMs);
  expect(users.totalMs).toBeGreaterThan(1000); // it waited 1.5 s for invoicing's lock
  const lookup = report.statements.find(
    (s) => s.statement === 'SELECT v FROM account WHERE id = $1',
  );
  expect(lookup).toMatchObject({ service: 'users', calls: 50 });
});

it('names both sides of the lock wait and the statement that took the lock', () => {
  const wait = report.lockWaits.find(
    (w) => w.waiting.service === 'users' && w.holders.some((h) => h.service === 'invoicing'),
  );
  expect(wait, JSON.stringify(report.lockWaits)).toBeDefined();
  expect(wait!.outcome).toBe('acquired');
  expect(wait!.waitedMs).toBeGreaterThan(1000);
  expect(wait!.statement).toMatch(/UPDATE account SET v = v \+ 10 WHERE id = 7/);
  // The holder was running something else; the log tells which of its statements took the lock.
  expect(wait!.holders.find((h) => h.service === 'invoicing')!.statement).toBe(
    'UPDATE account SET v = v + 1 WHERE id = 7',
  );
  const users = report.services.find((s) => s.service === 'users')!;
  const invoicing = report.services.find((s) => s.service === 'invoicing')!;
  expect(users.lockWaitsAsWaiter).toBeGreaterThanOrEqual(1);
  expect(invoicing.lockWaitsAsHolder).toBeGreaterThanOrEqual(1);
});

it('names every side of the deadlock, the timeout and the refused connection', () => {
  expect(report.deadlocks).toHaveLength(1);
  expect([...report.deadlocks[0]!.services].sort()).toEqual(['invoicing', 'users']);
  const reporting = report.services.find((s) => s.service === 'reporting')!;
  expect(reporting.timeouts).toEqual({ statement_timeout: 1 });
  expect(reporting.refusedConnections).toBe(1);
});

it('prints text, Markdown, JSON and a self-contained HTML page, and `pgpact report` reads the file', async () => {
  const html = formatLogReport(report, 'html');
  expect(html).toMatch(/^<!doctype html>/);
  expect(html).toContain('<svg');
  expect(html).not.toMatch(/<script|<link|src="http/);
  expect(html).toContain('invoicing (pid');
  expect(formatLogReport(report, 'markdown')).toMatch(/^# pgpact report: .*\n[\s\S]*\| users \| /);
  expect(formatLogReport(report, 'text')).toMatch(
    /took it with: UPDATE account SET v = v \+ 1 WHERE id = 7/,
  );
  let out = '';
  const code = await runCommand(['report', '--log-file', server.logFile, '--format', 'json'], {
    out: (t) => (out += t),
    err: () => undefined,
    isTTY: false,
  });
  expect(code).toBe(0);
  const parsed = JSON.parse(out) as LogReport;
  expect(parsed.services.map((s) => s.service)).toEqual(
    expect.arrayContaining(['users', 'invoicing', 'reporting']),
  );
  expect(fs.existsSync(server.logFile)).toBe(true);
});

it('`pgpact report --since` keeps only the period asked for; bad input exits 2', async () => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCommand(['report', ...args], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      isTTY: false,
    });
    return { code, out, err };
  };
  const recent = await run(['--log-file', server.logFile, '--since', '1h', '--format', 'json']);
  expect(recent.code).toBe(0);
  expect(JSON.parse(recent.out).deadlocks).toHaveLength(1);
  // Everything in this log is seconds old: a period that ended before it holds none of it.
  const since = await buildLogReport({
    logFile: server.logFile,
    manifest,
    sinceMs: Date.now() + 60_000,
  });
  expect(since.services).toEqual([]);
  expect(since.deadlocks).toEqual([]);
  expect((await run(['--log-file', server.logFile, '--since', 'yesterday'])).code).toBe(2);
  expect((await run([])).code).toBe(2);
  expect((await run(['--log-file', '/nonexistent/postgres.log'])).code).toBe(2);
});
