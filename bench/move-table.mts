/**
 * bench/move-table: move_table on a 1,000,000-row table (public.batch_changes → batches)
 * while 4 writer clients read, update and insert through the old name at a steady rate
 * (pgbench -R style: statements scheduled at a fixed total rate, latency counted from the
 * scheduled time). Printed, measured side by side in one run:
 *  (a) writers' p99 during start + complete ÷ their p99 without a migration, over several
 *      cycles (start, complete, then the table moved back unrecorded), quiet windows between
 *      them (goal ≤ 2); beside it, ÷ their p99 during the same start + complete of a table
 *      nobody writes (pgpact's own CPU and catalog work, which on a small machine shared with
 *      the writers weighs on them whatever it migrates). The writers use the old name through
 *      start, as old code does, and the new one through complete (complete drops the old
 *      name: a writer still on it would be a consumer complete refuses to break). pgpact runs
 *      in its own process, as in production
 *  (b) pgbench (4 clients, flat out, the same script) through the compatibility view ÷ on
 *      the table itself, while the migration is active, alternating table and view runs
 *      (goal ≥ 0.9); simple and prepared protocol
 *  (c) writer errors (goal 0)
 *
 * Run: npx tsx bench/move-table.mts [--rows N] [--cycles N] [--rate TX/S] [--writers N]
 *        [--seconds S] [--pgbench PATH] [--lock-timeout-ms MS]
 */
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { completeMigration } from '../src/migrate/complete.js';
import { parseMigration } from '../src/migrate/parse.js';
import { startMigration } from '../src/migrate/start.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { fmt, percentile } from './figures.mjs';

// The migrating process: pgpact runs apart from the writers, as it does in production, so its
// own CPU work (parsing observed statements) does not stall the writers' event loop.
if (process.argv[2] === '--driver') {
  const url = process.argv[3]!;
  const lockTimeoutMs = Number(process.argv[4]);
  process.on('message', async (m: { op: 'start' | 'complete'; text?: string; name?: string }) => {
    try {
      const t0 = performance.now();
      if (m.op === 'start')
        await startMigration(url, await parseMigration(m.text!, `/bench/${m.name}.yaml`), {
          lockTimeoutMs,
        });
      else await completeMigration(url, { force: true, lockTimeoutMs });
      process.send!({ ok: true, ms: performance.now() - t0 });
    } catch (error) {
      process.send!({ ok: false, error: (error as Error).message });
    }
  });
  process.send!({ ready: true });
  await new Promise(() => undefined);
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    cycles: { type: 'string', default: '10' },
    rate: { type: 'string', default: '400' },
    writers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    pgbench: { type: 'string', default: '/usr/lib/postgresql/15/bin/pgbench' },
    'lock-timeout-ms': { type: 'string', default: '2000' },
  },
});
const ROWS = Number(values.rows);
const CYCLES = Number(values.cycles);
const RATE = Number(values.rate);
const WRITERS = Number(values.writers);
const SECONDS = Number(values.seconds);
const PGBENCH = values.pgbench!;
const LOCK_TIMEOUT_MS = Number(values['lock-timeout-ms']);
if (!fs.existsSync(PGBENCH)) {
  console.error(`pgbench not found at ${PGBENCH}: pass --pgbench PATH`);
  process.exit(2);
}

const migrationText = (name: string, table: string, from: string, to: string) =>
  `name: ${name}\noperations:\n  - move_table: { table: ${from}.${table}, schema: ${to} }\n`;

/** Writer clients at a share of a total rate: a read, an update or an insert through `name`. */
class Writers {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly clients: pg.Client[] = [];
  latencies: number[] = [];
  errors: string[] = [];
  recording = false;
  paused = false;
  name = 'public.batch_changes';

  constructor(private readonly url: string) {}

  async connect(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ connectionString: this.url, application_name: `writer-${i}` });
      await c.connect();
      this.clients.push(c);
    }
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((c, w) => this.loop(c, w));
  }

  private async loop(c: pg.Client, w: number): Promise<void> {
    const interval = (this.clients.length / RATE) * 1000;
    let scheduled = performance.now() + (interval * w) / this.clients.length;
    for (let k = 0; this.running; k++) {
      scheduled += interval;
      const wait = scheduled - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.paused) {
        scheduled = performance.now();
        continue;
      }
      const id = 1 + Math.floor(Math.random() * ROWS);
      const t0 = Math.min(scheduled, performance.now());
      const recording = this.recording;
      try {
        if (k % 10 === 0)
          await c.query(
            `INSERT INTO ${this.name} (batch_id, key) VALUES ($1, $2) RETURNING id, changed_at`,
            [id % 100, `w${w}-${k}-${Date.now()}`],
          );
        else if (k % 2 === 0)
          await c.query(`UPDATE ${this.name} SET counter = counter + 1, note = $2 WHERE id = $1`, [
            id,
            `w${w}`,
          ]);
        else await c.query(`SELECT note, counter FROM ${this.name} WHERE id = $1`, [id]);
        if (recording && this.recording) this.latencies.push(performance.now() - t0);
      } catch (error) {
        this.errors.push((error as Error).message);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const c of this.clients) await c.end();
  }

  take(): number[] {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    this.latencies = [];
    return sorted;
  }
}

const server = await startThrowawayServer({
  settings: { max_wal_size: '8GB', checkpoint_timeout: '30min' },
});
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
const run = promisify(execFile);

/** pgbench with the script against `name`: transactions per second. */
async function pgbench(name: string, mode: 'simple' | 'prepared'): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-move-'));
  const script = path.join(dir, 'script.sql');
  fs.writeFileSync(
    script,
    `\\set id random(1, ${ROWS})
SELECT note, counter FROM ${name} WHERE id = :id;
UPDATE ${name} SET counter = counter + 1 WHERE id = :id;
INSERT INTO ${name} (batch_id, key) VALUES (:id % 100, gen_random_uuid()::text) RETURNING id;
`,
  );
  const url = new URL(server.url);
  try {
    const { stdout } = await run(
      PGBENCH,
      [
        '-n',
        '-M',
        mode,
        '-c',
        String(WRITERS),
        '-j',
        '2',
        '-T',
        String(SECONDS),
        '-f',
        script,
        '-h',
        url.hostname,
        '-p',
        url.port,
        '-U',
        decodeURIComponent(url.username),
        url.pathname.slice(1) || 'postgres',
      ],
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } },
    );
    const tps = /tps = ([\d.]+)/.exec(stdout);
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return Number(tps[1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  console.log(
    `bench/move-table: ${fmt(ROWS)} rows, ${WRITERS} writers at ${RATE} tx/s through the old name, ${CYCLES} start+complete cycles (lock_timeout ${LOCK_TIMEOUT_MS} ms), pgbench ${SECONDS} s per run, Postgres ${server.majorVersion}; load before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${os.cpus().length} CPUs`,
  );
  await admin.query(`
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    CREATE TABLE public.batch_changes (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, batch_id int NOT NULL,
      key text NOT NULL UNIQUE, note text DEFAULT 'none', changed_at timestamptz NOT NULL DEFAULT now(), counter int NOT NULL DEFAULT 0);
    INSERT INTO public.batch_changes (batch_id, key) SELECT g % 100, 'k' || g FROM generate_series(1, ${ROWS}) g;
    CREATE INDEX batch_changes_batch ON public.batch_changes (batch_id);
    CREATE TABLE public.control (LIKE public.batch_changes INCLUDING ALL);
    INSERT INTO public.control (batch_id, key) SELECT g % 100, 'k' || g FROM generate_series(1, 1000) g;`);
  await admin.query('VACUUM (ANALYZE) public.batch_changes');
  await admin.query('CHECKPOINT');

  const driver = fork(
    new URL(import.meta.url).pathname,
    ['--driver', server.url, String(LOCK_TIMEOUT_MS)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  const replies: ((m: { ok?: boolean; ms?: number; error?: string }) => void)[] = [];
  driver.on('message', (m: { ready?: boolean; ok?: boolean; ms?: number; error?: string }) =>
    replies.shift()?.(m),
  );
  await new Promise((resolve) => replies.push(resolve));
  /** Runs start (with the migration text) or complete in the migrating process. */
  const migrate = async (op: 'start' | 'complete', name = '', text = '') => {
    const reply = await new Promise<{ ok?: boolean; ms?: number; error?: string }>((resolve) => {
      replies.push(resolve);
      driver.send({ op, name, text });
    });
    if (!reply.ok) throw new Error(`${op} ${name}: ${reply.error}`);
  };

  const writers = new Writers(server.url);
  await writers.connect(WRITERS);
  writers.start();
  await sleep(1000);

  // (a) start + complete windows against quiet windows of the same length, interleaved, and
  // against the same start + complete moving a table nobody writes (the control: pgpact's own
  // work, in its process and on the server, without the writers' table changing).
  let during: number[] = [];
  let control: number[] = [];
  let quiet: number[] = [];
  let migrating = 0;
  const worst: string[] = [];
  /** start + complete of one table there and back; the way there recorded, the way back not. */
  const cycle = async (table: string, n: number, switchWriters: boolean): Promise<number[]> => {
    const t0 = performance.now();
    writers.recording = true;
    await migrate(
      'start',
      `${table}-${n}`,
      migrationText(`${table}-${n}`, table, 'public', 'batches'),
    );
    // The deploy of new code: it names the new table from here on.
    if (switchWriters) writers.name = 'batches.batch_changes';
    await migrate('complete');
    writers.recording = false;
    if (switchWriters) migrating += performance.now() - t0;
    const taken = writers.take();
    writers.paused = true;
    await sleep(50);
    await migrate(
      'start',
      `${table}-back-${n}`,
      migrationText(`${table}-back-${n}`, table, 'batches', 'public'),
    );
    await migrate('complete');
    await admin.query('DROP SCHEMA batches');
    writers.name = 'public.batch_changes';
    writers.paused = false;
    await sleep(300);
    return taken;
  };
  for (let n = 1; n <= CYCLES; n++) {
    const t0 = performance.now();
    const taken = await cycle('batch_changes', n, true);
    worst.push(fmt(Math.max(0, ...taken), 0));
    during = during.concat(taken);
    const ms = performance.now() - t0;
    control = control.concat(await cycle('control', n, false));
    writers.recording = true;
    await sleep(Math.max(1000, ms / 2));
    writers.recording = false;
    quiet = quiet.concat(writers.take());
    await sleep(300);
  }
  for (const xs of [during, control, quiet]) xs.sort((x, y) => x - y);
  const p99 = (xs: number[]) => percentile(xs, 99);
  console.log(
    `(a) writers' p99 during start+complete ÷ without: ${fmt(p99(during) / p99(quiet), 2)} (goal ≤ 2); ÷ during the same start+complete of a table nobody writes: ${fmt(p99(during) / p99(control), 2)}` +
      ` | p99 ${fmt(p99(during), 2)} ms during (${fmt(during.length)} statements over ${fmt(migrating / 1000, 2)} s of ${CYCLES} start+complete), ${fmt(p99(control), 2)} ms control (${fmt(control.length)}), ${fmt(p99(quiet), 2)} ms without (${fmt(quiet.length)})` +
      `; slowest statement per cycle [${worst.join(', ')}] ms; p50 ${fmt(percentile(during, 50), 2)} / ${fmt(percentile(control, 50), 2)} / ${fmt(percentile(quiet, 50), 2)} ms; max ${fmt(during.at(-1) ?? 0, 1)} / ${fmt(control.at(-1) ?? 0, 1)} / ${fmt(quiet.at(-1) ?? 0, 1)} ms`,
  );
  await writers.stop();
  driver.kill();
  console.log(
    `(c) writer errors: ${writers.errors.length}${writers.errors.length > 0 ? ` (first: ${writers.errors[0]})` : ''} (goal 0)`,
  );

  // (b) the same pgbench script through the view and on the table, while the move is active.
  await startMigration(
    server.url,
    await parseMigration(
      migrationText('move-b', 'batch_changes', 'public', 'batches'),
      '/bench/move-b.yaml',
    ),
  );
  await admin.query('VACUUM (ANALYZE) batches.batch_changes');
  for (const mode of ['simple', 'prepared'] as const) {
    const table: number[] = [];
    const view: number[] = [];
    // One run of each first, not counted: caches and plans warm up.
    await pgbench('batches.batch_changes', mode);
    await pgbench('public.batch_changes', mode);
    for (let i = 0; i < 2; i++) {
      table.push(await pgbench('batches.batch_changes', mode));
      view.push(await pgbench('public.batch_changes', mode));
    }
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    console.log(
      `(b) ${mode}: tps through the view ÷ on the table: ${fmt(sum(view) / sum(table), 3)} (goal ≥ 0.9) | view ${view.map((t) => fmt(t)).join(', ')} tps, table ${table.map((t) => fmt(t)).join(', ')} tps (alternating, ${SECONDS} s each)`,
    );
  }
  console.log(
    `load after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await admin.end();
  await server.destroy();
}
