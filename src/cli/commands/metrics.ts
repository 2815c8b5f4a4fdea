import { PgpactError } from '../../errors.js';
import { monitorEvery, type RuntimeReport } from '../../runtime/monitor.js';
import { defaultStateDir } from '../../postgres/embedded.js';
import { StatementSnapshotKeeper } from '../../report/statement-snapshots.js';
import { serveMetrics } from '../../server/metrics.js';
import { type Command, EXIT } from '../command.js';
import { openMonitor, parseInterval } from './top.js';

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new PgpactError('USAGE', `--port ${JSON.stringify(text)} is not a TCP port`, {
      hint: 'use a number from 1 to 65535 (0 picks a free one)',
    });
  }
  return port;
}

/** `pgpact metrics`: a Prometheus endpoint with per-service gauges and counters. */
export const metricsCommand: Command = {
  name: 'metrics',
  summary: 'serve per-service runtime metrics for Prometheus at /metrics',
  usage: `pgpact metrics [--port 9187] [--host 127.0.0.1] [--interval 1s] [--log-file FILE] [--cpus N]
                      [--pgbouncer URL] [--replica URL]...

  Samples the database every interval (as pgpact top does) and serves the result at
  http://HOST:PORT/metrics in the Prometheus text format, every series labelled
  service="...": connections by state, connection limit, waiting sessions, oldest
  transaction, share of DB time, DB time and calls (counters), lock waits by waiting and
  holding service, deadlocks, findings, and the sampler's own duration.

  Once a minute it also appends pg_stat_statements' counters per role and statement to
  .pgpact/statement-snapshots.jsonl (0600, cut to its newer half past 20 MB, 7 days kept,
  texts carrying a password withheld), which pgpact report --since reads.

  --port N         TCP port (default 9187; 0 picks a free one)
  --host ADDR      address to bind (default 127.0.0.1: not reachable from other machines)
  --interval D     time between samples (default 1s)
  --log-file FILE  the server log, to name both services of deadlocks (see pgpact top)
  --cpus N         CPUs of the database server, for the noisy-neighbour finding (see pgpact top)
  --pgbouncer URL  PgBouncer's admin console: pgpact_pool_* series per service (see pgpact top)
  --replica URL    a streaming replica (repeatable): pgpact_replica_* series labelled
                   server="host:port" (see pgpact top)

  Runs until Ctrl-C.`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    interval: { type: 'string' },
    'log-file': { type: 'string' },
    cpus: { type: 'string' },
    pgbouncer: { type: 'string' },
    replica: { type: 'string', multiple: true },
  },
  async run({ values }, output, signal) {
    const intervalMs = parseInterval(typeof values.interval === 'string' ? values.interval : '1s');
    const port = parsePort(typeof values.port === 'string' ? values.port : '9187');
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    const opened = await openMonitor(values, 'pgpact metrics');
    let report: RuntimeReport | undefined;
    let error: string | undefined;
    const keeper = new StatementSnapshotKeeper({ stateDir: defaultStateDir() });
    let lastSnapshot = 0;
    try {
      const served = await serveMetrics({
        host,
        port,
        latest: () => ({ report, samplesTaken: opened.monitor.samplesTaken, error }),
      }).catch((e: NodeJS.ErrnoException) => {
        throw new PgpactError('USAGE', `cannot listen on ${host}:${port}: ${e.message}`, {
          hint: e.code === 'EADDRINUSE' ? 'another process uses the port: pass --port' : undefined,
          cause: e,
        });
      });
      output.out(
        `serving metrics of ${opened.target} at ${served.url} (every ${intervalMs} ms); Ctrl-C stops\n`,
      );
      try {
        await monitorEvery(
          opened.monitor,
          intervalMs,
          signal,
          (next) => {
            report = next;
            error = undefined;
            if (Date.now() - lastSnapshot >= 60_000) {
              lastSnapshot = Date.now();
              keeper.keep(opened.client).catch((e: Error) => {
                output.err(`pgpact metrics: snapshot not kept: ${e.message}\n`);
              });
            }
          },
          (e) => {
            error = (e as Error).message;
            output.err(`pgpact metrics: sampling failed: ${error}\n`);
          },
        );
      } finally {
        await served.close();
      }
      return EXIT.ok;
    } finally {
      await opened.close();
    }
  },
};
