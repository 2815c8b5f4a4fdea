import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { runAsIdentity } from '../postgres/local-server.js';
import { ensurePrivateDir } from '../private-files.js';
import type { PoolMode } from './pool-config.js';

/** What `pgpact pool` remembers about the PgBouncer it configured (<stateDir>/pool.json, 0600). */
export interface PoolState {
  version: 1;
  port: number;
  /** The folder holding pgbouncer.ini, userlist.txt, the log and the pid file. */
  dir: string;
  server: { host: string; port: number; database: string };
  monitorUser: string;
  poolMode: PoolMode;
  serverConnections: number;
}

/** The files of the PgBouncer pgpact runs. */
export interface PoolPaths {
  stateFile: string;
  dir: string;
  iniFile: string;
  authFile: string;
  logFile: string;
  pidFile: string;
}

/** Whether every ancestor of dir lets other users through (PgBouncer runs as `postgres` when pgpact is root). */
function ancestorsTraversable(dir: string): boolean {
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    if (fs.existsSync(parent) && (fs.statSync(parent).mode & 0o001) === 0) return false;
    if (parent === path.dirname(parent)) return true;
  }
}

/**
 * Where the PgBouncer files live: <stateDir>/pool, or, as root inside a private
 * directory the `postgres` OS user cannot reach, a per-state-dir folder in the temp directory.
 */
export function poolPaths(stateDir: string): PoolPaths {
  const resolved = path.resolve(stateDir);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const digest = createHash('sha256').update(resolved).digest('hex').slice(0, 12);
  const dir =
    !asRoot || ancestorsTraversable(path.join(resolved, 'pool'))
      ? path.join(resolved, 'pool')
      : path.join(os.tmpdir(), `pgpact-pool-${digest}`);
  return {
    stateFile: path.join(resolved, 'pool.json'),
    dir,
    iniFile: path.join(dir, 'pgbouncer.ini'),
    authFile: path.join(dir, 'userlist.txt'),
    logFile: path.join(dir, 'pgbouncer.log'),
    pidFile: path.join(dir, 'pgbouncer.pid'),
  };
}

/** The state `pgpact pool` wrote, or undefined when it never ran here. */
export function readPoolState(stateDir: string): PoolState | undefined {
  const file = poolPaths(stateDir).stateFile;
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PoolState;
  } catch (error) {
    throw new PgpactError('POOL_FAILED', `${file} is not valid JSON`, {
      hint: 'run pgpact pool again to rewrite it',
      cause: error,
    });
  }
}

/** Writes a file only its owner reads (0600), owned by the user PgBouncer runs as. */
export function writePrivateFile(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o600 });
  chownToServerUser(temp);
  fs.renameSync(temp, file);
  fs.chmodSync(file, 0o600);
}

/** Creates the pool folder (0700) for the user PgBouncer runs as. */
export function preparePoolDir(paths: PoolPaths, stateDir: string): void {
  // Not a recursive mkdir: it spins forever where mkdir keeps failing (e.g. under /proc).
  ensurePrivateDir(stateDir);
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.dir, 0o700);
  chownToServerUser(paths.dir);
  const who = runAsIdentity();
  // As root, the `postgres` user must pass through the state directory to reach pool/.
  if (who.uid !== undefined && path.dirname(paths.dir) === path.resolve(stateDir)) {
    const mode = fs.statSync(stateDir).mode & 0o777;
    if ((mode & 0o001) === 0) fs.chmodSync(stateDir, mode | 0o011);
  }
}

/** Saves the pool state (0600). */
export function writePoolState(stateDir: string, state: PoolState): void {
  const file = poolPaths(stateDir).stateFile;
  fs.writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function chownToServerUser(file: string): void {
  const who = runAsIdentity();
  if (who.uid !== undefined) fs.chownSync(file, who.uid, who.gid ?? who.uid);
}
