/**
 * bench/runtime: what does watching cost? A steady pgbench-like write/read load
 * runs through `pg` for several rounds, alternately without and with the
 * runtime monitor sampling at 1 Hz in its own process (the sampler, the log
 * reader and the findings, exactly what `pgpact top` and `pgpact metrics` run). Rounds go in
 * ABBA order so drift hits both sides alike. Prints the throughput of each
 * side, their ratio (goal: at least 0.99) and the sampler's own cost.
 *
 * The pair ratios give a 95% confidence interval: on a shared machine the effect
 * (well under 1%) is close to the noise, so the verdict says which of the two it is.
 * The sampler's CPU as a share of the CPU the load itself used is printed as a
 * cross-check that does not depend on throughput noise.
 *
 * Rounds are long (10 s) on purpose: a sampler started afresh reads every statement's
 * counters at once (they are read every 5 s), so short rounds would charge it
 * that start-up read far more often than `pgpact top`, which runs on, ever pays it.
 * Its first sample is half an interval into the round, so a round of S seconds
 * holds S samples: 1 Hz exactly.
 *
 *   npx tsx bench/runtime.mts [--seconds 10] [--rounds 24] [--clients 4] [--statements 1000]
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { urlWith, withClient } from '../src/postgres/client.js';
import { quoteIdent, quoteLiteral } from '../src/postgres/quote.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { FileLogSource } from '../src/runtime/log-source.js';
import { monitorEvery, RuntimeMonitor, sleep } from '../src/runtime/monitor.js';
import { processCpuMs } from './proc-cpu.mjs';

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '24' },
    clients: { type: 'string', default: '4' },
    statements: { type: 'string', default: '1000' },
  },
});
if (values.child) {
  await samplerChild();
  process.exit(0);
}

/**
 * The sampler runs in its own process, as `pgpact top` or `pgpact metrics` would:
 * commands on stdin (start, stop, cpu, exit), answers on stdout.
 */
async function samplerChild(): Promise<void> {
  const client = new pg.Client({
    connectionString: process.env.BENCH_DB_URL,
    application_name: 'pgpact bench',
  });
  await client.connect();
  const monitor = await RuntimeMonitor.create(client, {
    log: new FileLogSource(process.env.BENCH_LOG_FILE!),
  });
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  process.stdout.write(`ready ${pid}\n`);
  let controller: AbortController | undefined;
  let loop: Promise<void> = Promise.resolve();
  let durations: number[] = [];
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'start') {
      controller = new AbortController();
      durations = [];
      const signal = controller.signal;
      loop = sleep(500, signal).then(() =>
        monitorEvery(monitor, 1000, signal, (r) => {
          durations.push(r.sample.sampleDurationMs);
        }),
      );
    } else if (line === 'stop') {
      controller?.abort();
      await loop;
      process.stdout.write(`durations ${JSON.stringify(durations)}\n`);
    } else if (line === 'cpu') {
      const ticks = 30;
      const before = process.cpuUsage();
      for (let i = 0; i < ticks; i += 1) await monitor.tick();
      const used = process.cpuUsage(before);
      process.stdout.write(`cpu ${(used.user + used.system) / 1000 / ticks}\n`);
    } else if (line === 'exit') break;
  }
  await client.end();
}

const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clientCount = Number(values.clients);
const extraStatements = Number(values.statements);
const SERVICES = ['users', 'invoicing', 'reporting'];
const ACCOUNTS = 100_000;

// Background work that comes and goes (autovacuum, timed checkpoints) is noise to this
// comparison, not the sampler's cost: it is kept out of the measured rounds.
const server = await startThrowawayServer({
  prefix: 'pgpact',
  settings: { autovacuum: 'off', checkpoint_timeout: '1h', max_wal_size: '10GB' },
});
try {
  const db = urlWith(server.url, { database: 'bench' });
  await withClient(server.url, (c) => c.query('CREATE DATABASE bench'));
  const passwords = new Map(
    SERVICES.map((s) => [s, `pw-${s}-${Math.random().toString(36).slice(2)}`]),
  );
  await withClient(db, async (c) => {
    await c.query('CREATE EXTENSION pg_stat_statements');
    for (const [role, password] of passwords) {
      await c.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}`);
    }
    await c.query(`
      CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))
        WITH (fillfactor = 90);
      INSERT INTO accounts SELECT g, g % 10, 0, '' FROM generate_series(1, ${ACCOUNTS}) g;
      CREATE TABLE history (tid serial, aid int, delta int, mtime timestamptz DEFAULT now());
      GRANT SELECT, UPDATE, INSERT ON accounts, history TO users, invoicing, reporting;
      GRANT USAGE ON SEQUENCE history_tid_seq TO users, invoicing, reporting;`);
    await c.query('VACUUM ANALYZE accounts');
    // pg_stat_statements of a real system holds many statements: the sampler reads them all.
    const tables = Math.ceil(extraStatements / 5);
    for (let t = 0; t < tables; t += 1)
      await c.query(`CREATE TABLE filler_${t} (id int PRIMARY KEY, v int)`);
    for (let t = 0; t < tables; t += 1) {
      for (const sql of [
        `INSERT INTO filler_${t} VALUES ($1, 0) ON CONFLICT DO NOTHING`,
        `SELECT v FROM filler_${t} WHERE id = $1`,
        `UPDATE filler_${t} SET v = v + 1 WHERE id = $1`,
        `SELECT count(*) FROM filler_${t} WHERE id > $1`,
        `DELETE FROM filler_${t} WHERE id = $1 + 1000`,
      ]) {
        await c.query(sql, [1]);
      }
    }
  });

  // One client per worker, each a service of its own role (as pgpact provisions them).
  const clients = await Promise.all(
    Array.from({ length: clientCount }, async (_, i) => {
      const role = SERVICES[i % SERVICES.length]!;
      const client = new pg.Client({
        connectionString: urlWith(db, { user: role, password: passwords.get(role)! }),
        application_name: `${role}-${i}`,
      });
      await client.connect();
      return client;
    }),
  );
  const loadPids = await Promise.all(
    clients.map(
      async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid,
    ),
  );
  /** One pgbench-like transaction: update a balance, read it, append history; plus a read-only lookup. */
  async function transaction(client: pg.Client): Promise<void> {
    const aid = 1 + Math.floor(Math.random() * ACCOUNTS);
    const delta = Math.floor(Math.random() * 10_000) - 5000;
    await client.query('BEGIN');
    await client.query('UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
    await client.query('SELECT abalance FROM accounts WHERE aid = $1', [aid]);
    await client.query('INSERT INTO history (aid, delta) VALUES ($1, $2)', [aid, delta]);
    await client.query('COMMIT');
    await client.query('SELECT bid, abalance FROM accounts WHERE aid = $1', [
      1 + ((aid * 7) % ACCOUNTS),
    ]);
  }
  async function load(ms: number): Promise<number> {
    const until = Date.now() + ms;
    const counts = await Promise.all(
      clients.map(async (c) => {
        let n = 0;
        while (Date.now() < until) {
          await transaction(c);
          n += 1;
        }
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  // The sampler's own process, waiting for 'start'.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child'],
    {
      env: { ...process.env, BENCH_DB_URL: db, BENCH_LOG_FILE: server.logFile },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const answers = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ask = async (command?: string): Promise<string> => {
    if (command) child.stdin!.write(`${command}\n`);
    const next = await answers.next();
    if (next.done) throw new Error('the sampler process ended');
    return next.value;
  };
  const backendPid = Number((await ask()).split(' ')[1]);
  const durations: number[] = [];
  /** The sampler's backend's CPU (Linux /proc, clock ticks of 10 ms). */
  const backendCpuMs = () => processCpuMs(backendPid);
  /** The load's own CPU: its backends and this process (the clients). */
  const loadCpuMs = () => {
    const usage = process.cpuUsage();
    return (
      loadPids.reduce((sum, pid) => sum + processCpuMs(pid), 0) + (usage.user + usage.system) / 1000
    );
  };
  const cpuBefore = backendCpuMs();
  let loadCpu = 0;
  let loadWallMs = 0;

  await load(2000); // warm-up: caches, JIT of the driver, statement stats
  await withClient(db, async (c) => {
    await c.query('VACUUM ANALYZE accounts');
    await c.query('CHECKPOINT');
  });
  const results: { sampled: boolean; tps: number }[] = [];
  const order = Array.from({ length: rounds }, (_, i) => [false, true, true, false][i % 4]!);
  for (const [i, sampled] of order.entries()) {
    if (sampled) child.stdin!.write('start\n');
    const started = performance.now();
    const cpuAtStart = sampled ? 0 : loadCpuMs();
    const transactions = await load(seconds * 1000);
    const tps = transactions / ((performance.now() - started) / 1000);
    if (!sampled) {
      loadCpu += loadCpuMs() - cpuAtStart;
      loadWallMs += performance.now() - started;
    }
    if (sampled)
      durations.push(...(JSON.parse((await ask('stop')).slice('durations '.length)) as number[]));
    results.push({ sampled, tps });
    console.log(
      `round ${i + 1}: ${sampled ? 'with sampler   ' : 'without sampler'} ${tps.toFixed(1)} tx/s`,
    );
  }
  const serverCpuPerSample = (backendCpuMs() - cpuBefore) / durations.length;
  // The sampler process's own CPU per sample, measured back to back without load.
  const clientCpuPerSample = Number((await ask('cpu')).split(' ')[1]);
  child.stdin!.write('exit\n');
  await new Promise((resolve) => child.once('exit', resolve));
  await Promise.all(clients.map((c) => c.end()));

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const without = mean(results.filter((r) => !r.sampled).map((r) => r.tps));
  const withSampler = mean(results.filter((r) => r.sampled).map((r) => r.tps));
  const sorted = [...durations].sort((a, b) => a - b);
  const stats = await withClient(db, (c) =>
    c.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_stat_statements'),
  );
  console.log('');
  console.log(
    `load: ${clientCount} clients (${SERVICES.join(', ')}), ${rounds} rounds of ${seconds} s, ABBA order`,
  );
  console.log(`pg_stat_statements entries: ${stats.rows[0]!.n}`);
  console.log(`throughput without sampler: ${without.toFixed(1)} tx/s (raw Postgres through pg)`);
  console.log(`throughput with sampler at 1 Hz: ${withSampler.toFixed(1)} tx/s`);
  console.log(`ratio with/without: ${(withSampler / without).toFixed(4)} (goal >= 0.99)`);
  // ABBA order: each pair of adjacent rounds holds one of each; their ratios shrug off drift.
  const pairs: number[] = [];
  for (let i = 0; i + 1 < results.length; i += 2) {
    const [a, b] = [results[i]!, results[i + 1]!];
    pairs.push(a.sampled ? a.tps / b.tps : b.tps / a.tps);
  }
  const pairSorted = [...pairs].sort((x, y) => x - y);
  const pairMean = mean(pairs);
  const pairSe = Math.sqrt(
    pairs.reduce((a, r) => a + (r - pairMean) ** 2, 0) /
      Math.max(1, pairs.length - 1) /
      pairs.length,
  );
  console.log(
    `ratio per adjacent pair of rounds: ${pairs.map((r) => r.toFixed(3)).join(' ')}; median ${pairSorted[Math.floor(pairSorted.length / 2)]!.toFixed(4)}, mean ${pairMean.toFixed(4)} ± ${pairSe.toFixed(4)} (standard error: the noise floor of this run)`,
  );
  const low = pairMean - 1.96 * pairSe;
  const high = pairMean + 1.96 * pairSe;
  console.log(
    `95% confidence interval of the ratio: ${low.toFixed(4)} .. ${high.toFixed(4)}: ${
      low >= 0.99
        ? 'goal met (the whole interval is at or above 0.99)'
        : high < 0.99
          ? 'goal missed (the whole interval is below 0.99)'
          : `goal ${pairMean >= 0.99 ? 'met on the mean' : 'missed on the mean'}, within this run's noise (the interval spans 0.99)`
    }`,
  );
  console.log(
    `sampler CPU per sample: server ${serverCpuPerSample.toFixed(2)} ms (its backend, /proc), client ${clientCpuPerSample.toFixed(2)} ms (node): ${(((serverCpuPerSample + clientCpuPerSample) / 1000) * 100).toFixed(2)}% of one core at 1 Hz`,
  );
  const loadCpuPerSecond = (loadCpu / loadWallMs) * 1000;
  const samplerCpuPerSecond = serverCpuPerSample + clientCpuPerSample;
  console.log(
    `CPU the load used: ${loadCpuPerSecond.toFixed(0)} ms per second (its ${clientCount} backends and its client process); the sampler at 1 Hz: ${samplerCpuPerSecond.toFixed(1)} ms per second = ${((samplerCpuPerSecond / loadCpuPerSecond) * 100).toFixed(2)}% of it (a CPU-bound load loses about that share: ratio ≈ ${(1 - samplerCpuPerSecond / loadCpuPerSecond).toFixed(4)})`,
  );
  console.log(
    `sampler wall time per sample: mean ${mean(durations).toFixed(2)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms over ${durations.length} samples (${((mean(durations) / 1000) * 100).toFixed(2)}% of each 1 s interval)`,
  );
} finally {
  await server.destroy();
}
