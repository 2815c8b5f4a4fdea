import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PgpactError } from '../errors.js';
import { loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';
import { redactUrl, withClient } from '../postgres/client.js';
import type { CheckReport } from './api-types.js';
import { resolveToken } from './auth.js';
import { DashboardModel, type SectionLoaders } from './dashboard-model.js';
import { createDashboardHttpServer, type MetricsHandler } from './http-server.js';
import { loadCouplingMap } from './map-section.js';
import { MonitorConnection } from './monitor-connection.js';
import { MigrationsSection } from './migrations-section.js';
import {
  checkConnectedRole,
  ensureMonitorRole,
  grantPgpactSchema,
  MONITOR_ROLE,
} from './monitor-role.js';
import { FileLogSource } from '../runtime/log-source.js';
import { metricsHandler } from './metrics.js';
import { localServerCpus } from '../runtime/server-cpus.js';
import { openPoolConsole } from '../pool/pool-console.js';
import { manifestReplicas, openReplicas, type ReplicaAddress } from '../replica/open-replicas.js';
import { RuntimeSection } from './runtime-section.js';
import { loadWebAssets } from './static-assets.js';

/** Default port of `pgpact dashboard`. */
export const DEFAULT_DASHBOARD_PORT = 5480;

export interface DashboardOptions {
  /** A URL with the right to create the monitoring role (ignored when monitorUrl is given). */
  databaseUrl: string;
  /** Connect with this URL instead of creating pgpact_monitor (a role an admin prepared). */
  monitorUrl?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  intervalMs?: number;
  manifestFile?: string;
  usageFile?: string;
  checkReport?: CheckReport;
  /** The server's log file, for deadlocks with both sides named (default: none; deadlocks are then only counted). */
  logFile?: string;
  /** Overrides the /metrics handler. */
  metrics?: MetricsHandler;
  /** CPUs of the database server (default: this machine's when the server is local, else unknown). */
  serverCpus?: number;
  /** PgBouncer's admin console URL (default: the PgBouncer `pgpact pool start` runs under poolStateDir). */
  pgbouncerUrl?: string;
  /** Where `pgpact pool` keeps its state; without it and pgbouncerUrl, no pools are read. */
  poolStateDir?: string;
  /** Streaming replicas to watch with the primary (besides the manifest's `replicas:`). */
  replicas?: ReplicaAddress[];
}

/** A dashboard serving on a port. */
export interface RunningDashboard {
  /** The page's URL (without the token). */
  url: string;
  host: string;
  port: number;
  /** The role the dashboard reads as. */
  monitorRole: string;
  /** Whether this start created the monitoring role (it did not exist before). */
  monitorRoleCreated: boolean;
  model: DashboardModel;
  close(): Promise<void>;
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new PgpactError(
          'USAGE',
          `cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
          {
            hint:
              error.code === 'EADDRINUSE'
                ? 'pick another --port (0 takes any free one)'
                : 'check --host',
            cause: error,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function pageUrl(host: string, port: number): string {
  const shown = host.includes(':')
    ? `[${host}]`
    : host === '0.0.0.0' || host === '::'
      ? '127.0.0.1'
      : host;
  return `http://${shown}:${port}/`;
}

/**
 * Starts the dashboard: ensures the read-only monitoring role, connects as it (never as a
 * service's role), loads every section and serves the page, the API and /metrics.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = resolveToken(host, options.token);
  const intervalMs = options.intervalMs ?? 1000;
  if (!(intervalMs >= 100 && intervalMs <= 3_600_000)) {
    throw new PgpactError(
      'USAGE',
      `the sampling interval must be between 100ms and 1h, not ${intervalMs}ms`,
    );
  }
  const assets = loadWebAssets();
  const monitor =
    options.monitorUrl === undefined ? await ensureMonitorRole(options.databaseUrl) : undefined;
  const monitorUrl = options.monitorUrl ?? monitor!.url;
  const connection = new MonitorConnection(monitorUrl);
  let closePool = (): Promise<void> => Promise.resolve();
  // The sampler gets its own session: it may turn statement tracking off for itself.
  const samplerConnection = new MonitorConnection(monitorUrl, 'pgpact dashboard sampler');
  try {
    const role = await checkConnectedRole(connection);
    refuseUnsafeRole(role, options);
    const database = String(
      (await connection.query('SELECT current_database() AS name')).rows[0]!.name,
    );
    const pool =
      options.pgbouncerUrl !== undefined || options.poolStateDir !== undefined
        ? await openPoolConsole(
            options.poolStateDir ?? '',
            options.pgbouncerUrl,
            'pgpact dashboard sampler',
            options.databaseUrl,
          )
        : undefined;
    const loaded = optionalManifest(options.manifestFile);
    const replicas = await openReplicas(
      [...(options.replicas ?? []), ...manifestReplicas(loaded.manifest)],
      'pgpact dashboard sampler',
    ).catch(async (error) => {
      await pool?.client.end().catch(() => undefined);
      throw error;
    });
    closePool = async () => {
      await pool?.client.end().catch(() => undefined);
      await replicas.close();
    };
    const runtime = new RuntimeSection({
      connection: samplerConnection,
      ...(pool ? { pool } : {}),
      ...(replicas.targets.length > 0 ? { replicas: replicas.targets } : {}),
      ...loaded,
      ...(options.logFile === undefined ? {} : { log: new FileLogSource(options.logFile) }),
      intervalMs,
      hiddenRoles: [role.role],
      serverCpus: options.serverCpus ?? localServerCpus(monitorUrl),
    });
    const migrations = new MigrationsSection({
      connection,
      ...(options.manifestFile === undefined ? {} : { manifestFile: options.manifestFile }),
      // pgpact's schema may appear after the start (the first migrate start): the role this
      // dashboard created then gets SELECT on it from the admin URL it was started with.
      ...(options.monitorUrl === undefined
        ? {
            grantAccess: async () => {
              await withClient(options.databaseUrl, (c) => grantPgpactSchema(c, role.role), {
                applicationName: 'pgpact dashboard',
              });
            },
          }
        : {}),
    });
    const loaders: SectionLoaders = {
      runtime: () => runtime.tick(),
      migrations: () => migrations.load(),
      map: (checkReport) =>
        loadCouplingMap({
          connection,
          ...(options.manifestFile === undefined ? {} : { manifestFile: options.manifestFile }),
          ...(options.usageFile === undefined ? {} : { usageFile: options.usageFile }),
          ...(checkReport ? { checkReport } : {}),
          hiddenRoles: [role.role],
        }),
    };
    const model = new DashboardModel({
      database,
      intervalMs,
      loaders,
      ...(options.checkReport ? { checkReport: options.checkReport } : {}),
    });
    await model.start();
    const { server } = createDashboardHttpServer({
      model,
      assets,
      host,
      ...(token === undefined ? {} : { token }),
      metrics: options.metrics ?? mountMetrics(() => runtime.latest()),
    });
    let address: AddressInfo;
    try {
      address = await listen(server, host, options.port ?? DEFAULT_DASHBOARD_PORT);
    } catch (error) {
      model.close();
      throw error;
    }
    return {
      url: pageUrl(host, address.port),
      host,
      port: address.port,
      monitorRole: role.role,
      monitorRoleCreated: monitor?.created ?? false,
      model,
      async close() {
        model.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([connection.close(), samplerConnection.close(), closePool()]);
      },
    };
  } catch (error) {
    await Promise.all([connection.close(), samplerConnection.close(), closePool()]);
    throw error;
  }
}

/** The manifest for naming services in the runtime view; an unreadable one is reported by the map. */
function optionalManifest(file: string | undefined): { manifest?: Manifest } {
  if (file === undefined) return {};
  try {
    return { manifest: loadManifest(file) };
  } catch {
    return {};
  }
}

/** Adapts the runtime module's /metrics handler (which answers only its own path) to a route. */
function mountMetrics(latest: () => ReturnType<RuntimeSection['latest']>): MetricsHandler {
  const handle = metricsHandler(latest);
  return (req, res) => {
    handle(req, res);
  };
}

/** Refuses a monitoring connection with powers it must not have, or one using a service's role. */
function refuseUnsafeRole(
  role: Awaited<ReturnType<typeof checkConnectedRole>>,
  options: DashboardOptions,
): void {
  if (options.monitorUrl === undefined) return;
  const where = redactUrl(options.monitorUrl);
  if (role.superuser || role.createRole || role.bypassRls) {
    throw new PgpactError(
      'INSUFFICIENT_PRIVILEGE',
      `the monitoring URL ${where} logs in as ${role.role}, which has more than read access`,
      {
        hint: `use a role with only pg_monitor membership, e.g. let pgpact create ${MONITOR_ROLE} (omit --monitor-url)`,
      },
    );
  }
  if (options.manifestFile === undefined) return;
  let serviceRoles: string[] = [];
  try {
    serviceRoles = loadManifest(options.manifestFile).services.map((s) => s.role);
  } catch {
    return;
  }
  if (serviceRoles.includes(role.role)) {
    throw new PgpactError(
      'USAGE',
      `the monitoring URL ${where} logs in as ${role.role}, a service's role`,
      {
        hint: `the dashboard reads as a monitoring role, never as a service; omit --monitor-url to use ${MONITOR_ROLE}`,
      },
    );
  }
}
