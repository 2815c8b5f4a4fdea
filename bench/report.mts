/**
 * bench/report: `pgpact report` on a real server log of at least 40,000 lines holding
 * short statements of two services, one expensive query, lock waits, a deadlock,
 * statement timeouts and a refused connection. Prints the time, lines per second and,
 * when `pgbadger` is installed, pgpact's time divided by pgBadger's on the same log
 * (goal ≤ 0.5); then checks that every lock wait and deadlock names services on both sides.
 *
 *   npx tsx bench/report.mts [--statements 40000] [--clients 4]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { urlWith, withClient } from '../src/postgres/client.js';
import { quoteIdent, quoteLiteral } from '../src/postgres/quote.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { buildLogReport } from '../src/report/log-report.js';

const { values } = parseArgs({
  options: {
    statements: { type: 'string', default: '40000' },
    clients: { type: 'string', default: '4' },
  },
});
const statements = Number(values.statements);
const clients = Number(values.clients);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = await startThrowawayServer({
  settings: { log_min_duration_statement: '0', lc_messages: 'C' },
  prefix: 'pgpact-bench-report',
});
try {
  const roles: Record<string, string> = {};
  await withClient(server.url, async (c) => {
    await c.query(`CREATE TABLE account (id int PRIMARY KEY, v int NOT NULL);
                   INSERT INTO account SELECT g, 0 FROM generate_series(1, 10000) g`);
    for (const role of ['orders', 'billing', 'reporting']) {
      const password = `pw-${role}-${process.pid}`;
      await c.query(
        `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}${role === 'reporting' ? ' CONNECTION LIMIT 1' : ''}`,
      );
      await c.query(`GRANT SELECT, UPDATE ON account TO ${quoteIdent(role)}`);
      roles[role] = urlWith(server.url, { user: role, password });
    }
    await c.query(`ALTER ROLE reporting SET statement_timeout = '200ms'`);
  });
  const open = async (role: string, app: string) => {
    const client = new pg.Client({ connectionString: roles[role]!, application_name: app });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  // Short statements: orders updates, billing reads.
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const role = i % 2 === 0 ? 'orders' : 'billing';
      const c = await open(role, `${role}-${i}`);
      for (let n = 0; n < statements / clients; n += 1) {
        const id = 1 + Math.floor(Math.random() * 10_000);
        if (role === 'orders') await c.query('UPDATE account SET v = v + 1 WHERE id = $1', [id]);
        else await c.query('SELECT v FROM account WHERE id = $1', [id]);
      }
      await c.end();
    }),
  );
  const loadMs = performance.now() - started;

  // The expensive query, a lock wait (billing holds, orders waits), a deadlock, timeouts, a refusal.
  const billing = await open('billing', 'billing-report');
  const orders = await open('orders', 'orders-api');
  await billing.query('SELECT count(*) FROM generate_series(1, 3000000)');
  await billing.query('BEGIN');
  await billing.query('UPDATE account SET v = 0 WHERE id = 1');
  await billing.query('SELECT count(*) FROM account');
  const waiting = orders.query('UPDATE account SET v = v + 1 WHERE id = 1');
  await sleep(800);
  await billing.query('COMMIT');
  await waiting;
  await billing.query('BEGIN');
  await orders.query('BEGIN');
  await billing.query('UPDATE account SET v = 1 WHERE id = 10');
  await orders.query('UPDATE account SET v = 1 WHERE id = 20');
  const a = billing.query('UPDATE account SET v = 2 WHERE id = 20').catch((e: Error) => e);
  await sleep(300);
  const b = orders.query('UPDATE account SET v = 2 WHERE id = 10').catch((e: Error) => e);
  await Promise.race([a, b]);
  await Promise.all([
    billing.query('ROLLBACK').catch(() => undefined),
    orders.query('ROLLBACK').catch(() => undefined),
  ]);
  await Promise.all([a, b]);
  const reporting = await open('reporting', 'reports');
  for (let i = 0; i < 3; i += 1) await reporting.query('SELECT pg_sleep(1)').catch(() => undefined);
  await open('reporting', 'reports-2').then(
    (c) => c.end(),
    () => undefined,
  );
  await Promise.all([billing.end(), orders.end(), reporting.end()]);
  await sleep(500);

  const lines = fs.readFileSync(server.logFile, 'utf8').split('\n').length - 1;
  const t0 = performance.now();
  const report = await buildLogReport({ logFile: server.logFile });
  const reportMs = performance.now() - t0;

  console.log(
    `log: ${lines.toLocaleString('en-US')} lines (${(fs.statSync(server.logFile).size / 1e6).toFixed(1)} MB), written by ${clients} clients in ${(loadMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `pgpact report: ${reportMs.toFixed(0)} ms, ${Math.round(lines / (reportMs / 1000)).toLocaleString('en-US')} lines/s`,
  );
  const badger = spawnSync('pgbadger', ['--version'], { encoding: 'utf8' });
  if (badger.status === 0) {
    const out = path.join(os.tmpdir(), `pgbadger-${process.pid}.html`);
    const t1 = performance.now();
    const run = spawnSync(
      'pgbadger',
      ['--quiet', '--prefix', '%m [%p] user=%u db=%d app=%a ', '-o', out, server.logFile],
      { encoding: 'utf8' },
    );
    const badgerMs = performance.now() - t1;
    fs.rmSync(out, { force: true });
    if (run.status === 0)
      console.log(
        `pgBadger: ${badgerMs.toFixed(0)} ms; pgpact ÷ pgBadger = ${(reportMs / badgerMs).toFixed(2)} (goal ≤ 0.5)`,
      );
    else console.log(`pgBadger failed: ${run.stderr.trim()}`);
  } else {
    console.log('pgBadger is not installed: lines/s only');
  }
  for (const s of report.services)
    console.log(
      `  ${s.service.padEnd(10)} ${s.calls.toString().padStart(6)} calls, ${s.totalMs.toFixed(0).padStart(6)} ms, mean ${s.meanMs.toFixed(3)} ms, p95 ${s.p95Ms.toFixed(3)} ms, waits ${s.lockWaitsAsWaiter}/${s.lockWaitsAsHolder}, deadlocks ${s.deadlocks}, timeouts ${JSON.stringify(s.timeouts)}, refused ${s.refusedConnections}`,
    );
  const unnamed = [
    ...report.lockWaits.flatMap((w) => [w.waiting, ...w.holders]),
    ...report.deadlocks.flatMap((d) => d.processes),
  ].filter((p) => p.attribution === 'unknown-process');
  const ok =
    lines >= 40_000 &&
    report.lockWaits.length > 0 &&
    report.deadlocks.length > 0 &&
    report.lockWaits.every((w) => w.holders.length > 0) &&
    unnamed.length === 0 &&
    report.services.some((s) => Object.keys(s.timeouts).length > 0);
  console.log(
    `${report.lockWaits.length} lock waits, ${report.deadlocks.length} deadlock(s), ${report.limits.length} limit events; every side named: ${unnamed.length === 0 ? 'yes' : `no (${unnamed.length} unknown)`}${ok ? '' : ' — CHECK FAILED'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.destroy();
}
