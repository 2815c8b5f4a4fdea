import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { withClient } from './client.js';
import {
  binariesMajorVersion,
  clusterRunning,
  embeddedBinaries,
  freePort,
  initCluster,
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

function statePaths(stateDir: string) {
  return { stateFile: path.join(stateDir, 'server.json'), rootDir: path.join(stateDir, 'server') };
}

function readState(stateDir: string): EmbeddedState | undefined {
  const { stateFile } = statePaths(stateDir);
  if (!fs.existsSync(stateFile)) return undefined;
  return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as EmbeddedState;
}

function writeState(stateDir: string, state: EmbeddedState): void {
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(statePaths(stateDir).stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
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
  const { rootDir } = statePaths(stateDir);
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
  const binaries = await embeddedBinaries();
  const { rootDir } = statePaths(stateDir);
  let state = readState(stateDir);
  if (state === undefined || !fs.existsSync(path.join(rootDir, 'data', 'PG_VERSION'))) {
    fs.rmSync(rootDir, { recursive: true, force: true });
    fs.mkdirSync(stateDir, { recursive: true });
    const { password } = await initCluster(binaries, rootDir);
    state = { port: await freePort(), password, majorVersion: await binariesMajorVersion(binaries) };
    writeState(stateDir, state);
  }
  const url = serverUrl(state.port, state.password);
  if (await clusterRunning(binaries, rootDir)) {
    const answers = await withClient(url, async (c) => c.query('SELECT 1'), { connectTimeoutMs: 3000 }).then(
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
export async function stopEmbeddedServer(stateDir = defaultStateDir(), remove = false): Promise<boolean> {
  const binaries = await embeddedBinaries();
  const { rootDir, stateFile } = statePaths(stateDir);
  const wasRunning = await clusterRunning(binaries, rootDir);
  await stopCluster(binaries, rootDir, 'fast');
  if (remove) {
    fs.rmSync(rootDir, { recursive: true, force: true });
    fs.rmSync(stateFile, { force: true });
  }
  return wasRunning;
}

/** The database URL a command uses: --database-url, else DATABASE_URL, else the embedded server. */
export async function resolveDatabaseUrl(options: { databaseUrl?: string; stateDir?: string }): Promise<string> {
  const explicit = options.databaseUrl ?? process.env.DATABASE_URL;
  if (explicit !== undefined && explicit !== '') {
    try {
      new URL(explicit);
    } catch {
      throw new PgpactError('USAGE', 'the database URL is not a valid URL', {
        hint: 'use the form postgresql://user:password@host:5432/dbname',
      });
    }
    return explicit;
  }
  return ensureEmbeddedServer(options.stateDir);
}
