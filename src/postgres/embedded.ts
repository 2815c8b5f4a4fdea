import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { ensurePrivateDir, writePrivateFile } from '../private-files.js';
import { withClient } from './client.js';
import { checkDatabaseUrl } from './connection-failure.js';
import {
  binariesMajorVersion,
  clusterRunning,
  embeddedBinaries,
  freePort,
  initCluster,
  processAlive,
  serverUrl,
  startCluster,
  stopCluster,
} from './local-server.js';

/** What pgpact remembers about the persistent embedded server under .pgpact/ (file mode 0600). */
interface EmbeddedState {
  port: number;
  password: string;
  majorVersion: number;
}

/** Where the persistent embedded server lives: `.pgpact/` in the working directory unless PGPACT_HOME says otherwise. */
export function defaultStateDir(): string {
  return process.env.PGPACT_HOME ?? path.resolve('.pgpact');
}

/**
 * The server's files live in <stateDir>/server. As root, the server runs as the `postgres`
 * OS user, which could only reach them if the state directory let others through; it stays
 * 0700, so then they live in a per-state-dir folder under the system temp directory instead
 * (a server made under <stateDir>/server by an earlier version is kept there).
 */
function statePaths(stateDir: string) {
  const stateFile = path.join(stateDir, 'server.json');
  const inside = path.join(stateDir, 'server');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot) return { stateFile, rootDir: inside, legacy: false };
  if (
    fs.existsSync(path.join(inside, 'data', 'PG_VERSION')) &&
    ancestorsTraversable(path.resolve(stateDir))
  )
    return { stateFile, rootDir: inside, legacy: true };
  const digest = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
  return {
    stateFile,
    rootDir: path.join(os.tmpdir(), `pgpact-home-${digest}`, 'server'),
    legacy: false,
  };
}

/** The data directory and log of the persistent embedded server of a state directory. */
export function embeddedServerFiles(stateDir = defaultStateDir()): {
  dataDir: string;
  logFile: string;
} {
  const { rootDir } = statePaths(stateDir);
  return { dataDir: path.join(rootDir, 'data'), logFile: path.join(rootDir, 'postgres.log') };
}

function readState(stateDir: string): EmbeddedState | undefined {
  const { stateFile } = statePaths(stateDir);
  if (!fs.existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as EmbeddedState;
  } catch (error) {
    throw new PgpactError(
      'EMBEDDED_SERVER_FAILED',
      `${stateFile} cannot be read: ${(error as Error).message}`,
      {
        hint: `pgpact db stop --remove deletes the embedded Postgres and ${stateFile}; then pgpact db start makes a new one`,
        cause: error,
      },
    );
  }
}

/**
 * As root, the server runs as the `postgres` OS user, which must be able to reach
 * its data directory: give the state directory search (not read) permission.
 * Secrets in it stay 0600.
 */
function makeTraversable(dir: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const mode = fs.statSync(dir).mode & 0o777;
  if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o011);
}

/** Whether every ancestor of dir lets other users through (needed when the server runs as `postgres`). */
function ancestorsTraversable(dir: string): boolean {
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    if (fs.existsSync(parent) && (fs.statSync(parent).mode & 0o001) === 0) return false;
    if (parent === path.dirname(parent)) return true;
  }
}

function writeState(stateDir: string, state: EmbeddedState): void {
  writePrivateFile(statePaths(stateDir).stateFile, JSON.stringify(state, null, 2));
}

/** In a server folder under the temp directory: the state directory it belongs to. */
const OWNER_FILE = 'state-dir';

/**
 * Removes server folders under the temp directory whose state directory is gone (deleted
 * with its project, e.g. by a test) and whose server does not run: nobody can reach them.
 */
function removeOrphanedServerDirs(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => /^pgpact-home-[0-9a-f]{12}$/.test(e));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    try {
      // A folder another pgpact process is setting up right now has no server.json yet.
      if (Date.now() - fs.statSync(dir).mtimeMs < 10 * 60_000) continue;
      const owner = fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8');
      if (fs.existsSync(path.join(owner, 'server.json'))) continue;
      const pidFile = path.join(dir, 'server', 'data', 'postmaster.pid');
      const pid = fs.existsSync(pidFile)
        ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
        : 0;
      if (pid > 0 && processAlive(pid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // No owner file (an older version's) or unreadable: leave it.
    }
  }
}

/** Status of the persistent embedded server. */
export interface EmbeddedStatus {
  initialised: boolean;
  running: boolean;
  port?: number;
  majorVersion?: number;
  dataDir: string;
  logFile: string;
}

/** Reports whether the embedded server exists and runs. */
export async function embeddedStatus(stateDir = defaultStateDir()): Promise<EmbeddedStatus> {
  const { rootDir, legacy } = statePaths(stateDir);
  if (legacy) makeTraversable(stateDir);
  const state = readState(stateDir);
  const binaries = await embeddedBinaries();
  const running = state !== undefined && (await clusterRunning(binaries, rootDir));
  return {
    initialised: state !== undefined && fs.existsSync(path.join(rootDir, 'data', 'PG_VERSION')),
    running,
    port: state?.port,
    majorVersion: state?.majorVersion,
    dataDir: path.join(rootDir, 'data'),
    logFile: path.join(rootDir, 'postgres.log'),
  };
}

/**
 * Starts the persistent embedded server on demand and returns its superuser URL.
 * A server left behind by a killed process is reused if it answers, restarted if not.
 */
export async function ensureEmbeddedServer(stateDir = defaultStateDir()): Promise<string> {
  // First, so that an unusable PGPACT_HOME fails at once and says so.
  ensurePrivateDir(stateDir);
  const binaries = await embeddedBinaries();
  const { rootDir, legacy } = statePaths(stateDir);
  if (legacy) makeTraversable(stateDir);
  let state = readState(stateDir);
  if (state === undefined || !fs.existsSync(path.join(rootDir, 'data', 'PG_VERSION'))) {
    fs.rmSync(rootDir, { recursive: true, force: true });
    ensurePrivateDir(path.dirname(rootDir));
    makeTraversable(path.dirname(rootDir));
    if (!legacy && rootDir !== path.join(stateDir, 'server')) {
      removeOrphanedServerDirs();
      fs.writeFileSync(path.join(path.dirname(rootDir), OWNER_FILE), path.resolve(stateDir), {
        mode: 0o600,
      });
    }
    const { password } = await initCluster(binaries, rootDir);
    state = {
      port: await freePort(),
      password,
      majorVersion: await binariesMajorVersion(binaries),
    };
    writeState(stateDir, state);
  }
  const url = serverUrl(state.port, state.password);
  if (await clusterRunning(binaries, rootDir)) {
    const answers = await withClient(url, async (c) => c.query('SELECT 1'), {
      connectTimeoutMs: 3000,
    }).then(
      () => true,
      () => false,
    );
    if (answers) return url;
    await stopCluster(binaries, rootDir, 'immediate');
  }
  try {
    await startCluster(binaries, rootDir, state.port);
  } catch {
    // The remembered port may be taken now: pick another once.
    state = { ...state, port: await freePort() };
    writeState(stateDir, state);
    await startCluster(binaries, rootDir, state.port);
  }
  const readyUrl = serverUrl(state.port, state.password);
  await withClient(readyUrl, (c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
  return readyUrl;
}

/** Stops the persistent embedded server (data kept) or, with remove, deletes it too. */
export async function stopEmbeddedServer(
  stateDir = defaultStateDir(),
  remove = false,
): Promise<boolean> {
  const binaries = await embeddedBinaries();
  const { rootDir, stateFile, legacy } = statePaths(stateDir);
  // pg_ctl runs as the `postgres` OS user: a server kept inside the state folder needs a way in.
  if (legacy) makeTraversable(stateDir);
  const wasRunning = await clusterRunning(binaries, rootDir);
  await stopCluster(binaries, rootDir, 'fast');
  if (remove) {
    fs.rmSync(rootDir, { recursive: true, force: true });
    if (path.basename(path.dirname(rootDir)).startsWith('pgpact-home-'))
      fs.rmSync(path.dirname(rootDir), { recursive: true, force: true });
    fs.rmSync(stateFile, { force: true });
  }
  return wasRunning;
}

/**
 * The URL of the embedded server for a command that only reads: it must exist and run.
 * Throws EMBEDDED_SERVER_MISSING (saying how to point at a database) rather than creating
 * or starting one: an empty new database would only hide that the command looked elsewhere.
 */
export async function runningEmbeddedUrl(stateDir = defaultStateDir()): Promise<string> {
  const how = 'pass --database-url URL (or set DATABASE_URL) to use your database';
  const state = readState(stateDir);
  const status = state === undefined ? undefined : await embeddedStatus(stateDir);
  if (state === undefined || !status?.initialised) {
    throw new PgpactError(
      'EMBEDDED_SERVER_MISSING',
      `no embedded Postgres here (${path.resolve(stateDir)} has none) and no database URL given`,
      {
        hint: `${how}, or create the embedded one with pgpact db start (PGPACT_HOME picks another state directory)`,
      },
    );
  }
  if (!status.running) {
    throw new PgpactError(
      'EMBEDDED_SERVER_MISSING',
      `the embedded Postgres under ${path.resolve(stateDir)} is stopped`,
      {
        hint: `start it with pgpact db start; or ${how}`,
      },
    );
  }
  return serverUrl(state.port, state.password);
}

/**
 * The database URL a command uses: --database-url, else DATABASE_URL, else the embedded
 * server. `embedded: 'create'` (commands that provision: apply, migrate) creates and starts
 * it when needed; `'running'` (commands that only read) uses it only if it runs already.
 */
export async function resolveDatabaseUrl(options: {
  databaseUrl?: string;
  stateDir?: string;
  embedded?: 'create' | 'running';
}): Promise<string> {
  const explicit = options.databaseUrl ?? process.env.DATABASE_URL;
  if (explicit !== undefined && explicit !== '') {
    checkDatabaseUrl(explicit, options.databaseUrl ? '--database-url' : 'DATABASE_URL');
    return explicit;
  }
  if (options.embedded === 'running') return runningEmbeddedUrl(options.stateDir);
  return ensureEmbeddedServer(options.stateDir);
}
