import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Manifest } from '../manifest/types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { withClient } from '../postgres/client.js';
import {
  embeddedBinaries,
  freePort,
  type ServerBinaries,
  serverUrl,
  startCluster,
  startThrowawayServer,
  stopCluster,
} from '../postgres/local-server.js';
import {
  type BaseFile,
  buildShadowBase,
  SHADOW_SERVER_SETTINGS,
  type ShadowDatabase,
} from './shadow.js';
import { displayPath } from './migration-file.js';

/**
 * The warm shadow: a throwaway server whose base schema was built once is stopped and
 * its data directory kept under .pgpact/shadow-base/<key>/ (folders 0700, the superuser
 * password 0600). The key hashes everything the base depends on: each base file's path,
 * role and content, the manifest's services, roles, schemas and enforcement, the server's
 * version and pgpact's. A later check with the same key starts a copy of it instead of
 * building again; any other key builds, so a changed base file is always picked up.
 */

const execFileAsync = promisify(execFile);

/** Bump when what the shadow base holds, or how it is built, changes (2: tables of owns: patterns go to their owners; 3: partitions too; 4: an owned schema the database has, public, goes to its owner before the base files, and the key holds the enforcement of services owning schemas). */
const FORMAT = 4;
/** Small WAL segments, few of them kept: the snapshot copied on every warm check stays small. */
const INITDB_ARGS = ['--wal-segsize=1'];
const SETTINGS: Record<string, string> = {
  ...SHADOW_SERVER_SETTINGS,
  min_wal_size: '2MB',
  max_wal_size: '64MB',
};
/** Snapshots kept; the least recently used go first. */
const KEEP = 3;

/**
 * Where throwaway shadows go: shared memory (/dev/shm) when it has room, as the shadow is
 * copied in and deleted on every check and never needs the disk; else the temp directory.
 */
export function shadowParentDir(bytesNeeded: number): string | undefined {
  const shm = '/dev/shm';
  try {
    fs.accessSync(shm, fs.constants.W_OK | fs.constants.X_OK);
    const stats = fs.statfsSync(shm);
    const free = stats.bavail * stats.bsize;
    return free >= Math.max(1024 ** 3, 4 * bytesNeeded) ? shm : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of the files under dir. */
function treeSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += treeSize(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
}

/** Whether the shadow base was reused, and if not, why it was built. */
export interface ShadowBaseReuse {
  /** reused: started from a snapshot; built: built now and kept for later checks; uncached: built, not kept. */
  state: 'reused' | 'built' | 'uncached';
  /** The snapshot's key (base files, manifest, server and pgpact versions). */
  key?: string;
  /** Why it was built: no snapshot yet, which base files changed, or why nothing was kept. */
  reason?: string;
}

/** What the key is made of; stored next to the snapshot to say later what changed. */
interface BaseInputs {
  format: number;
  pgpact: string;
  server: string;
  settings: Record<string, string>;
  initdb: string[];
  services: {
    name: string;
    role: string;
    owns: string[];
    ownsTables?: string[];
    enforcement?: string;
  }[];
  files: { path: string; role: string | null; sha256: string }[];
}

let pgpactVersion: string | undefined;

/** The version in pgpact's own package.json (from sources or from dist/). */
function ownVersion(): string {
  pgpactVersion ??= findOwnVersion();
  return pgpactVersion;
}

function findOwnVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pgpact') return pkg.version ?? '0';
    }
    const parent = path.dirname(dir);
    if (parent === dir) return '0';
    dir = parent;
  }
}

const serverVersions = new Map<string, string>();

async function serverVersion(binaries: ServerBinaries): Promise<string> {
  let version = serverVersions.get(binaries.postgres);
  if (version === undefined) {
    const { stdout } = await execFileAsync(binaries.postgres, ['--version']);
    version = `${binaries.postgres} ${stdout.trim()}`;
    serverVersions.set(binaries.postgres, version);
  }
  return version;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function baseInputs(
  manifest: Manifest,
  files: BaseFile[],
  root: string,
  binaries: ServerBinaries,
): Promise<BaseInputs> {
  return {
    format: FORMAT,
    pgpact: ownVersion(),
    server: await serverVersion(binaries),
    settings: SETTINGS,
    initdb: INITDB_ARGS,
    // Table patterns change the base (their owners may create in the shared schema); listed
    // only when present so that manifests without them keep their cache keys.
    services: manifest.services.map((s) => ({
      name: s.name,
      role: s.role,
      owns: [...s.owns],
      ...(s.ownsTables.length > 0 ? { ownsTables: s.ownsTables.map((p) => p.text) } : {}),
      // What PUBLIC may still create in a schema the database has (public before PG 15).
      ...(s.owns.length > 0 ? { enforcement: s.enforcement } : {}),
    })),
    files: files.map((f) => ({
      path: displayPath(f.path, root),
      role: f.role ?? null,
      sha256: sha256(fs.readFileSync(f.path)),
    })),
  };
}

/** Says what differs between the inputs of the latest snapshot and these. */
function whatChanged(previous: BaseInputs | undefined, now: BaseInputs): string {
  if (previous === undefined) return 'no snapshot of this base yet';
  if (previous.server !== now.server) return 'the Postgres server changed';
  if (previous.pgpact !== now.pgpact || previous.format !== now.format) return 'pgpact was updated';
  const before = new Map(previous.files.map((f) => [f.path, f]));
  const after = new Map(now.files.map((f) => [f.path, f]));
  const changed: string[] = [];
  for (const [p, f] of after) {
    const old = before.get(p);
    if (!old) changed.push(`${p} (new)`);
    else if (old.sha256 !== f.sha256 || old.role !== f.role) changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) changed.push(`${p} (gone)`);
  if (changed.length > 0) {
    const shown = changed.slice(0, 5).join(', ');
    return `base files changed: ${shown}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`;
  }
  if (JSON.stringify(previous.services) !== JSON.stringify(now.services))
    return "the manifest's services, roles, schemas or enforcement changed";
  return 'the order of the base files changed';
}

interface Snapshot {
  dir: string;
  inputs: BaseInputs;
  password: string;
  /** Bytes of its data directory. */
  bytes: number;
}

/** The base's catalog, read once when the snapshot was made: the copy holds the very same objects. */
function readKeptCatalog(dir: string): CatalogSnapshot | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'catalog.json'), 'utf8')) as CatalogSnapshot;
  } catch {
    return undefined;
  }
}

function readSnapshot(dir: string): Snapshot | undefined {
  try {
    if (!fs.existsSync(path.join(dir, 'data', 'PG_VERSION'))) return undefined;
    const secret = JSON.parse(fs.readFileSync(path.join(dir, 'secret.json'), 'utf8')) as {
      password: string;
      bytes?: number;
    };
    const inputs = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8')) as BaseInputs;
    return { dir, inputs, password: secret.password, bytes: secret.bytes ?? 1024 ** 3 };
  } catch {
    return undefined;
  }
}

/** Snapshots in the cache folder, most recently used first. */
function snapshots(cacheDir: string): { dir: string; usedMs: number }[] {
  if (!fs.existsSync(cacheDir)) return [];
  return fs
    .readdirSync(cacheDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[0-9a-f]{24}$/.test(e.name))
    .map((e) => {
      const dir = path.join(cacheDir, e.name);
      return { dir, usedMs: fs.statSync(dir).mtimeMs };
    })
    .sort((a, b) => b.usedMs - a.usedMs);
}

function markUsed(dir: string): void {
  const now = new Date();
  try {
    fs.utimesSync(dir, now, now);
  } catch {
    /* another check removed it meanwhile: harmless */
  }
}

/** Keeps the server's stopped data directory as the snapshot `key` (atomically: a rename). */
async function saveSnapshot(
  cacheDir: string,
  key: string,
  dataDir: string,
  password: string,
  inputs: BaseInputs,
  catalog: CatalogSnapshot,
): Promise<void> {
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(cacheDir, 0o700);
  const target = path.join(cacheDir, key);
  const temp = path.join(cacheDir, `.${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(temp, { mode: 0o700 });
  try {
    await execFileAsync('cp', ['-a', dataDir, path.join(temp, 'data')]);
    const bytes = treeSize(path.join(temp, 'data'));
    fs.writeFileSync(path.join(temp, 'secret.json'), JSON.stringify({ password, bytes }), {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(temp, 'inputs.json'), JSON.stringify(inputs, null, 2), {
      mode: 0o600,
    });
    fs.writeFileSync(path.join(temp, 'catalog.json'), JSON.stringify(catalog), { mode: 0o600 });
    // A concurrent check may have kept the same base meanwhile: keep theirs (it may be in
    // use); replace only a broken one.
    if (fs.existsSync(target) && readSnapshot(target) === undefined)
      fs.rmSync(target, { recursive: true, force: true });
    if (!fs.existsSync(target)) fs.renameSync(temp, target);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
  for (const old of snapshots(cacheDir).slice(KEEP)) {
    fs.rmSync(old.dir, { recursive: true, force: true });
  }
}

/**
 * Removes a throwaway shadow: its contents are worthless, so the postmaster gets SIGQUIT
 * (an immediate shutdown, as pg_ctl -m immediate sends) and is watched closely instead of
 * through pg_ctl's 100 ms polling; destroy() then removes the folder (and stops the
 * server the slow way if it is somehow still there).
 */
async function discard(server: { dataDir: string; destroy(): Promise<void> }): Promise<void> {
  try {
    const pidFile = path.join(server.dataDir, 'postmaster.pid');
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0) {
      process.kill(pid, 'SIGQUIT');
      // The postmaster removes its pid file as it exits (what pg_ctl waits for, too).
      const deadline = Date.now() + 5000;
      while (fs.existsSync(pidFile) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } catch {
    /* no pid file or already gone: destroy() copes */
  }
  await server.destroy();
}

/** A shadow database with the base schema built in it, and whether it came from a snapshot. */
export interface ShadowWithBase extends ShadowDatabase {
  reuse: ShadowBaseReuse;
  /** The base's catalog when it is already known (kept with the snapshot, or read before keeping it). */
  before?: CatalogSnapshot;
  /** Milliseconds spent reading `before` here. */
  beforeMs: number;
  /** Milliseconds spent starting (or copying) the server, building the base, and keeping the snapshot. */
  startMs: number;
  buildMs: number;
  saveMs: number;
}

/**
 * Opens a throwaway shadow server holding the base schema: a copy of the snapshot for
 * these base files when there is one, else built now (then kept under cacheDir unless
 * cacheDir is undefined).
 */
export async function openShadowWithBase(options: {
  manifest: Manifest;
  files: BaseFile[];
  root: string;
  binaries?: ServerBinaries;
  cacheDir?: string;
}): Promise<ShadowWithBase> {
  const { manifest, files, root, cacheDir } = options;
  const binaries = options.binaries ?? (await embeddedBinaries());
  let mark = performance.now();
  let inputs: BaseInputs | undefined;
  let key: string | undefined;
  let reason = 'caching is off';
  if (cacheDir !== undefined) {
    inputs = await baseInputs(manifest, files, root, binaries);
    key = sha256(JSON.stringify(inputs)).slice(0, 24);
    const found = readSnapshot(path.join(cacheDir, key));
    if (found) {
      try {
        markUsed(found.dir);
        const parentDir = shadowParentDir(found.bytes);
        const server = await startThrowawayServer({
          binaries,
          settings: SETTINGS,
          ...(parentDir ? { parentDir } : {}),
          copyOf: { dataDir: path.join(found.dir, 'data'), password: found.password },
        });
        const before = readKeptCatalog(found.dir);
        return {
          url: server.url,
          dispose: () => discard(server),
          reuse: { state: 'reused', key },
          ...(before ? { before } : {}),
          beforeMs: 0,
          startMs: performance.now() - mark,
          buildMs: 0,
          saveMs: 0,
        };
      } catch (error) {
        reason = `the snapshot did not start (${(error as Error).message.split('\n')[0]})`;
      }
    } else {
      const latest = snapshots(cacheDir)
        .map((s) => readSnapshot(s.dir))
        .find((s) => s !== undefined);
      reason = whatChanged(latest?.inputs, inputs);
    }
  }

  const parentDir = shadowParentDir(256 * 1024 ** 2);
  const server = await startThrowawayServer({
    binaries,
    settings: SETTINGS,
    initdbArgs: INITDB_ARGS,
    ...(parentDir ? { parentDir } : {}),
  });
  const startMs = performance.now() - mark;
  let url = server.url;
  try {
    mark = performance.now();
    await withClient(url, (client) => buildShadowBase(client, manifest, files, root), {
      applicationName: 'pgpact check',
    });
    const buildMs = performance.now() - mark;
    if (cacheDir === undefined || key === undefined || inputs === undefined) {
      return {
        url,
        dispose: () => discard(server),
        reuse: { state: 'uncached', reason },
        beforeMs: 0,
        startMs,
        buildMs,
        saveMs: 0,
      };
    }
    mark = performance.now();
    const before = await withClient(url, (client) => readCatalog(client), {
      applicationName: 'pgpact check',
    });
    const beforeMs = performance.now() - mark;
    mark = performance.now();
    let reuse: ShadowBaseReuse = { state: 'built', key, reason };
    await stopCluster(binaries, server.rootDir, 'fast');
    try {
      await saveSnapshot(cacheDir, key, server.dataDir, server.password, inputs, before);
    } catch (error) {
      reuse = {
        state: 'uncached',
        reason: `${reason}; the snapshot could not be kept in ${cacheDir} (${(error as Error).message.split('\n')[0]})`,
      };
    }
    let port = server.port;
    try {
      await startCluster(binaries, server.rootDir, port, SETTINGS);
    } catch {
      port = await freePort();
      await startCluster(binaries, server.rootDir, port, SETTINGS);
    }
    url = serverUrl(port, server.password);
    return {
      url,
      dispose: () => discard(server),
      reuse,
      before,
      beforeMs,
      startMs,
      buildMs,
      saveMs: performance.now() - mark,
    };
  } catch (error) {
    await server.destroy();
    throw error;
  }
}

/** One line saying whether the shadow base was reused or rebuilt, and why. */
export function describeShadowBase(reuse: ShadowBaseReuse, cacheDir?: string): string {
  if (reuse.state === 'reused')
    return `shadow base reused (snapshot ${reuse.key}: base files unchanged)`;
  const where = cacheDir ? ` in ${cacheDir}` : '';
  if (reuse.state === 'built')
    return `shadow base rebuilt (${reuse.reason}); kept${where} for the next check`;
  return `shadow base built, not kept (${reuse.reason})`;
}
