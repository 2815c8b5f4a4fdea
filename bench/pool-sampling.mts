/**
 * bench/pool-sampling: what does watching a primary, one streaming replica and PgBouncer
 * cost? A steady pgbench-like load runs through PgBouncer (as services reach the database
 * there) for several rounds, alternately without and with the runtime monitor sampling
 * the primary, the replica and PgBouncer's admin console at 1 Hz in its own process
 * (exactly what `pgpact top --replica URL` runs while `pgpact pool` runs). Rounds go in
 * ABBA order so drift hits both sides alike. Prints the throughput of each side, their
 * ratio (goal: at least 0.98): the pair ratios' median, mean and 95% confidence interval.
 *
 * Round-to-round noise (±5–10 % on a shared machine) is larger than the effect, so a CPU
 * cross-check follows that does not depend on throughput: the sampler's cost per tick for
 * each target (its own process, its backend on the primary, its backend on the replica,
 * PgBouncer; utime + stime from /proc, measured over 50 ticks back to back with no load),
 * their sum at 1 Hz as a share of the CPU the load used (the whole machine's busy CPU from
 * /proc/stat during the rounds without sampler). A CPU-bound load loses about that share.
 * The sampler's process and backends are also measured during the sampled rounds, at the
 * real pace and under load: that counts what back-to-back ticks leave out (the every-5-s
 * read of the statement counters, the first tick after each pause, the process's work
 * between ticks such as garbage collection), so the two shares bracket the cost.
 *
 * PostgreSQL 15 from /usr/lib/postgresql/15/bin (pg_basebackup makes the replica) and
 * pgbouncer must be installed.
 *
 *   npx tsx bench/pool-sampling.mts [--seconds 6] [--rounds 12] [--clients 4]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseManifest } from '../src/manifest/load.js';
import { poolConsoleUrl, startPool, stopPool, throughPool } from '../src/pool/pool-process.js';
import { writePoolConfig } from '../src/pool/write-pool.js';
import { urlWith, withClient } from '../src/postgres/client.js';
import { quoteIdent, quoteLiteral } from '../src/postgres/quote.js';
import { startThrowawayServer, systemBinaries } from '../src/postgres/local-server.js';
import { startThrowawayStandby } from '../src/replica/throwaway-standby.js';
import { monitorEvery, RuntimeMonitor, sleep } from '../src/runtime/monitor.js';
import { machineCpuMs, processCpuMs } from './proc-cpu.mjs';

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '12' },
    clients: { type: 'string', default: '4' },
  },
});
/** Ticks of the 'cpu' command: /proc counts CPU in clock ticks of 10 ms, 0.2 ms per tick over 50. */
const CPU_TICKS = 50;
if (values.child) {
  await samplerChild();
  process.exit(0);
}

/**
 * The sampler in its own process: primary, replica and PgBouncer; commands on stdin
 * (start, stop, cpu, exit). It answers `ready <primary backend pid> <replica backend pid>`.
 */
async function samplerChild(): Promise<void> {
  const connect = async (url: string) => {
    const client = new pg.Client({ connectionString: url, application_name: 'pgpact bench' });
    await client.connect();
    return client;
  };
  const primary = await connect(process.env.BENCH_DB_URL!);
  const replica = await connect(process.env.BENCH_REPLICA_URL!);
  const pool = await connect(process.env.BENCH_POOL_URL!);
  const manifest = parseManifest(process.env.BENCH_MANIFEST!, '/bench/pgpact.yaml');
  const monitor = await RuntimeMonitor.create(primary, {
    manifest,
    pool: { client: pool, target: 'pgbouncer' },
    replicas: [{ server: 'replica', client: replica }],
  });
  const backendPid = async (client: pg.Client) =>
    (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  process.stdout.write(`ready ${await backendPid(primary)} ${await backendPid(replica)}\n`);
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  let controller: AbortController | undefined;
  let loop: Promise<void> = Promise.resolve();
  let durations: number[] = [];
  let cpuAtStart = 0;
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'start') {
      controller = new AbortController();
      durations = [];
      cpuAtStart = cpuMs();
      const signal = controller.signal;
      loop = sleep(500, signal).then(() =>
        monitorEvery(monitor, 1000, signal, (r) => {
          if (r.pool?.error || r.replicas?.[0]?.error)
            throw new Error(r.pool?.error ?? r.replicas?.[0]?.error ?? '');
          durations.push(r.sample.sampleDurationMs);
        }),
      );
    } else if (line === 'stop') {
      controller?.abort();
      await loop;
      process.stdout.write(
        `stopped ${JSON.stringify({ durations, cpuMs: cpuMs() - cpuAtStart })}\n`,
      );
    } else if (line === 'cpu') {
      const ticks = CPU_TICKS;
      const before = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < ticks; i += 1) await monitor.tick();
      const used = process.cpuUsage(before);
      process.stdout.write(
        `cpu ${(used.user + used.system) / 1000 / ticks} ${(performance.now() - started) / ticks}\n`,
      );
    } else if (line === 'exit') break;
  }
  await Promise.all([primary.end(), replica.end(), pool.end()]);
}

const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const clientCount = Number(values.clients);
const SERVICES = ['users', 'invoicing', 'reporting'];
const ACCOUNTS = 50_000;

const binaries = systemBinaries('/usr/lib/postgresql/15/bin');
if (!binaries) throw new Error('PostgreSQL 15 is not installed in /usr/lib/postgresql/15/bin');
const server = await startThrowawayServer({
  binaries,
  prefix: 'pgpact',
  settings: { autovacuum: 'off', checkpoint_timeout: '1h', max_wal_size: '10GB' },
});
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-pool-'));
let standby: Awaited<ReturnType<typeof startThrowawayStandby>> | undefined;
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
  });
  standby = await startThrowawayStandby(server, { hot_standby_feedback: 'on' });
  const manifestText = `version: 1\nservices:\n${SERVICES.map((s) => `  ${s}: { limits: { connections: ${clientCount} } }`).join('\n')}\n`;
  const manifest = parseManifest(manifestText, path.join(stateDir, 'pgpact.yaml'));
  const written = await writePoolConfig({ adminUrl: db, manifest, stateDir });
  const pgbouncerPid = (await startPool(stateDir)).pid!;

  // One client per worker, each a service of its own role, through PgBouncer.
  const clients = await Promise.all(
    Array.from({ length: clientCount }, async (_, i) => {
      const role = SERVICES[i % SERVICES.length]!;
      const client = new pg.Client({
        connectionString: throughPool(
          urlWith(db, { user: role, password: passwords.get(role)! }),
          written.state.port,
        ),
        application_name: `${role}-${i}`,
      });
      await client.connect();
      return client;
    }),
  );
  async function transaction(client: pg.Client): Promise<void> {
    const aid = 1 + Math.floor(Math.random() * ACCOUNTS);
    const delta = Math.floor(Math.random() * 10_000) - 5000;
    await client.query('BEGIN');
    await client.query('UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
    await client.query('SELECT abalance FROM accounts WHERE aid = $1', [aid]);
    await client.query('INSERT INTO history (aid, delta) VALUES ($1, $2)', [aid, delta]);
    await client.query('COMMIT');
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

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child'],
    {
      env: {
        ...process.env,
        BENCH_DB_URL: db,
        BENCH_REPLICA_URL: urlWith(standby.url, { database: 'bench' }),
        BENCH_POOL_URL: poolConsoleUrl(stateDir)!,
        BENCH_MANIFEST: manifestText,
      },
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
  const [primaryPid, replicaPid] = (await ask()).split(' ').slice(1).map(Number) as [
    number,
    number,
  ];
  /** The CPU so far of the sampler's two backends and of PgBouncer, in ms (/proc). */
  const targetsCpuMs = () => ({
    primary: processCpuMs(primaryPid),
    replica: processCpuMs(replicaPid),
    pgbouncer: processCpuMs(pgbouncerPid),
  });
  await load(2000); // warm-up
  const durations: number[] = [];
  // During the sampled rounds: the sampler process's and its backends' CPU at the real pace.
  const during = { sampler: 0, primary: 0, replica: 0 };
  // During the rounds without sampler: the whole machine's CPU, the load's.
  const quiet = { busy: 0, total: 0, wallMs: 0 };
  const results: { sampled: boolean; tps: number }[] = [];
  const order = Array.from({ length: rounds }, (_, i) => [false, true, true, false][i % 4]!);
  for (const [i, sampled] of order.entries()) {
    const targetsBefore = targetsCpuMs();
    const machineBefore = machineCpuMs();
    if (sampled) child.stdin!.write('start\n');
    const started = performance.now();
    const transactions = await load(seconds * 1000);
    const wallMs = performance.now() - started;
    const tps = transactions / (wallMs / 1000);
    if (sampled) {
      const stopped = JSON.parse((await ask('stop')).slice('stopped '.length)) as {
        durations: number[];
        cpuMs: number;
      };
      durations.push(...stopped.durations);
      const targetsAfter = targetsCpuMs();
      during.sampler += stopped.cpuMs;
      during.primary += targetsAfter.primary - targetsBefore.primary;
      during.replica += targetsAfter.replica - targetsBefore.replica;
    } else {
      const machineAfter = machineCpuMs();
      quiet.busy += machineAfter.busy - machineBefore.busy;
      quiet.total += machineAfter.total - machineBefore.total;
      quiet.wallMs += wallMs;
    }
    results.push({ sampled, tps });
    console.log(
      `round ${i + 1}: ${sampled ? 'with sampler   ' : 'without sampler'} ${tps.toFixed(1)} tx/s`,
    );
  }
  // The sampler's cost per tick, back to back with no load running: its process (node's
  // own count) and, from /proc, its backends on the primary and the replica and PgBouncer.
  const targetsBefore = targetsCpuMs();
  const [, samplerMs, wallMs] = (await ask('cpu')).split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  const targetsAfter = targetsCpuMs();
  const perTick = {
    sampler: samplerMs,
    primary: (targetsAfter.primary - targetsBefore.primary) / CPU_TICKS,
    replica: (targetsAfter.replica - targetsBefore.replica) / CPU_TICKS,
    pgbouncer: (targetsAfter.pgbouncer - targetsBefore.pgbouncer) / CPU_TICKS,
  };
  child.stdin!.write('exit\n');
  await new Promise((resolve) => child.once('exit', resolve));
  await Promise.all(clients.map((c) => c.end()));

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const without = mean(results.filter((r) => !r.sampled).map((r) => r.tps));
  const withSampler = mean(results.filter((r) => r.sampled).map((r) => r.tps));
  const pairs: number[] = [];
  for (let i = 0; i + 1 < results.length; i += 2) {
    const [a, b] = [results[i]!, results[i + 1]!];
    pairs.push(a.sampled ? a.tps / b.tps : b.tps / a.tps);
  }
  const pairSorted = [...pairs].sort((x, y) => x - y);
  const pairMedian =
    pairSorted.length % 2 === 1
      ? pairSorted[(pairSorted.length - 1) / 2]!
      : (pairSorted[pairSorted.length / 2 - 1]! + pairSorted[pairSorted.length / 2]!) / 2;
  const pairMean = mean(pairs);
  const pairSe = Math.sqrt(
    pairs.reduce((a, r) => a + (r - pairMean) ** 2, 0) /
      Math.max(1, pairs.length - 1) /
      pairs.length,
  );
  const low = pairMean - 1.96 * pairSe;
  const high = pairMean + 1.96 * pairSe;
  console.log('');
  console.log(
    `load: ${clientCount} clients (${SERVICES.join(', ')}) through PgBouncer (${written.state.poolMode} pooling), ${rounds} rounds of ${seconds} s, ABBA order; sampled: primary + 1 streaming replica + PgBouncer admin console`,
  );
  console.log(`throughput without sampler: ${without.toFixed(1)} tx/s`);
  console.log(`throughput with sampler at 1 Hz: ${withSampler.toFixed(1)} tx/s`);
  console.log(`ratio with/without: ${(withSampler / without).toFixed(4)} (goal >= 0.98)`);
  console.log(
    `ratio per adjacent pair: ${pairs.map((r) => r.toFixed(3)).join(' ')}; median ${pairMedian.toFixed(4)}, mean ${pairMean.toFixed(4)}, 95% confidence interval ${low.toFixed(4)} .. ${high.toFixed(4)}: ${
      low >= 0.98
        ? 'goal met (the whole interval is at or above 0.98)'
        : high < 0.98
          ? 'goal missed (the whole interval is below 0.98)'
          : `goal ${pairMean >= 0.98 ? 'met on the mean' : 'missed on the mean'}, within this run's noise (the interval spans 0.98)`
    }`,
  );
  const sorted = [...durations].sort((a, b) => a - b);
  console.log(
    `sampler wall time per tick: ${wallMs.toFixed(2)} ms back to back; during the rounds: primary sample median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} ms over ${durations.length} ticks`,
  );
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const tickSum = perTick.sampler + perTick.primary + perTick.replica + perTick.pgbouncer;
  console.log(
    `sampler CPU per tick (${CPU_TICKS} ticks back to back, no load; backends and PgBouncer from /proc in 10 ms clock ticks, so ±${(10 / CPU_TICKS).toFixed(1)} ms each): sampler process ${ms(perTick.sampler)}, primary backend ${ms(perTick.primary)}, replica backend ${ms(perTick.replica)}, PgBouncer ${ms(perTick.pgbouncer)}; sum ${ms(tickSum)}`,
  );
  const ticksDuring = durations.length;
  const paced = {
    sampler: during.sampler / ticksDuring,
    primary: during.primary / ticksDuring,
    replica: during.replica / ticksDuring,
  };
  const pacedSum = paced.sampler + paced.primary + paced.replica + perTick.pgbouncer;
  console.log(
    `the same during the sampled rounds (${ticksDuring} ticks at 1 Hz under load, backends ±${(10 / ticksDuring).toFixed(1)} ms each; counts the first tick after each pause and the process's work between ticks, which back to back leaves out; PgBouncer cannot be told apart from the load there, its figure above is used): sampler process ${ms(paced.sampler)}, primary backend ${ms(paced.primary)}, replica backend ${ms(paced.replica)}; sum ${ms(pacedSum)}`,
  );
  const cores = os.cpus().length;
  const loadCpuPerSecond = (quiet.busy / quiet.wallMs) * 1000;
  const share = tickSum / loadCpuPerSecond;
  const pacedShare = pacedSum / loadCpuPerSecond;
  console.log(
    `CPU the load used: ${loadCpuPerSecond.toFixed(0)} ms per second (the whole machine's busy CPU from /proc/stat over the ${order.filter((sampled) => !sampled).length} rounds without sampler: ${cores} cores, ${((quiet.busy / quiet.total) * 100).toFixed(0)}% busy; anything else running on the machine counts as load too)`,
  );
  console.log(
    `the sampler at 1 Hz: ${tickSum.toFixed(1)} ms per second = ${(share * 100).toFixed(2)}% of it back to back, ${pacedSum.toFixed(1)} ms per second = ${(pacedShare * 100).toFixed(2)}% during the sampled rounds (a CPU-bound load loses about that share: ratio ≈ 1 - share = ${(1 - share).toFixed(4)} .. ${(1 - pacedShare).toFixed(4)})`,
  );
} finally {
  await stopPool(stateDir, true).catch(() => undefined);
  fs.rmSync(stateDir, { recursive: true, force: true });
  await standby?.destroy();
  await server.destroy();
}
