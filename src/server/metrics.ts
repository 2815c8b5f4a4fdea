import http from 'node:http';
import type { PoolSample } from '../pool/types.js';
import type { ReplicaSample } from '../replica/types.js';
import type { RuntimeReport } from '../runtime/monitor.js';
import { hostHeaderIsLocal, isLoopbackHost } from './auth.js';

/**
 * The Prometheus text exposition (format 0.0.4) of the runtime monitor: per-service
 * gauges and counters labelled `service="..."`. Served by `pgpact metrics` and,
 * through metricsHandler, by the dashboard.
 */

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

type Labels = Record<string, string>;

/** Collects metric families and renders them in the text format. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number][]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      this.lines.push(
        `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`,
      );
    }
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** Renders one monitor report as Prometheus text. */
export function renderMetrics(report: RuntimeReport, samplesTaken?: number): string {
  const { sample } = report;
  const services = sample.services;
  const per = (value: (s: (typeof services)[number]) => number | null) =>
    services.flatMap((s): [Labels, number][] => {
      const v = value(s);
      return v === null ? [] : [[{ service: s.service }, v]];
    });
  const e = new Exposition();
  e.family('pgpact_up', 'gauge', 'Whether the last sample of the database succeeded.', [[{}, 1]]);
  e.family(
    'pgpact_service_info',
    'gauge',
    'Services seen, their login role and how sessions were attributed (manifest-role, application-name, role, unknown-role).',
    services.map((s) => [
      { service: s.service, role: s.roles[0] ?? '', attribution: s.attribution },
      1,
    ]),
  );
  e.family(
    'pgpact_service_connections',
    'gauge',
    'Connections of the service by state.',
    services.flatMap((s): [Labels, number][] =>
      (
        [
          ['active', s.connections.active],
          ['idle', s.connections.idle],
          ['idle_in_transaction', s.connections.idleInTransaction],
          ['other', s.connections.other],
        ] as const
      ).map(([state, n]) => [{ service: s.service, state }, n]),
    ),
  );
  e.family(
    'pgpact_service_connection_limit',
    'gauge',
    'The CONNECTION LIMIT of the service role (absent when unlimited).',
    per((s) => s.connectionLimit),
  );
  e.family(
    'pgpact_service_connection_limit_used',
    'gauge',
    'Sessions of the service role counted against its connection limit.',
    per((s) => s.limitUsed),
  );
  e.family(
    'pgpact_service_waiting_sessions',
    'gauge',
    'Sessions of the service waiting for a lock.',
    per((s) => s.waiting),
  );
  e.family(
    'pgpact_service_busy_processes',
    'gauge',
    'Processes of the service on a CPU or waiting for one: active sessions and parallel workers without a wait event.',
    per((s) => s.busyProcesses),
  );
  e.family(
    'pgpact_service_parallel_workers',
    'gauge',
    'Parallel workers of the service queries (not counted against its connection limit).',
    per((s) => s.parallelWorkers),
  );
  e.family(
    'pgpact_service_longest_transaction_seconds',
    'gauge',
    'Age of the oldest open transaction of the service (0 when none).',
    per((s) => (s.longestTransactionMs ?? 0) / 1000),
  );
  e.family(
    'pgpact_service_db_time_share',
    'gauge',
    'Share of database time of the service in the last interval (0..1).',
    per((s) => s.dbTimeShare),
  );
  e.family(
    'pgpact_service_db_time_seconds_total',
    'counter',
    'Database time of the service since pgpact started: completed statements plus running ones.',
    per((s) => s.totals.dbTimeMs / 1000),
  );
  e.family(
    'pgpact_service_calls_total',
    'counter',
    'Statements the service completed since pgpact started (pg_stat_statements).',
    per((s) => s.totals.calls),
  );
  e.family(
    'pgpact_service_lock_waits_total',
    'counter',
    'Lock waits in which the service waited, since pgpact started.',
    per((s) => s.totals.lockWaits),
  );
  e.family(
    'pgpact_service_deadlocks_total',
    'counter',
    'Deadlocks the service took part in, named from the server log, since pgpact started.',
    per((s) => s.totals.deadlocks),
  );
  const pairs = new Map<string, { labels: Labels; count: number; maxMs: number }>();
  for (const w of sample.lockWaits) {
    for (const h of w.holding.length > 0 ? w.holding : [undefined]) {
      const labels = { waiting_service: w.waiting.service, holding_service: h?.service ?? '' };
      const key = JSON.stringify(labels);
      const pair = pairs.get(key) ?? { labels, count: 0, maxMs: 0 };
      pair.count += 1;
      pair.maxMs = Math.max(pair.maxMs, w.waitedMs);
      pairs.set(key, pair);
    }
  }
  e.family(
    'pgpact_lock_waits',
    'gauge',
    'Sessions waiting for a lock now, by waiting and holding service.',
    [...pairs.values()].map((p) => [p.labels, p.count]),
  );
  e.family(
    'pgpact_lock_wait_seconds_max',
    'gauge',
    'Longest current lock wait, by waiting and holding service.',
    [...pairs.values()].map((p) => [p.labels, p.maxMs / 1000]),
  );
  e.family(
    'pgpact_deadlocks_total',
    'counter',
    'Deadlocks counted by pg_stat_database (all databases).',
    [[{}, sample.deadlocks.total]],
  );
  e.family(
    'pgpact_connections',
    'gauge',
    'Client connections of the server (the sampler excluded).',
    [[{}, sample.totalConnections]],
  );
  e.family('pgpact_max_connections', 'gauge', 'The server max_connections.', [
    [{}, sample.maxConnections],
  ]);
  const findings = new Map<string, { labels: Labels; count: number }>();
  for (const f of report.findings) {
    const key = `${f.kind}\u0000${f.severity}`;
    const item = findings.get(key) ?? { labels: { kind: f.kind, severity: f.severity }, count: 0 };
    item.count += 1;
    findings.set(key, item);
  }
  e.family(
    'pgpact_findings',
    'gauge',
    'Runtime findings now, by kind and severity.',
    [...findings.values()].map((f) => [f.labels, f.count]),
  );
  // One series per noisy → slowed pair, so an alert can name both services.
  const noisyPairs = report.findings.flatMap((f) =>
    f.noisyNeighbour
      ? f.noisyNeighbour.slowed.map((v) => ({ noisy: f.noisyNeighbour!.noisy, slowed: v }))
      : [],
  );
  e.family(
    'pgpact_noisy_neighbour',
    'gauge',
    'Noisy-neighbour findings now: 1 per noisy service and service it slowed.',
    noisyPairs.map((p) => [{ noisy_service: p.noisy, slowed_service: p.slowed.service }, 1]),
  );
  e.family(
    'pgpact_noisy_neighbour_slowdown_ratio',
    'gauge',
    "The slowed service's mean statement time while the noisy one was loud, divided by its own baseline.",
    noisyPairs
      .filter((p) => p.slowed.meanStatementMs && p.slowed.meanStatementMs.before > 0)
      .map((p) => [
        { noisy_service: p.noisy, slowed_service: p.slowed.service },
        p.slowed.meanStatementMs!.after / p.slowed.meanStatementMs!.before,
      ]),
  );
  e.family(
    'pgpact_noisy_neighbour_throughput_ratio',
    'gauge',
    "The slowed service's calls per second while the noisy one was loud, divided by its own baseline.",
    noisyPairs
      .filter((p) => p.slowed.callsPerSecond && p.slowed.callsPerSecond.before > 0)
      .map((p) => [
        { noisy_service: p.noisy, slowed_service: p.slowed.service },
        p.slowed.callsPerSecond!.after / p.slowed.callsPerSecond!.before,
      ]),
  );
  if (report.pool) renderPoolMetrics(e, report.pool);
  if (report.replicas) renderReplicaMetrics(e, report.replicas);
  e.family('pgpact_sampler_duration_seconds', 'gauge', 'What the last sample took to collect.', [
    [{}, sample.sampleDurationMs / 1000],
  ]);
  if (samplesTaken !== undefined) {
    e.family('pgpact_samples_total', 'counter', 'Samples taken since pgpact started.', [
      [{}, samplesTaken],
    ]);
  }
  return e.toString();
}

/** PgBouncer's pools per service (from its admin console). */
function renderPoolMetrics(e: Exposition, pool: PoolSample): void {
  const per = (value: (s: PoolSample['services'][number]) => number | null) =>
    pool.services.flatMap((s): [Labels, number][] => {
      const v = value(s);
      return v === null ? [] : [[{ service: s.service }, v]];
    });
  e.family('pgpact_pool_up', 'gauge', "Whether PgBouncer's admin console could be read.", [
    [{}, pool.error === null ? 1 : 0],
  ]);
  e.family(
    'pgpact_pool_clients_waiting',
    'gauge',
    'Clients of the service waiting in PgBouncer for a server connection.',
    per((s) => s.clientsWaiting),
  );
  e.family(
    'pgpact_pool_clients_active',
    'gauge',
    'Clients of the service linked to a server connection or idle in PgBouncer.',
    per((s) => s.clientsActive),
  );
  e.family(
    'pgpact_pool_longest_wait_seconds',
    'gauge',
    'How long the oldest waiting client of the service has waited (0 when none).',
    per((s) => s.longestWaitMs / 1000),
  );
  e.family(
    'pgpact_pool_server_connections',
    'gauge',
    'Server connections the service pool holds.',
    per((s) => s.serversHeld),
  );
  e.family(
    'pgpact_pool_saturation',
    'gauge',
    'Server connections held over the service pool size (0..1; absent when the size is unknown).',
    per((s) => s.saturation),
  );
  e.family(
    'pgpact_pool_database_server_connections',
    'gauge',
    'Server connections of a database and the maximum its pools share (0: unlimited).',
    pool.databases.flatMap((d): [Labels, number][] => [
      [{ database: d.database, kind: 'current' }, d.currentConnections],
      [{ database: d.database, kind: 'max' }, d.maxConnections],
    ]),
  );
}

/** Each replica, labelled server="host:port": lag, feedback, and per service sessions, DB time, conflicts. */
function renderReplicaMetrics(e: Exposition, replicas: ReplicaSample[]): void {
  const per = (value: (r: ReplicaSample) => number | null) =>
    replicas.flatMap((r): [Labels, number][] => {
      const v = value(r);
      return v === null ? [] : [[{ server: r.server }, v]];
    });
  const perService = (
    value: (s: NonNullable<ReplicaSample['sample']>['services'][number]) => number,
  ) =>
    replicas.flatMap((r): [Labels, number][] =>
      (r.sample?.services ?? [])
        .filter((s) => s.attribution !== 'background')
        .map((s) => [{ server: r.server, service: s.service }, value(s)]),
    );
  e.family('pgpact_replica_up', 'gauge', 'Whether the last sample of the replica succeeded.', [
    ...per((r) => (r.error === null ? 1 : 0)),
  ]);
  e.family(
    'pgpact_replica_lag_bytes',
    'gauge',
    'WAL the replica has yet to replay, against the primary current position.',
    per((r) => r.lagBytes),
  );
  e.family(
    'pgpact_replica_replay_delay_seconds',
    'gauge',
    'Time since the last transaction the replica replayed was committed on the primary.',
    per((r) => (r.replayDelayMs === null ? null : r.replayDelayMs / 1000)),
  );
  e.family(
    'pgpact_replica_hot_standby_feedback',
    'gauge',
    'Whether the replica sends hot_standby_feedback (its snapshots hold back the primary xmin).',
    per((r) => (r.error === null ? (r.hotStandbyFeedback ? 1 : 0) : null)),
  );
  e.family(
    'pgpact_replica_service_sessions',
    'gauge',
    'Sessions of the service on the replica.',
    perService((s) => s.connections.total),
  );
  e.family(
    'pgpact_replica_service_db_time_seconds_total',
    'counter',
    'Database time of the service on the replica since pgpact started.',
    perService((s) => s.totals.dbTimeMs / 1000),
  );
  e.family(
    'pgpact_replica_xmin_holdback_seconds',
    'gauge',
    'Age of the replica transaction with the oldest snapshot, by service, when the replica sends hot_standby_feedback.',
    replicas.flatMap((r): [Labels, number][] => {
      const s = r.oldestSnapshot;
      if (!r.hotStandbyFeedback || s === null || s.transactionMs === null) return [];
      return [[{ server: r.server, service: s.service }, s.transactionMs / 1000]];
    }),
  );
  e.family(
    'pgpact_replica_recovery_conflicts_total',
    'counter',
    'Queries of the service the replica cancelled for recovery conflicts (from its log), since pgpact started.',
    replicas.flatMap((r): [Labels, number][] =>
      Object.entries(r.conflictsByService).map(([service, n]) => [
        { server: r.server, service },
        n,
      ]),
    ),
  );
}

/** The content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * A request handler for GET/HEAD /metrics; returns false for other paths so a
 * larger server (the dashboard) can route them. Answers 503 until the first sample.
 */
export function metricsHandler(
  latest: () => { report: RuntimeReport | undefined; samplesTaken?: number; error?: string },
  path = '/metrics',
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    const { report, samplesTaken, error } = latest();
    if (!report) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
      res.end(`no sample yet${error ? `: ${error}` : ''}\n`);
      return true;
    }
    const body = renderMetrics(report, samplesTaken);
    const up = error ? body.replace(/^pgpact_up 1$/m, 'pgpact_up 0') : body;
    res.writeHead(200, {
      'content-type': METRICS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(up),
    });
    res.end(req.method === 'HEAD' ? undefined : up);
    return true;
  };
}

/**
 * Starts an HTTP server answering /metrics (404 elsewhere); resolves once it listens.
 * Bound to a loopback address, it answers only requests whose Host header names this
 * machine (as the tokenless dashboard does), so a web page cannot read it through DNS rebinding.
 */
export async function serveMetrics(options: {
  host: string;
  port: number;
  latest: Parameters<typeof metricsHandler>[0];
}): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const handle = metricsHandler(options.latest);
  const loopback = isLoopbackHost(options.host);
  const server = http.createServer((req, res) => {
    if (loopback && !hostHeaderIsLocal(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        'forbidden: these metrics only answer to localhost names (bind --host to serve others)\n',
      );
      return;
    }
    if (handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: metrics are at /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
