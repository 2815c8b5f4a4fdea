/**
 * bench/migrate: pgpact migrate start on a 1,000,000-row table (split street_and_number
 * into street and number) while 4 writer clients update and insert rows through the old
 * and the new columns. Printed in one run, against raw Postgres measured side by side:
 *  (a) backfill rows/s ÷ one UPDATE computing the same columns on an identical copy (goal ≥ 0.8)
 *  (b) writers' p99 during the backfill ÷ their p99 without a migration (goal ≤ 2)
 *  (c) the longest lock wait any writer saw (goal < lock_timeout)
 *  (d) writer errors (goal 0)
 *
 * Run: npx tsx bench/migrate.mts [--rows N] [--batch-size N] [--writers N]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseMigration } from '../src/migrate/parse.js';
import { startMigration } from '../src/migrate/start.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'batch-size': { type: 'string', default: '10000' },
    writers: { type: 'string', default: '4' },
    'lock-timeout-ms': { type: 'string', default: '2000' },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values['batch-size']);
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Writer clients: each updates or inserts one row at a time, a short pause between statements. */
class Writers {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly clients: pg.Client[] = [];
  latencies: number[] = [];
  errors: string[] = [];
  recording = false;
  newColumns = false;
  ops = 0;

  constructor(private readonly url: string) {}

  async connect(n: number): Promise<number[]> {
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ connectionString: this.url, application_name: `writer-${i}` });
      await c.connect();
      this.clients.push(c);
    }
    return Promise.all(
      this.clients.map(
        async (c) =>
          (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
      ),
    );
  }

  start(maxId: number): void {
    this.running = true;
    this.loops = this.clients.map((c, w) => this.loop(c, w, maxId));
  }

  private async loop(c: pg.Client, w: number, maxId: number): Promise<void> {
    let k = 0;
    while (this.running) {
      k++;
      const id = 1 + Math.floor(Math.random() * maxId);
      const viaNew = this.newColumns && k % 2 === 0;
      const insert = k % 10 === 0;
      const street = `Street ${w}-${k}`;
      const number = String(k);
      const t0 = performance.now();
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
        this.ops++;
      } catch (error) {
        this.errors.push((error as Error).message);
      }
      await sleep(2);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  take(): number[] {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    this.latencies = [];
    return sorted;
  }
}

/** Samples pg_locks: the longest wait of any writer session, by lock type. */
class LockWatcher {
  max = 0;
  maxType = '';
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly client: pg.Client,
    private readonly pids: number[],
  ) {}
  start(): void {
    const tick = async () => {
      try {
        const { rows } = await this.client.query<{ ms: number; type: string }>(
          `SELECT extract(epoch FROM now() - waitstart) * 1000 AS ms, locktype AS type FROM pg_locks
           WHERE NOT granted AND waitstart IS NOT NULL AND pid = ANY($1::int[]) ORDER BY 1 DESC LIMIT 1`,
          [this.pids],
        );
        const r = rows[0];
        if (r && Number(r.ms) > this.max) {
          this.max = Number(r.ms);
          this.maxType = r.type;
        }
      } catch {
        /* the server is busy; next tick */
      }
      this.timer = setTimeout(tick, 5);
    };
    this.timer = setTimeout(tick, 5);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

const server = await startThrowawayServer({
  settings: { max_wal_size: '8GB', checkpoint_timeout: '30min' },
});
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
try {
  console.log(
    `bench/migrate: ${fmt(ROWS)} rows, batch ${fmt(BATCH)}, ${WRITERS} writers, lock_timeout ${LOCK_TIMEOUT_MS} ms, Postgres ${server.majorVersion}`,
  );
  await admin.query(`
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    CREATE SCHEMA users;
    CREATE TABLE users.account (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL,
      street_and_number text NOT NULL, counter int NOT NULL DEFAULT 0) WITH (autovacuum_enabled = false);
    INSERT INTO users.account (id, name, street_and_number)
      SELECT g, 'user ' || g, (ARRAY['Main Street', 'Elm Road', 'Am Markt', 'Oak Lane'])[1 + g % 4] || ' ' || (g % 977 + 1)
      FROM generate_series(1, ${ROWS}) g;
    SELECT setval(pg_get_serial_sequence('users.account', 'id'), ${ROWS});
    CREATE TABLE users.account_copy_a (LIKE users.account INCLUDING ALL) WITH (autovacuum_enabled = false);
    INSERT INTO users.account_copy_a SELECT * FROM users.account;
    CREATE TABLE users.account_copy_b (LIKE users.account INCLUDING ALL) WITH (autovacuum_enabled = false);
    INSERT INTO users.account_copy_b SELECT * FROM users.account;
    ALTER TABLE users.account_copy_a ADD COLUMN street text, ADD COLUMN number text;
    ALTER TABLE users.account_copy_b ADD COLUMN street text, ADD COLUMN number text;`);
  await admin.query(
    'VACUUM (ANALYZE, FREEZE) users.account, users.account_copy_a, users.account_copy_b',
  );
  await admin.query('CHECKPOINT');

  const writers = new Writers(server.url);
  const pids = await writers.connect(WRITERS);
  writers.start(ROWS);
  await sleep(1000);

  /** Writers alone: their latency without a migration. */
  const quiet = async () => {
    writers.recording = true;
    await sleep(5000);
    writers.recording = false;
    return writers.take();
  };
  /** The raw Postgres operation: one UPDATE computing the same columns on an identical copy, writers running. */
  const rawUpdate = async (table: string) => {
    await admin.query('CHECKPOINT');
    writers.recording = true;
    const t0 = performance.now();
    const updated = await admin.query(
      `UPDATE users.${table} SET street = (${UP_STREET}), number = (${UP_NUMBER})`,
    );
    const seconds = (performance.now() - t0) / 1000;
    writers.recording = false;
    return { rows: updated.rowCount ?? 0, seconds, latencies: writers.take() };
  };

  // The machine may be shared: raw and pgpact runs alternate (quiet, raw, pgpact, raw, quiet) to spread drift evenly.
  const baseline1 = await quiet();
  const rawA = await rawUpdate('account_copy_a');
  await admin.query('CHECKPOINT');

  // pgpact migrate start with the writers running: expand, backfill, validate.
  const watcher = new LockWatcher(admin, pids);
  watcher.start();
  const migration = await parseMigration(MIGRATION, `${process.cwd()}/bench-split.yaml`);
  let backfillStart = 0;
  let backfillEnd = 0;
  let backfillRows = 0;
  const startedAt = performance.now();
  await startMigration(server.url, migration, {
    batchSize: BATCH,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    onStep: (step) => {
      if (step.startsWith('backfill')) {
        writers.newColumns = true;
        writers.recording = true;
        backfillStart = performance.now();
      }
    },
    onProgress: (p) => {
      if (p.done) {
        backfillEnd = performance.now();
        backfillRows = p.rowsDone;
        writers.recording = false;
      }
    },
  });
  const startSeconds = (performance.now() - startedAt) / 1000;
  const during = writers.take();
  watcher.stop();
  const rawB = await rawUpdate('account_copy_b');
  const baseline2 = await quiet();
  await writers.stop();
  const baseline = [...baseline1, ...baseline2].sort((x, y) => x - y);
  const duringRaw = [...rawA.latencies, ...rawB.latencies].sort((x, y) => x - y);
  const updateRate = (rawA.rows + rawB.rows) / (rawA.seconds + rawB.seconds);
  const backfillSeconds = (backfillEnd - backfillStart) / 1000;
  const backfillRate = backfillRows / backfillSeconds;

  const inconsistent = await admin.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM users.account WHERE street_and_number IS DISTINCT FROM street || ' ' || number`,
  );

  const p99Base = percentile(baseline, 99);
  const p99During = percentile(during, 99);
  console.log('');
  console.log(
    `raw UPDATE of a copy:   ${fmt(rawA.rows)} rows in ${fmt(rawA.seconds, 2)} s before, ${fmt(rawB.seconds, 2)} s after = ${fmt(updateRate)} rows/s`,
  );
  console.log(
    `pgpact backfill:        ${fmt(backfillRows)} rows in ${fmt(backfillSeconds, 2)} s = ${fmt(backfillRate)} rows/s (whole start: ${fmt(startSeconds, 2)} s)`,
  );
  console.log(
    `writers without migration: ${fmt(baseline.length)} statements, p50 ${fmt(percentile(baseline, 50), 2)} ms, p99 ${fmt(p99Base, 2)} ms, max ${fmt(baseline.at(-1) ?? 0, 1)} ms`,
  );
  console.log(
    `writers during backfill:   ${fmt(during.length)} statements, p50 ${fmt(percentile(during, 50), 2)} ms, p99 ${fmt(p99During, 2)} ms, max ${fmt(during.at(-1) ?? 0, 1)} ms`,
  );
  console.log(
    `writers during raw UPDATE: ${fmt(duringRaw.length)} statements, p50 ${fmt(percentile(duringRaw, 50), 2)} ms, p99 ${fmt(percentile(duringRaw, 99), 2)} ms (for comparison: Postgres's own cost)`,
  );
  console.log(
    `rows where street_and_number <> street || ' ' || number afterwards: ${inconsistent.rows[0]!.n}`,
  );
  console.log('');
  console.log(
    `(a) backfill rows/s ÷ single UPDATE rows/s: ${fmt(backfillRate / updateRate, 2)}   (goal ≥ 0.8)`,
  );
  console.log(
    `(b) writers' p99 during backfill ÷ without migration: ${fmt(p99During / p99Base, 2)}   (goal ≤ 2)`,
  );
  console.log(
    `(c) longest lock wait of a writer: ${fmt(watcher.max, 1)} ms${watcher.maxType ? ` (${watcher.maxType})` : ''}   (goal < lock_timeout ${LOCK_TIMEOUT_MS} ms)`,
  );
  console.log(
    `(d) writer errors: ${writers.errors.length}${writers.errors.length > 0 ? ` (first: ${writers.errors[0]})` : ''}   (goal 0)`,
  );
  for (const c of writers.clients) await c.end();
} finally {
  await admin.end();
  await server.destroy();
}
