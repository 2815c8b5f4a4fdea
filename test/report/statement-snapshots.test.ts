import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import {
  readStatementSnapshots,
  type SnapshotReport,
  StatementSnapshotKeeper,
  summarizeSnapshots,
} from '../../src/report/statement-snapshots.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs } from '../runtime/helpers.js';

// A real server: two services run statements between snapshots the keeper takes; the report's
// figures per service must be pg_stat_statements' own deltas over the same period.
let server: TestServer;
let db: string;
let users: pg.Client;
let invoicing: pg.Client;
let admin: pg.Client;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-snapshots-'));
const manifest = manifestOf({ users: 'users', invoicing: 'invoicing' });

/** pg_stat_statements' totals per role, read directly (the independent side of the comparison). */
async function totals(): Promise<Map<string, { calls: number; ms: number }>> {
  const { rows } = await admin.query<{ role: string; calls: number; ms: number }>(
    `SELECT r.rolname AS role, sum(s.calls)::float8 AS calls,
            sum(s.total_exec_time + s.total_plan_time)::float8 AS ms
     FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
     WHERE s.toplevel AND r.rolname IN ('users', 'invoicing') GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.role, { calls: Number(r.calls), ms: Number(r.ms) }]));
}

async function work(n: { users: number; invoicing: number }): Promise<void> {
  for (let i = 0; i < n.users; i++) await users.query('SELECT pg_sleep(0.002)');
  for (let i = 0; i < n.invoicing; i++)
    await invoicing.query('UPDATE account SET v = v + 1 WHERE id = $1', [(i % 10) + 1]);
}

beforeAll(async () => {
  server = await startTestServer('embedded PG 18');
  db = await server.createDatabase('snapshots');
  await withClient(db, (c) =>
    c.query(`CREATE TABLE account (id int PRIMARY KEY, v int NOT NULL);
             INSERT INTO account SELECT g, 0 FROM generate_series(1, 10) g`),
  );
  const usersUrl = await createLoginRole(db, 'users');
  const invoicingUrl = await createLoginRole(db, 'invoicing');
  await withClient(db, (c) => c.query('GRANT SELECT, UPDATE ON account TO users, invoicing'));
  users = await openAs(usersUrl, 'users');
  invoicing = await openAs(invoicingUrl, 'invoicing');
  admin = await openAs(db, 'test');
});

afterAll(async () => {
  await closeAll([users, invoicing, admin]);
  await server?.destroy();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

it('report --since gives per-service figures equal to pg_stat_statements deltas', async () => {
  const keeper = new StatementSnapshotKeeper({ stateDir });
  await work({ users: 5, invoicing: 5 }); // before the period: must not count
  const before = await totals();
  await keeper.keep(admin);
  await work({ users: 40, invoicing: 60 });
  await keeper.keep(admin);
  const middle = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  await work({ users: 30, invoicing: 20 });
  // A password in a statement text: the file must not keep it.
  await admin.query(`ALTER ROLE users PASSWORD 'hunter2-in-a-statement'`);
  const after = await totals();
  await keeper.keep(admin);

  const mode = fs.statSync(keeper.file).mode & 0o777;
  expect(mode).toBe(0o600);
  expect(fs.readFileSync(keeper.file, 'utf8')).not.toContain('hunter2-in-a-statement');

  const snapshots = readStatementSnapshots(keeper.file);
  expect(snapshots).toHaveLength(3);
  const report = summarizeSnapshots(snapshots, {
    file: keeper.file,
    sinceMs: Date.parse(snapshots[0]!.at),
    manifest,
  });
  for (const role of ['users', 'invoicing']) {
    const s = report.services.find((x) => x.service === role);
    const delta = {
      calls: after.get(role)!.calls - (before.get(role)?.calls ?? 0),
      ms: after.get(role)!.ms - (before.get(role)?.ms ?? 0),
    };
    expect(s?.calls).toBe(delta.calls);
    expect(s?.totalMs).toBeCloseTo(delta.ms, 3);
    expect(s?.meanMs).toBeCloseTo(delta.ms / delta.calls, 3);
  }
  expect(report.services.find((x) => x.service === 'users')?.calls).toBe(70);
  expect(report.services.find((x) => x.service === 'invoicing')?.calls).toBe(80);
  // users slept 2 ms per call: at least 140 ms of database time.
  expect(report.services.find((x) => x.service === 'users')!.totalMs).toBeGreaterThan(140);
  const sleep = report.statements.find((x) => x.statement.includes('pg_sleep'));
  expect(sleep).toMatchObject({ service: 'users', calls: 70 });

  // Only the second half of the period.
  const late = summarizeSnapshots(snapshots, { file: keeper.file, sinceMs: middle, manifest });
  expect(late.services.find((x) => x.service === 'users')?.calls).toBe(30);
  expect(late.services.find((x) => x.service === 'invoicing')?.calls).toBe(20);

  // The command: --since reads the snapshots file, JSON and text.
  let out = '';
  const code = await runCommand(
    ['report', '--since', '1h', '--snapshots', keeper.file, '--format', 'json'],
    { out: (t) => (out += t), err: () => undefined, isTTY: false },
  );
  expect(code).toBe(0);
  const parsed = JSON.parse(out) as { snapshots: SnapshotReport };
  expect(parsed.snapshots.services.find((x) => x.service === 'users')?.calls).toBe(70);
  out = '';
  await runCommand(['report', '--since', '1h', '--snapshots', keeper.file], {
    out: (t) => (out += t),
    err: () => undefined,
    isTTY: false,
  });
  expect(out).toMatch(/no p95/);
  expect(out).toMatch(/pg_sleep/);
});

it('the snapshots file stays bounded and keeps statement texts when it is cut', async () => {
  const dir = fs.mkdtempSync(path.join(stateDir, 'bounded-'));
  const keeper = new StatementSnapshotKeeper({ stateDir: dir, maxBytes: 20_000 });
  for (let i = 0; i < 60; i++) await keeper.keep(admin);
  expect(fs.statSync(keeper.file).size).toBeLessThanOrEqual(20_000);
  const kept = readStatementSnapshots(keeper.file);
  expect(kept.length).toBeGreaterThan(1);
  expect(kept[0]!.rows.some((r) => r.text?.includes('pg_sleep'))).toBe(true);
});
