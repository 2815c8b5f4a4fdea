import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../../errors.js';
import { parseDuration } from '../../manifest/units.js';
import { redactUrl } from '../../postgres/client.js';
import { defaultStateDir, embeddedStatus, resolveDatabaseUrl } from '../../postgres/embedded.js';
import { parseCpus } from '../../runtime/server-cpus.js';
import { resolveToken } from '../../server/auth.js';
import { readCheckReportFile } from '../../server/check-report.js';
import { DEFAULT_DASHBOARD_PORT, startDashboard } from '../../server/dashboard.js';
import { MONITOR_ROLE } from '../../server/monitor-role.js';
import { type Command, EXIT } from '../command.js';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_DASHBOARD_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PgpactError('USAGE', `--port must be a port number from 0 to 65535, not ${value}`);
  }
  return port;
}

function parseInterval(value: string | undefined): number {
  if (value === undefined) return 1000;
  const parsed = parseDuration(value);
  if (!parsed.ok || parsed.value < 100) {
    throw new PgpactError(
      'USAGE',
      `--interval must be a duration of at least 100ms, like 1s or 500ms, not ${value}`,
      {
        ...(parsed.ok ? {} : { hint: parsed.hint }),
      },
    );
  }
  return parsed.value;
}

/** `pgpact dashboard`: the coupling map, migrations and runtime as a web page with a JSON API. */
export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'serve the web dashboard: coupling map, migrations, runtime, check reports; /metrics',
  usage: `pgpact dashboard [--port N] [--host H] [--token T] [--interval 1s] [--check-report FILE]
                        [--config F] [--database-url U] [--monitor-url U] [--log-file F] [--usage-file F]
                        [--cpus N] [--pgbouncer URL] [--replica URL]...

  Serves the page and its JSON API (/api/state, /api/map, /api/migrations, /api/runtime,
  /api/check-report, live updates on /api/events) and Prometheus metrics on /metrics.
  It reads as the monitoring role ${MONITOR_ROLE} (LOGIN, member of pg_monitor, SELECT on the
  pgpact schema, read-only by default), created or repaired with --database-url's role and a
  fresh random password on every start; never as a service's role.

  --port N             port (default ${DEFAULT_DASHBOARD_PORT}; 0 picks a free one)
  --host H             address to listen on (default 127.0.0.1). Any other address requires a
                       token: --token or PGPACT_DASHBOARD_TOKEN (at least 16 characters)
  --token T            require this token: Authorization: Bearer T, or open the page once
                       with ?token=T (it is then kept in an HttpOnly cookie)
  --interval D         runtime sampling interval (default 1s)
  --check-report FILE  show this \`pgpact check --format json\` report on the map
  --monitor-url U      connect with this URL (a read-only role an admin prepared) instead of
                       creating ${MONITOR_ROLE}
  --log-file F         the server's log, to name both sides of deadlocks (default: the
                       embedded server's log when no database URL is given)
  --usage-file F       observed usage snapshot (default .pgpact/usage.json)
  --cpus N             CPUs of the database server, for the noisy-neighbour finding (default:
                       this machine's when the server is local, else unknown)
  --pgbouncer URL      PgBouncer's admin console, for clients waiting per service and pool
                       findings (default: the PgBouncer pgpact pool start runs, if any)
  --replica URL        a streaming replica to watch too (repeatable; see pgpact top)`,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    token: { type: 'string' },
    interval: { type: 'string' },
    'check-report': { type: 'string' },
    'monitor-url': { type: 'string' },
    'log-file': { type: 'string' },
    'usage-file': { type: 'string' },
    cpus: { type: 'string' },
    pgbouncer: { type: 'string' },
    replica: { type: 'string', multiple: true },
  },
  async run({ values }, output, signal) {
    const port = parsePort(text(values.port));
    const intervalMs = parseInterval(text(values.interval));
    const token = text(values.token) ?? process.env.PGPACT_DASHBOARD_TOKEN;
    const host = text(values.host) ?? '127.0.0.1';
    // Refuse an unprotected public binding, or a bad flag, before starting or touching any database.
    resolveToken(host, token);
    const serverCpus = text(values.cpus) === undefined ? undefined : parseCpus(text(values.cpus)!);
    const checkReportFile = text(values['check-report']);
    const checkReport =
      checkReportFile === undefined ? undefined : readCheckReportFile(checkReportFile);
    const explicitUrl = text(values['database-url']) ?? process.env.DATABASE_URL;
    const databaseUrl = await resolveDatabaseUrl({
      databaseUrl: text(values['database-url']),
      embedded: 'running',
    });
    let logFile = text(values['log-file']);
    if (logFile === undefined && !explicitUrl) {
      const status = await embeddedStatus();
      if (fs.existsSync(status.logFile)) logFile = status.logFile;
    }
    const manifestFile = path.resolve(text(values.config) ?? 'pgpact.yaml');
    const dashboard = await startDashboard({
      databaseUrl,
      ...(text(values['monitor-url']) === undefined
        ? {}
        : { monitorUrl: text(values['monitor-url'])! }),
      host,
      port,
      ...(token === undefined || token === '' ? {} : { token }),
      intervalMs,
      manifestFile,
      usageFile: path.resolve(
        text(values['usage-file']) ?? path.join(defaultStateDir(), 'usage.json'),
      ),
      ...(checkReport ? { checkReport } : {}),
      ...(logFile === undefined ? {} : { logFile }),
      ...(serverCpus === undefined ? {} : { serverCpus }),
      ...(text(values.pgbouncer) === undefined ? {} : { pgbouncerUrl: text(values.pgbouncer)! }),
      poolStateDir: defaultStateDir(),
      ...(Array.isArray(values.replica)
        ? { replicas: values.replica.map((url) => ({ url })) }
        : {}),
    });
    output.out(
      `pgpact dashboard on ${dashboard.url}${token ? ' (token required)' : ''}\n` +
        `  database ${redactUrl(databaseUrl)} read as role ${dashboard.monitorRole}\n` +
        `  manifest ${fs.existsSync(manifestFile) ? manifestFile : `${manifestFile} (not found: ownership from schema owners)`}\n` +
        `  metrics  ${dashboard.url}metrics\n` +
        '  Ctrl-C stops it\n',
    );
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await dashboard.close();
    output.err('dashboard stopped\n');
    return EXIT.ok;
  },
};
