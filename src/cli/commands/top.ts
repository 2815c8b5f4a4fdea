import fs from 'node:fs';
import type pg from 'pg';
import { PgpactError } from '../../errors.js';
import type { Manifest } from '../../manifest/types.js';
import { connect } from '../../postgres/client.js';
import { defaultStateDir, embeddedStatus, resolveDatabaseUrl } from '../../postgres/embedded.js';
import { FileLogSource, type LogSource, ServerLogSource } from '../../runtime/log-source.js';
import {
  type MonitorOptions,
  monitorEvery,
  type RuntimeReport,
  RuntimeMonitor,
  sleep,
} from '../../runtime/monitor.js';
import { openPoolConsole } from '../../pool/pool-console.js';
import { manifestReplicas, openReplicas } from '../../replica/open-replicas.js';
import { localServerCpus, parseCpus } from '../../runtime/server-cpus.js';
import { renderTop } from '../../runtime/top-view.js';
import { type Command, EXIT, type Output } from '../command.js';
import { loadManifestOption, manifestFile } from '../manifest-option.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** Reads `500ms`, `1s`, `2.5s`, `1min` or a bare number of seconds into milliseconds (50 ms .. 1 h). */
export function parseInterval(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m)?\s*$/.exec(text);
  const factor = { ms: 1, s: 1000, min: 60_000, m: 60_000 }[match?.[2] ?? 's'] ?? 1000;
  const ms = match ? Number(match[1]) * factor : Number.NaN;
  if (!Number.isFinite(ms) || ms < 50 || ms > 3_600_000) {
    throw new PgpactError(
      'USAGE',
      `--interval ${JSON.stringify(text)} is not a duration from 50ms to 1h`,
      {
        hint: 'write e.g. 1s, 500ms, 2.5s or 1min',
      },
    );
  }
  return ms;
}

/** The manifest from --config, else ./pgpact.yaml when present, else none (roles are services). */
export function optionalManifest(values: Values): Manifest | undefined {
  if (typeof values.config === 'string') return loadManifestOption(values);
  return fs.existsSync(manifestFile(values)) ? loadManifestOption(values) : undefined;
}

/** The server log to read: --log-file, the embedded server's log, or the server's own via SQL if permitted. */
async function logSourceFor(
  values: Values,
  embedded: boolean,
  client: pg.Client,
): Promise<LogSource | undefined> {
  if (typeof values['log-file'] === 'string') return FileLogSource.open(values['log-file']);
  if (embedded) {
    const status = await embeddedStatus(defaultStateDir());
    return fs.existsSync(status.logFile) ? FileLogSource.open(status.logFile) : undefined;
  }
  return (await ServerLogSource.readable(client)) ? new ServerLogSource(client) : undefined;
}

/** A running monitor on its own connection, and how to close it. */
export interface OpenedMonitor {
  monitor: RuntimeMonitor;
  target: string;
  close(): Promise<void>;
}

/** Connects the monitoring session, finds the manifest and the log, and creates the monitor. */
export async function openMonitor(
  values: Values,
  applicationName: string,
  options: Partial<Pick<MonitorOptions, 'statementDetailIntervalMs' | 'logEventsSince'>> = {},
): Promise<OpenedMonitor> {
  const manifest = optionalManifest(values);
  const replicaUrls = Array.isArray(values.replica) ? values.replica : [];
  const addresses = [...replicaUrls.map((url) => ({ url })), ...manifestReplicas(manifest)];
  const cpus = typeof values.cpus === 'string' ? parseCpus(values.cpus) : undefined;
  const explicit =
    typeof values['database-url'] === 'string' ? values['database-url'] : process.env.DATABASE_URL;
  const url = await resolveDatabaseUrl({
    databaseUrl: typeof values['database-url'] === 'string' ? values['database-url'] : undefined,
    embedded: 'running',
  });
  const client = await connect(url, { applicationName });
  const pgbouncer = typeof values.pgbouncer === 'string' ? values.pgbouncer : undefined;
  const pool = await openPoolConsole(defaultStateDir(), pgbouncer, applicationName, url).catch(
    async (error) => {
      await client.end().catch(() => undefined);
      throw error;
    },
  );
  const replicas = await openReplicas(addresses, applicationName).catch(async (error) => {
    await client.end().catch(() => undefined);
    await pool?.client.end().catch(() => undefined);
    throw error;
  });
  const closeAll = async () => {
    await client.end().catch(() => undefined);
    await pool?.client.end().catch(() => undefined);
    await replicas.close();
  };
  try {
    const log = await logSourceFor(values, explicit === undefined || explicit === '', client);
    const serverCpus = cpus ?? localServerCpus(url);
    const monitor = await RuntimeMonitor.create(client, {
      manifest,
      log,
      serverCpus,
      ...(pool ? { pool } : {}),
      ...(replicas.targets.length > 0 ? { replicas: replicas.targets } : {}),
      ...options,
    });
    const parsed = new URL(url);
    return {
      monitor,
      target: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The report as JSON for scripts, narrowed to one service when asked. */
function reportJson(report: RuntimeReport, service: string | undefined): unknown {
  if (service === undefined) return { version: 1, ...report };
  const { sample } = report;
  return {
    version: 1,
    service,
    ...report,
    sample: {
      ...sample,
      services: sample.services.filter((s) => s.service === service),
      sessions: sample.sessions.filter((s) => s.service === service),
      lockWaits: sample.lockWaits.filter(
        (w) => w.waiting.service === service || w.holding.some((h) => h.service === service),
      ),
      topStatements: sample.topStatements.filter((s) => s.service === service),
    },
    findings: report.findings.filter((f) => f.parties.some((p) => p.service === service)),
    deadlocks: report.deadlocks.filter((d) => d.services.includes(service)),
  };
}

const ESC = '\x1b[';

/** `pgpact top`: the live per-service view of the database. */
export const topCommand: Command = {
  name: 'top',
  summary: 'live per-service view: connections, DB time, lock waits, deadlocks, findings',
  usage: `pgpact top [--interval 1s] [--service NAME] [--once] [--json] [--log-file FILE] [--cpus N]
                  [--pgbouncer URL] [--replica URL]...

  One row per service (connections/limit, active, idle in transaction, waiting, oldest
  transaction, share of database time, mean statement time, top statement), the current
  lock waits with the waiting and the holding service, deadlocks from the server log with
  both services named, and findings (noisy neighbour, idle-in-transaction blocker,
  connection limit, lock wait, deadlock). Services come from the manifest (--config, or
  ./pgpact.yaml when present); without one, each role is a service.

  --interval D     time between samples: 500ms, 1s (default), 2.5s, 1min
  --service NAME   drill down into one service: its sessions, statements and waits
  --once           sample twice (one interval apart), print once and exit:
                   exit 1 when a finding is a warning, else 0; log events (deadlocks, lock
                   waits, timeouts) count only when logged inside that window
  --json           print the report as JSON (with --once: one object; else one per line)
  --log-file FILE  the server log (stderr, csvlog or jsonlog); default: the embedded
                   server's log, or the server's current log file via SQL when permitted
  --cpus N         CPUs of the database server (default: this machine's when the server is
                   local, else unknown): a service keeping them all busy starves the others
  --pgbouncer URL  PgBouncer's admin console (database pgbouncer, a stats user): clients
                   waiting per service, longest wait, pool saturation, pool findings;
                   default: the PgBouncer pgpact pool start runs, if any
  --replica URL    a streaming replica to watch too (repeatable; superuser or pg_monitor):
                   lag, sessions and DB time per service there (server=host:port), the
                   transaction holding back the primary's xmin through hot_standby_feedback,
                   recovery-conflict cancellations per service (its log, read via SQL)

  The monitoring role needs superuser or pg_monitor. Ctrl-C exits.`,
  options: {
    interval: { type: 'string' },
    service: { type: 'string' },
    once: { type: 'boolean' },
    json: { type: 'boolean' },
    'log-file': { type: 'string' },
    cpus: { type: 'string' },
    pgbouncer: { type: 'string' },
    replica: { type: 'string', multiple: true },
  },
  async run({ values }, output, signal) {
    const intervalMs = parseInterval(typeof values.interval === 'string' ? values.interval : '1s');
    const service = typeof values.service === 'string' ? values.service : undefined;
    // --once has two samples: both must read per-statement counters for a top statement;
    // and it reports only the log events of its own window, not the log's past.
    const opened = await openMonitor(
      values,
      'pgpact top',
      values.once ? { statementDetailIntervalMs: 0, logEventsSince: 'first-sample' } : {},
    );
    try {
      const manifest = opened.monitor.sampler.manifest;
      if (service !== undefined && manifest && !manifest.services.some((s) => s.name === service)) {
        const known = manifest.services.map((s) => s.name).join(', ');
        output.err(
          `pgpact top: no service ${JSON.stringify(service)} in ${manifest.file} (services: ${known})\n`,
        );
        return EXIT.invalid;
      }
      if (values.once)
        return await once(opened, intervalMs, service, values.json === true, output, signal);
      return await live(opened, intervalMs, service, values.json === true, output, signal);
    } finally {
      await opened.close();
    }
  },
};

async function once(
  opened: OpenedMonitor,
  intervalMs: number,
  service: string | undefined,
  json: boolean,
  output: Output,
  signal: AbortSignal,
): Promise<number> {
  await opened.monitor.tick();
  await sleep(intervalMs, signal);
  const report = await opened.monitor.tick();
  if (json) output.out(`${JSON.stringify(reportJson(report, service), null, 2)}\n`);
  else {
    const history = opened.monitor.sampler.history;
    output.out(
      `${renderTop(report, { width: 200, service, target: opened.target, intervalMs, history })}\n`,
    );
  }
  return report.findings.some((f) => f.severity !== 'info') ? EXIT.problem : EXIT.ok;
}

async function live(
  opened: OpenedMonitor,
  intervalMs: number,
  service: string | undefined,
  json: boolean,
  output: Output,
  signal: AbortSignal,
): Promise<number> {
  const screen = output.isTTY && !json;
  if (screen) output.out(`${ESC}?1049h${ESC}?25l`);
  let failures = 0;
  try {
    await monitorEvery(
      opened.monitor,
      intervalMs,
      signal,
      (report) => {
        failures = 0;
        if (json) {
          output.out(`${JSON.stringify(reportJson(report, service))}\n`);
          return;
        }
        const width = screen ? (process.stdout.columns ?? 120) : 200;
        const history = opened.monitor.sampler.history;
        const frame = renderTop(report, {
          width,
          service,
          target: opened.target,
          intervalMs,
          history,
        });
        const footer = screen ? '\nCtrl-C to exit' : '';
        if (screen)
          output.out(`${ESC}H${`${frame}${footer}`.split('\n').join(`${ESC}K\n`)}${ESC}K${ESC}J`);
        else output.out(`${frame}\n\n`);
      },
      (error) => {
        failures += 1;
        const message = `sampling failed (${failures}): ${(error as Error).message}`;
        if (screen) output.out(`${ESC}H${message}${ESC}K`);
        else output.err(`pgpact top: ${message}\n`);
        if (failures >= 5) throw error;
      },
    );
  } finally {
    if (screen) output.out(`${ESC}?25h${ESC}?1049l`);
  }
  return EXIT.ok;
}
