import type { Manifest } from '../manifest/types.js';
import { withClient } from '../postgres/client.js';
import { freePort } from '../postgres/local-server.js';
import { newRolePassword, rolePassword, saveRolePasswords } from '../provision/credentials.js';
import { scramVerifier } from '../provision/scram.js';
import { readRoleVerifiers } from './auth-file.js';
import { type PoolConfig, type PoolMode, planPoolConfig, poolSizeOf } from './pool-config.js';
import {
  type PoolState,
  poolPaths,
  preparePoolDir,
  readPoolState,
  writePoolState,
  writePrivateFile,
} from './pool-files.js';

/** The PgBouncer-only user that reads the admin console (SHOW ...): not a Postgres role. */
export const POOL_MONITOR_USER = 'pgpact_pool_monitor';

/** Options of `pgpact pool` (writing the configuration). */
export interface WritePoolOptions {
  /** Superuser URL of the server the pools front (reads the roles' SCRAM verifiers). */
  adminUrl: string;
  manifest: Manifest;
  stateDir: string;
  /** Port PgBouncer listens on; default: the one used before, else a free one. */
  port?: number;
  poolMode?: PoolMode;
  /** Pool size of services without a `connections` limit. Default 5. */
  defaultPoolSize?: number;
  /** Server connections the services share; default: the sum of their pool sizes. */
  serverConnections?: number;
}

/** What `pgpact pool` wrote. */
export interface WrittenPool {
  state: PoolState;
  iniFile: string;
  authFile: string;
  pools: PoolConfig['pools'];
}

/** The key the monitor user's password is kept under in credentials.json: PgBouncer's address. */
export function poolAddress(port: number): string {
  return `postgresql://127.0.0.1:${port}/pgbouncer`;
}

/**
 * Writes pgbouncer.ini and userlist.txt (both 0600) from the manifest, and the monitor
 * user's password to credentials.json; returns what was written. PgBouncer, if running,
 * picks them up on restart.
 */
export async function writePoolConfig(options: WritePoolOptions): Promise<WrittenPool> {
  const { manifest, stateDir } = options;
  const paths = poolPaths(stateDir);
  const previous = readPoolState(stateDir);
  const port = options.port ?? previous?.port ?? (await freePort());
  const roles = manifest.services.map((s) => s.role);
  const verifiers = await withClient(options.adminUrl, (c) => readRoleVerifiers(c, roles), {
    applicationName: 'pgpact pool',
  });
  const address = poolAddress(port);
  let monitorPassword = rolePassword(address, POOL_MONITOR_USER, stateDir);
  if (monitorPassword === undefined) {
    const fresh = newRolePassword(POOL_MONITOR_USER);
    monitorPassword = fresh.password;
    if (fresh.generated)
      saveRolePasswords(address, { [POOL_MONITOR_USER]: monitorPassword }, stateDir);
  }
  const url = new URL(options.adminUrl);
  const server = {
    host: decodeURIComponent(url.hostname) || '127.0.0.1',
    port: Number(url.port || '5432'),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres',
  };
  const defaultPoolSize = options.defaultPoolSize ?? 5;
  const serverConnections =
    options.serverConnections ??
    manifest.services.reduce((sum, s) => sum + poolSizeOf(s, defaultPoolSize), 0);
  const poolMode = options.poolMode ?? 'transaction';
  const config = planPoolConfig(
    manifest,
    {
      listenPort: port,
      server,
      files: { authFile: paths.authFile, logFile: paths.logFile, pidFile: paths.pidFile },
      poolMode,
      defaultPoolSize,
      serverConnections,
      maxClientConnections: 1000,
      monitorUser: POOL_MONITOR_USER,
    },
    [...verifiers, { user: POOL_MONITOR_USER, verifier: scramVerifier(monitorPassword) }],
  );
  preparePoolDir(paths, stateDir);
  writePrivateFile(paths.authFile, config.authFile);
  writePrivateFile(paths.iniFile, config.ini);
  const state: PoolState = {
    version: 1,
    port,
    dir: paths.dir,
    server,
    monitorUser: POOL_MONITOR_USER,
    poolMode,
    serverConnections,
  };
  writePoolState(stateDir, state);
  return { state, iniFile: paths.iniFile, authFile: paths.authFile, pools: config.pools };
}
