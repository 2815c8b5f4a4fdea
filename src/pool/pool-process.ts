import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { PgpactError } from '../errors.js';
import { urlWith } from '../postgres/client.js';
import { processAlive, runAsIdentity } from '../postgres/local-server.js';
import { rolePassword } from '../provision/credentials.js';
import { requirePgbouncer } from './pgbouncer-binary.js';
import { poolPaths, readPoolState } from './pool-files.js';
import { POOL_MONITOR_USER, poolAddress } from './write-pool.js';

const execFileAsync = promisify(execFile);

/** Whether the PgBouncer pgpact configured runs, and where. */
export interface PoolStatus {
  configured: boolean;
  running: boolean;
  pid?: number;
  port?: number;
  iniFile: string;
  logFile: string;
}

function runningPid(pidFile: string): number | undefined {
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

/** Reports whether PgBouncer is configured and runs. */
export function poolStatus(stateDir: string): PoolStatus {
  const paths = poolPaths(stateDir);
  const state = readPoolState(stateDir);
  const pid = runningPid(paths.pidFile);
  return {
    configured: state !== undefined && fs.existsSync(paths.iniFile),
    running: pid !== undefined,
    ...(pid === undefined ? {} : { pid }),
    ...(state === undefined ? {} : { port: state.port }),
    iniFile: paths.iniFile,
    logFile: paths.logFile,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function logTail(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(-12).join('\n') : '';
}

/**
 * Starts PgBouncer (daemonised, as the `postgres` OS user when pgpact runs as root) on the
 * configuration `pgpact pool` wrote; resolves once it accepts connections. A running one is kept.
 */
export async function startPool(stateDir: string): Promise<PoolStatus> {
  const status = poolStatus(stateDir);
  if (!status.configured || status.port === undefined) {
    throw new PgpactError('POOL_FAILED', 'PgBouncer is not configured here yet', {
      hint: 'run pgpact pool first: it writes the configuration from the manifest',
    });
  }
  if (status.running) return status;
  const binary = requirePgbouncer();
  const paths = poolPaths(stateDir);
  try {
    await execFileAsync(binary, ['-d', '-q', paths.iniFile], {
      ...runAsIdentity(),
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new PgpactError(
      'POOL_FAILED',
      `pgbouncer did not start: ${(e.stderr || e.message).trim()}`,
      {
        detail: logTail(paths.logFile),
        cause: error,
      },
    );
  }
  const deadline = Date.now() + 15_000;
  while (!(await accepts(status.port))) {
    if (Date.now() > deadline || (fs.existsSync(paths.pidFile) && !runningPid(paths.pidFile))) {
      throw new PgpactError(
        'POOL_FAILED',
        `pgbouncer does not accept connections on port ${status.port}`,
        {
          detail: logTail(paths.logFile),
          hint: 'see its log; another process may hold the port: pgpact pool --port N',
        },
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return poolStatus(stateDir);
}

/** Stops PgBouncer (SIGTERM: closes every connection at once); with remove, deletes its files too. */
export async function stopPool(stateDir: string, remove = false): Promise<boolean> {
  const paths = poolPaths(stateDir);
  const pid = runningPid(paths.pidFile);
  const removeFiles = () => {
    if (!remove) return;
    fs.rmSync(paths.dir, { recursive: true, force: true });
    fs.rmSync(paths.stateFile, { force: true });
  };
  if (pid === undefined) {
    removeFiles();
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  fs.rmSync(paths.pidFile, { force: true });
  removeFiles();
  return true;
}

/**
 * Makes a running PgBouncer reread its configuration and auth file (SIGHUP): pool sizes and
 * verifiers change at once; a new listen port needs a restart. False when it does not run.
 */
export function reloadPool(stateDir: string): boolean {
  const pid = runningPid(poolPaths(stateDir).pidFile);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGHUP');
  return true;
}

/** The admin-console URL of the PgBouncer `pgpact pool` configured (monitor user, database pgbouncer). */
export function poolConsoleUrl(stateDir: string): string | undefined {
  const state = readPoolState(stateDir);
  if (state === undefined) return undefined;
  const password = rolePassword(poolAddress(state.port), POOL_MONITOR_USER, stateDir);
  if (password === undefined) return undefined;
  return urlWith(poolAddress(state.port), { user: POOL_MONITOR_USER, password });
}

/** A service's URL through PgBouncer: the same user, password and database, PgBouncer's port. */
export function throughPool(serviceUrl: string, port: number): string {
  const url = new URL(serviceUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}
