import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { formatLogReport } from '../../src/report/format-log-report.js';
import { buildLogReport } from '../../src/report/log-report.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs } from '../runtime/helpers.js';

// A real server logging every statement's duration. users runs short updates throughout;
// invoicing runs one long statement holding a lock users need: its share of database time
// jumps and users' throughput collapses. A steady period with both services gives nothing.
let server: TestServer;
let clients: pg.Client[] = [];
let users: pg.Client;
let invoicing: pg.Client;
const manifest = manifestOf({ users: 'users', invoicing: 'invoicing' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loop(client: pg.Client, untilMs: number, sql: string): Promise<void> {
  while (Date.now() < untilMs) await client.query(sql);
}

beforeAll(async () => {
  server = await startTestServer('embedded PG 18', {
    log_min_duration_statement: '0',
    lc_messages: 'C',
  });
  const db = await server.createDatabase('noisy');
  await withClient(db, (c) =>
    c.query(`CREATE TABLE account (id int PRIMARY KEY, v int NOT NULL);
             INSERT INTO account SELECT g, 0 FROM generate_series(1, 10) g;
             CREATE TABLE ledger (id int PRIMARY KEY, v int NOT NULL);
             INSERT INTO ledger SELECT g, 0 FROM generate_series(1, 10) g`),
  );
  const usersUrl = await createLoginRole(db, 'users');
  const invoicingUrl = await createLoginRole(db, 'invoicing');
  await withClient(db, (c) =>
    c.query('GRANT SELECT, UPDATE ON account, ledger TO users, invoicing'),
  );
  users = await openAs(usersUrl, 'users');
  invoicing = await openAs(invoicingUrl, 'invoicing');
  clients = [users, invoicing];
});

afterAll(async () => {
  await closeAll(clients);
  await server?.destroy();
});

it('a steady load from two services has no noisy episode', async () => {
  const sinceMs = Date.now();
  const until = Date.now() + 6000;
  await Promise.all([
    loop(users, until, 'UPDATE account SET v = v + 1 WHERE id = 1'),
    loop(invoicing, until, 'UPDATE ledger SET v = v + 1 WHERE id = 1'),
  ]);
  await sleep(300);
  const report = await buildLogReport({ logFile: server.logFile, manifest, sinceMs });
  expect(report.services.find((s) => s.service === 'users')!.calls).toBeGreaterThan(500);
  expect(report.noisyEpisodes).toEqual([]);
});

it("names the noisy service, its statement and the slowed service's figures", async () => {
  await sleep(1100);
  const sinceMs = Date.now();
  const until = Date.now() + 10000;
  const noisy = (async () => {
    await sleep(3000);
    await invoicing.query('BEGIN');
    await invoicing.query('LOCK TABLE account IN EXCLUSIVE MODE');
    await invoicing.query('SELECT pg_sleep(4), count(*) FROM account');
    await invoicing.query('COMMIT');
  })();
  await Promise.all([loop(users, until, 'UPDATE account SET v = v + 1 WHERE id = 1'), noisy]);
  await sleep(300);
  const report = await buildLogReport({ logFile: server.logFile, manifest, sinceMs });
  expect(report.noisyEpisodes).toHaveLength(1);
  const [episode] = report.noisyEpisodes;
  expect(episode!.noisy.service).toBe('invoicing');
  expect(episode!.noisy.statement).toMatch(/pg_sleep\(4\)/);
  expect(episode!.noisy.shareDuring).toBeGreaterThan(0.3);
  const slowed = episode!.slowed.find((s) => s.service === 'users');
  expect(slowed).toBeDefined();
  expect(slowed!.callsPerSecondDuring).toBeLessThan(slowed!.callsPerSecondBefore / 2);
  const span = Date.parse(episode!.to) - Date.parse(episode!.from);
  expect(span).toBeGreaterThanOrEqual(3000);
  expect(span).toBeLessThanOrEqual(6000);
  expect(formatLogReport(report, 'text')).toMatch(/NOISY EPISODES \(1\)[\s\S]*invoicing took/);
});
