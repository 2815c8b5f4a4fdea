/**
 * bench/migrate: pgpact migrate start on a 1,000,000-row table (split street_and_number
 * into street and number) while 4 writer clients update and insert rows through the old
 * and the new columns, in two loads: flat out (each writer sends its next statement as soon
 * as the last returned) and at a steady rate that leaves the CPUs room (pgbench -R style:
 * statements scheduled at a fixed total rate, latency counted from the scheduled time).
 * Each run, side by side under the same load: the writers alone, one raw UPDATE computing
 * the same columns on an identical copy, then pgpact's start (adaptive batches unless
 * --batch-size). The start runs in a process of its own, as `pgpact migrate start` does
 * beside the applications it serves: in the writers' process its event loop (polls, progress,
 * garbage collection) would delay their replies and count as their latency.
 * Printed per run (five by default, each one, not the best):
 *  (a) backfill rows/s ÷ raw UPDATE rows/s (goal ≥ 0.9); beside it, the same ÷ the raw UPDATE
 *      of a third copy carrying a BEFORE row trigger that stands aside for it, as the sync
 *      trigger stands aside for the backfill: Postgres locks each row before any BEFORE UPDATE
 *      row trigger is even considered, so that copy's UPDATE does the work the backfill must
 *      do while the old and new columns are kept in sync, and the gap left is pgpact's batching
 *  (b) writers' p99 during the backfill ÷ without (goal ≤ 1.5), the raw UPDATE's own beside it
 *  (c) writer errors (goal 0)
 * then the five runs' medians, and (b) once more over the statements of all runs together
 * (a run's p99 rests on its dozen slowest statements: the pooled one is steadier),
 * and, as a cross-check that does not depend on timing noise, the CPU each process used per
 * second during the raw UPDATE and during the backfill (Linux /proc): the raw UPDATE's session
 * against the backfill's, pgpact's own process and its watching session, the writers.
 *
 * Run: npx tsx bench/migrate.mts [--rows N] [--runs N] [--rate TX/S] [--batch-size N] [--batch-time MS] [--writers N]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseMigration } from '../src/migrate/parse.js';
import { rollbackMigration } from '../src/migrate/rollback.js';
import { startMigration } from '../src/migrate/start.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { fmt, percentile } from './figures.mjs';
import { machineCpuMs, processCpuMs } from './proc-cpu.mjs';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    rate: { type: 'string', default: '400' },
    'batch-size': { type: 'string' },
    'batch-time': { type: 'string', default: '20' },
    writers: { type: 'string', default: '4' },
    'lock-timeout-ms': { type: 'string', default: '2000' },
    child: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const RATE = Number(values.rate);
const BATCH = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
const BATCH_TIME = Number(values['batch-time']);
const WRITERS = Number(values.writers);
const LOCK_TIMEOUT_MS = Number(values['lock-timeout-ms']);

// street: everything before the last space; number: everything after it.
const UP_STREET = `left(street_and_number, length(street_and_number) - strpos(reverse(street_and_number), ' '))`;
const UP_NUMBER = `right(street_and_number, strpos(reverse(street_and_number), ' ') - 1)`;
const MIGRATION = `
name: bench-split
operations:
  - split_column:
      table: users.account
      from: street_and_number
      to:
        - { name: street, type: text, up: "${UP_STREET}" }
        - { name: number, type: text, up: "${UP_NUMBER}" }
      down: "street || ' ' || number"
`;

/** Milliseconds on a clock both processes share (the epoch), to the microsecond. */
const now = () => performance.timeOrigin + performance.now();

/** What the start process reports, one JSON line each on stdout. */
type StartEvent =
  | { event: 'begin'; at: number }
  | { event: 'backfill'; at: number }
  | {
      event: 'progress';
      at: number;
      batchSize?: number;
      throttledMs?: number;
      done: boolean;
      rowsDone: number;
    }
  | { event: 'backoff' }
  | { event: 'finished'; at: number };

if (values.child) {
  await startChild();
  process.exit(0);
}

/** pgpact's start in its own process (BENCH_URL, BENCH_MIGRATION): its steps and progress as JSON lines. */
async function startChild(): Promise<void> {
  const tell = (e: StartEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);
  tell({ event: 'begin', at: now() });
  const migration = await parseMigration(
    process.env.BENCH_MIGRATION!,
    `${process.cwd()}/bench-split.yaml`,
  );
  await startMigration(process.env.BENCH_URL!, migration, {
    ...(BATCH === undefined ? { batchTimeMs: BATCH_TIME } : { batchSize: BATCH }),
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    onStep: (step) => {
      if (step.startsWith('backfill')) tell({ event: 'backfill', at: now() });
    },
    onThrottle: (message) => {
      if (/ backs off: /.test(message)) tell({ event: 'backoff' });
    },
    onProgress: (p) =>
      tell({
        event: 'progress',
        at: now(),
        ...(p.pace?.batchSize !== undefined ? { batchSize: p.pace.batchSize } : {}),
        ...(p.pace?.throttledMs !== undefined ? { throttledMs: p.pace.throttledMs } : {}),
        done: p.done,
        rowsDone: p.rowsDone,
      }),
  });
  tell({ event: 'finished', at: now() });
}

/**
 * CPU of the processes that matter here, in ms per second (Linux /proc, 10 ms clock ticks):
 * the named processes, the writers' sessions together and their process (this one), and the
 * whole machine (busy ms per second summed over its cores).
 */
class CpuMeter {
  private pids = new Map<string, number[]>();
  private start = new Map<string, number>();
  private startedAt = 0;

  /** Finds the sessions (one query: application_name writer-N, or as named), then takes the first reading. */
  async begin(named: Record<string, number> = {}, sessions: string[] = []): Promise<void> {
    const { rows } = await admin.query<{ pid: number; app: string }>(
      `SELECT pid, application_name AS app FROM pg_stat_activity WHERE backend_type = 'client backend'`,
    );
    this.pids = new Map(Object.entries(named).map(([k, pid]) => [k, [pid]]));
    for (const r of rows) {
      const group = r.app.startsWith('writer-') ? 'writers' : sessions.includes(r.app) ? r.app : '';
      if (group) this.pids.set(group, [...(this.pids.get(group) ?? []), r.pid]);
    }
    this.start = this.read();
    this.startedAt = performance.now();
  }

  private read(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [group, pids] of this.pids)
      m.set(
        group,
        pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
      );
    const own = process.cpuUsage();
    m.set('writers process', (own.user + own.system) / 1000);
    m.set('machine', machineCpuMs().busy);
    return m;
  }

  /** Ms of CPU per second since begin, per process (NaN for one gone meanwhile), as text. */
  end(): string {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return [...this.read()]
      .map(([k, v]) => `${k} ${fmt((v - this.start.get(k)!) / seconds)}`)
      .join(', ');
  }
}

/** Runs the start in its own process; the writers record from its backfill step to the backfill's end. */
async function startElsewhere(url: string, writers: Writers) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)],
    {
      env: { ...process.env, BENCH_URL: url, BENCH_MIGRATION: MIGRATION },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const cpu = new CpuMeter();
  let cpuBegun: Promise<void> | undefined;
  const figures = {
    started: 0,
    backfillStart: 0,
    backfillEnd: 0,
    firstBatch: 0,
    backfillRows: 0,
    throttledMs: 0,
    sizes: [] as number[],
    backoffs: 0,
    finished: 0,
    cpu: '',
  };
  for await (const line of readline.createInterface({ input: child.stdout! })) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as StartEvent;
    if (e.event === 'begin') figures.started = e.at;
    else if (e.event === 'backfill') {
      writers.newColumns = true;
      writers.recording = true;
      figures.backfillStart = e.at;
      cpuBegun = cpu.begin({ 'pgpact process': child.pid! }, [
        'pgpact migrate',
        'pgpact migrate watch',
      ]);
    } else if (e.event === 'backoff') figures.backoffs++;
    else if (e.event === 'progress') {
      figures.firstBatch ||= e.at;
      if (e.batchSize !== undefined) figures.sizes.push(e.batchSize);
      figures.throttledMs = e.throttledMs ?? figures.throttledMs;
      if (e.done) {
        await cpuBegun;
        figures.cpu = cpu.end();
        writers.recording = false;
        figures.backfillEnd = e.at;
        figures.backfillRows = e.rowsDone;
      }
    } else figures.finished = e.at;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`pgpact migrate start (bench child) exited with ${code}`);
  return figures;
}

/** Writer clients: each updates or inserts one row at a time, flat out or at a share of a total rate. */
class Writers {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly clients: pg.Client[] = [];
  latencies: number[] = [];
  errors: string[] = [];
  recording = false;
  newColumns = false;

  constructor(
    private readonly url: string,
    /** Total statements per second over all writers; undefined: flat out. */
    private readonly rate: number | undefined,
  ) {}

  async connect(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ connectionString: this.url, application_name: `writer-${i}` });
      await c.connect();
      this.clients.push(c);
    }
  }

  start(maxId: number): void {
    this.running = true;
    this.loops = this.clients.map((c, w) => this.loop(c, w, maxId));
  }

  private async loop(c: pg.Client, w: number, maxId: number): Promise<void> {
    let k = 0;
    const interval = this.rate === undefined ? 0 : (this.clients.length / this.rate) * 1000;
    // Writers start spread over one interval, as independent clients would.
    let scheduled = performance.now() + (interval * w) / this.clients.length;
    while (this.running) {
      k++;
      if (this.rate !== undefined) {
        scheduled += interval;
        const wait = scheduled - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const id = 1 + Math.floor(Math.random() * maxId);
      const viaNew = this.newColumns && k % 2 === 0;
      const insert = k % 10 === 0;
      const street = `Street ${w}-${k}`;
      const number = String(k);
      // At a steady rate, latency counts from the scheduled time (pgbench -R): waiting for a turn is felt too.
      const t0 =
        this.rate === undefined ? performance.now() : Math.min(scheduled, performance.now());
      try {
        if (insert && viaNew) {
          await c.query('INSERT INTO users.account (name, street, number) VALUES ($1, $2, $3)', [
            `w${w}`,
            street,
            number,
          ]);
        } else if (insert) {
          await c.query('INSERT INTO users.account (name, street_and_number) VALUES ($1, $2)', [
            `w${w}`,
            `${street} ${number}`,
          ]);
        } else if (viaNew) {
          await c.query(
            'UPDATE users.account SET street = $1, number = $2, counter = counter + 1 WHERE id = $3',
            [street, number, id],
          );
        } else {
          await c.query(
            'UPDATE users.account SET street_and_number = $1, counter = counter + 1 WHERE id = $2',
            [`${street} ${number}`, id],
          );
        }
        if (this.recording) this.latencies.push(performance.now() - t0);
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

/** One run's figures. */
interface RunFigures {
  a: number;
  /** (a) against the raw UPDATE of the copy whose BEFORE row trigger stands aside. */
  aTriggered: number;
  b: number;
  bRaw: number;
  errors: number;
  inconsistent: number;
  /** The writers' latencies: alone, during the backfill, during the raw UPDATE. */
  quiet: number[];
  during: number[];
  duringRaw: number[];
}

const server = await startThrowawayServer({
  settings: { max_wal_size: '8GB', checkpoint_timeout: '30min' },
});
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
const adminPid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
  .pid;

/** users.account (migrated) and users.account_copy (the raw UPDATE's), fresh from the seed. */
async function freshTables(): Promise<void> {
  await admin.query(`
    DROP TABLE IF EXISTS users.account, users.account_copy, users.account_triggered;
    CREATE TABLE users.account (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL,
      street_and_number text NOT NULL, counter int NOT NULL DEFAULT 0) WITH (autovacuum_enabled = false);
    INSERT INTO users.account SELECT * FROM users.seed;
    SELECT setval(pg_get_serial_sequence('users.account', 'id'), ${ROWS});
    CREATE TABLE users.account_copy (LIKE users.account INCLUDING ALL) WITH (autovacuum_enabled = false);
    INSERT INTO users.account_copy SELECT * FROM users.seed;
    ALTER TABLE users.account_copy ADD COLUMN street text, ADD COLUMN number text;
    CREATE TABLE users.account_triggered (LIKE users.account_copy INCLUDING ALL) WITH (autovacuum_enabled = false);
    INSERT INTO users.account_triggered SELECT *, NULL, NULL FROM users.seed;
    CREATE TRIGGER stands_aside BEFORE INSERT OR UPDATE ON users.account_triggered FOR EACH ROW
      WHEN (current_setting('bench.raw', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION users.unchanged();`);
  await admin.query(
    'VACUUM (ANALYZE, FREEZE) users.account, users.account_copy, users.account_triggered',
  );
  await admin.query('CHECKPOINT');
}

async function run(label: string, rate: number | undefined, i: number): Promise<RunFigures> {
  await freshTables();
  const writers = new Writers(server.url, rate);
  await writers.connect(WRITERS);
  writers.start(ROWS);
  await sleep(1000);
  writers.recording = true;
  await sleep(5000);
  writers.recording = false;
  const quiet = writers.take();

  // The raw Postgres operation under the same load: one UPDATE computing the same columns on the copy.
  await admin.query('CHECKPOINT');
  const rawCpu = new CpuMeter();
  await rawCpu.begin({ 'its session': adminPid });
  writers.recording = true;
  const t0 = performance.now();
  const updated = await admin.query(
    `UPDATE users.account_copy SET street = (${UP_STREET}), number = (${UP_NUMBER})`,
  );
  const rawSeconds = (performance.now() - t0) / 1000;
  const rawCpuUse = rawCpu.end();
  writers.recording = false;
  const duringRaw = writers.take();
  await admin.query('CHECKPOINT');

  // The same UPDATE on the copy with a BEFORE row trigger standing aside, as the backfill's
  // session has it (the trigger's WHEN clause false, and no trigger fired as a superuser).
  await admin.query(`SET bench.raw = 'on'; SET session_replication_role = replica`);
  const t1 = performance.now();
  const updatedTriggered = await admin.query(
    `UPDATE users.account_triggered SET street = (${UP_STREET}), number = (${UP_NUMBER})`,
  );
  const triggeredRate = (updatedTriggered.rowCount ?? 0) / ((performance.now() - t1) / 1000);
  await admin.query('RESET bench.raw; RESET session_replication_role');
  writers.take();
  await admin.query('CHECKPOINT');

  const started = await startElsewhere(server.url, writers);
  const startSeconds = (started.finished - started.started) / 1000;
  const during = writers.take();
  await writers.stop();
  const inconsistent = await admin.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM users.account WHERE street_and_number IS DISTINCT FROM street || ' ' || number`,
  );
  await rollbackMigration(server.url);

  const rawRate = (updated.rowCount ?? 0) / rawSeconds;
  const { backfillRows, sizes } = started;
  const backfillSeconds = (started.backfillEnd - started.backfillStart) / 1000;
  const backfillRate = backfillRows / backfillSeconds;
  const p99Quiet = percentile(quiet, 99);
  const figures: RunFigures = {
    a: backfillRate / rawRate,
    aTriggered: backfillRate / triggeredRate,
    b: percentile(during, 99) / p99Quiet,
    bRaw: percentile(duringRaw, 99) / p99Quiet,
    errors: writers.errors.length,
    inconsistent: Number(inconsistent.rows[0]!.n),
    quiet,
    during,
    duringRaw,
  };
  console.log(
    `${label} run ${i}: (a) ${fmt(figures.a, 2)} [trigger standing aside ${fmt(figures.aTriggered, 2)}]  (b) ${fmt(figures.b, 2)} [raw UPDATE ${fmt(figures.bRaw, 2)}]  (c) ${figures.errors} errors${figures.errors > 0 ? ` (first: ${writers.errors[0]})` : ''}` +
      `  | raw ${fmt(rawRate)} rows/s (trigger standing aside ${fmt(triggeredRate)}), backfill ${fmt(backfillRate)} rows/s (${fmt(backfillRows)} rows, ${fmt(backfillSeconds, 2)} s; start ${fmt(startSeconds, 2)} s)` +
      `  | writers p99 ${fmt(p99Quiet, 2)} ms quiet, ${fmt(percentile(during, 99), 2)} ms backfill, ${fmt(percentile(duringRaw, 99), 2)} ms raw UPDATE (${fmt(quiet.length)}/${fmt(during.length)}/${fmt(duringRaw.length)} statements)` +
      `  | first batch done ${fmt(started.firstBatch - started.backfillStart)} ms into the backfill, batches ${fmt(sizes.length)} of ${fmt(Math.min(...sizes))}–${fmt(Math.max(...sizes))} rows, ${started.backoffs} back-offs, ${fmt(started.throttledMs)} ms paused` +
      `\n    CPU ms per second during the raw UPDATE: ${rawCpuUse}; during the backfill: ${started.cpu}` +
      `  | old <> down(new): ${figures.inconsistent}  | load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  return figures;
}

try {
  console.log(
    `bench/migrate: ${fmt(ROWS)} rows, ${BATCH === undefined ? `adaptive batches (${BATCH_TIME} ms target)` : `batch ${fmt(BATCH)}`}, ${WRITERS} writers (flat out, then ${RATE} tx/s), ${RUNS} runs each, lock_timeout ${LOCK_TIMEOUT_MS} ms, Postgres ${server.majorVersion}`,
  );
  await admin.query(`
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    CREATE SCHEMA users;
    CREATE FUNCTION users.unchanged() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
    CREATE TABLE users.seed (id bigint, name text, street_and_number text, counter int);
    INSERT INTO users.seed
      SELECT g, 'user ' || g, (ARRAY['Main Street', 'Elm Road', 'Am Markt', 'Oak Lane'])[1 + g % 4] || ' ' || (g % 977 + 1), 0
      FROM generate_series(1, ${ROWS}) g;`);
  const goals = '(goals: a ≥ 0.9, b ≤ 1.5, c = 0)';
  for (const [label, rate] of [
    ['flat out', undefined],
    [`${RATE} tx/s`, RATE],
  ] as const) {
    const all: RunFigures[] = [];
    for (let i = 1; i <= RUNS; i++) all.push(await run(label, rate, i));
    // Of an even count: the mean of the middle two.
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((x, y) => x - y);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    // A run's p99 rests on its few slowest statements (about 1,300 during a 3 s backfill at
    // 400 tx/s: the 13th slowest): the p99 of every run's statements together is steadier.
    const pooled = (pick: (f: RunFigures) => number[]) =>
      percentile(
        all.flatMap(pick).sort((x, y) => x - y),
        99,
      );
    const pooledQuiet = pooled((f) => f.quiet);
    console.log(
      `${label}: (a) median ${fmt(median(all.map((f) => f.a)), 2)} [${all.map((f) => fmt(f.a, 2)).join(', ')}], against the raw UPDATE with a trigger standing aside ${fmt(median(all.map((f) => f.aTriggered)), 2)} [${all.map((f) => fmt(f.aTriggered, 2)).join(', ')}]  (b) median ${fmt(median(all.map((f) => f.b)), 2)} [${all.map((f) => fmt(f.b, 2)).join(', ')}], raw UPDATE's [${all.map((f) => fmt(f.bRaw, 2)).join(', ')}]  (c) ${all.reduce((n, f) => n + f.errors, 0)} errors  ${goals}` +
        `\n  (b) over the ${RUNS} runs' statements together: ${fmt(pooled((f) => f.during) / pooledQuiet, 2)} [raw UPDATE ${fmt(pooled((f) => f.duringRaw) / pooledQuiet, 2)}]` +
        ` (p99 ${fmt(pooledQuiet, 2)} ms quiet, ${fmt(
          pooled((f) => f.during),
          2,
        )} ms backfill, ${fmt(
          pooled((f) => f.duringRaw),
          2,
        )} ms raw UPDATE)\n`,
    );
  }
} finally {
  await admin.end();
  await server.destroy();
}
