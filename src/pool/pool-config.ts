import type { Manifest, Service } from '../manifest/types.js';
import type { PoolAuthEntry } from './auth-file.js';
import { formatAuthFile } from './auth-file.js';

/** How PgBouncer shares server connections between transactions or sessions. */
export type PoolMode = 'session' | 'transaction';

/** Where PgBouncer listens, what it fronts, and how big its pools are. */
export interface PoolSettings {
  listenPort: number;
  /** The Postgres server the pools connect to (host, port, database of the admin URL). */
  server: { host: string; port: number; database: string };
  /** Files PgBouncer reads and writes (absolute paths). */
  files: { authFile: string; logFile: string; pidFile: string };
  poolMode: PoolMode;
  /** Server connections of one service's pool when its limits say nothing. */
  defaultPoolSize: number;
  /**
   * Server connections all services share to the database (max_db_connections):
   * when one service's burst takes them, the others' clients wait.
   */
  serverConnections: number;
  /** Client connections PgBouncer accepts in all. */
  maxClientConnections: number;
  /** The PgBouncer-only user allowed to read SHOW POOLS/CLIENTS/STATS. */
  monitorUser: string;
}

/** The two files of a PgBouncer configuration. */
export interface PoolConfig {
  /** pgbouncer.ini */
  ini: string;
  /** userlist.txt: SCRAM verifiers only, never a password. */
  authFile: string;
  /** One pool per service role: the size each gets. */
  pools: { service: string; role: string; poolSize: number }[];
}

/** PgBouncer's ini values: a value may not span lines; names are kept to what Postgres allows. */
function iniValue(value: string): string {
  if (/[\n\r]/.test(value)) throw new Error(`PgBouncer setting contains a line break: ${value}`);
  return value;
}

/** A connection-string value in the [databases] section (libpq quoting). */
function connValue(value: string): string {
  return /^[A-Za-z0-9_.\-/]+$/.test(value)
    ? value
    : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A key of [databases] or [users]: quoted when not a plain word. */
function iniKey(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** The pool size of one service: its connection limit, else the default. */
export function poolSizeOf(service: Service, defaultPoolSize: number): number {
  return service.limits.connections ?? defaultPoolSize;
}

/**
 * Writes PgBouncer's configuration from the manifest: one pool per service role on the
 * admin URL's database, each no larger than the service's `connections` limit, all
 * sharing `serverConnections`; clients authenticate with SCRAM against the verifiers
 * Postgres stores, and PgBouncer logs in to Postgres with the client's own SCRAM proof.
 */
export function planPoolConfig(
  manifest: Manifest,
  settings: PoolSettings,
  auth: PoolAuthEntry[],
): PoolConfig {
  const pools = manifest.services.map((s) => ({
    service: s.name,
    role: s.role,
    poolSize: poolSizeOf(s, settings.defaultPoolSize),
  }));
  const { host, port, database } = settings.server;
  // PgBouncer 1.18 sizes pools per database only; the per-user cap makes each service's pool its own size.
  const users = pools.map((p) => `${iniKey(p.role)} = max_user_connections=${p.poolSize}`);
  const largest = Math.max(settings.defaultPoolSize, ...pools.map((p) => p.poolSize));
  const lines = [
    `; Written by pgpact pool from ${iniValue(manifest.file)}: one pool per service role.`,
    '; Regenerate it after pgpact apply changes a role or its password (pgpact pool).',
    '',
    '[databases]',
    `${iniKey(database)} = host=${connValue(host)} port=${port} dbname=${connValue(database)} pool_size=${largest} max_db_connections=${settings.serverConnections}`,
    '',
    '[users]',
    ...users,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${settings.listenPort}`,
    'unix_socket_dir =',
    'auth_type = scram-sha-256',
    `auth_file = ${iniValue(settings.files.authFile)}`,
    `pool_mode = ${settings.poolMode}`,
    `default_pool_size = ${settings.defaultPoolSize}`,
    `max_client_conn = ${settings.maxClientConnections}`,
    `stats_users = ${iniValue(settings.monitorUser)}`,
    `logfile = ${iniValue(settings.files.logFile)}`,
    `pidfile = ${iniValue(settings.files.pidFile)}`,
    'ignore_startup_parameters = extra_float_digits',
    'application_name_add_host = 0',
    'server_login_retry = 1',
    '',
  ];
  return { ini: lines.join('\n'), authFile: formatAuthFile(auth), pools };
}
