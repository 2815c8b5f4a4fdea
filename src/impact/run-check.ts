import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Finding, sortFindings } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { type Queryable, withClient } from '../postgres/client.js';
import { defaultStateDir } from '../postgres/embedded.js';
import type { ServerBinaries } from '../postgres/local-server.js';
import type { UsageSnapshot } from '../usage/types.js';
import { type AppliedStatement, applyMigration } from './apply-migration.js';
import { assessImpact } from './assess-impact.js';
import type { Change } from './change.js';
import { ConsumerIndex } from './consumers.js';
import { diffCatalogs } from './diff-catalogs.js';
import { failureFindings, skippedFindings } from './failure-findings.js';
import { lintMigration } from './lint/index.js';
import { assessLockRisks } from './lock-risks.js';
import { migrationSearchPath } from '../provision/migration-folders.js';
import { type FileOwner, migrationOwners } from './migration-owner.js';
import { readMigrationFiles } from './migration-file.js';
import { assessCascadeOwnership } from './cascade-ownership.js';
import { assessOwnership } from './ownership.js';
import { type BaseSource, baseFiles, buildShadowBase, openShadowDatabase } from './shadow.js';
import { openShadowWithBase, type ShadowBaseReuse, type ShadowWithBase } from './shadow-cache.js';
import { StatementIndex } from './statement-index.js';

/** Lock and statement timeouts used when a migration is tried against a live database. */
export const LIVE_LOCK_TIMEOUT = '1s';
export const LIVE_STATEMENT_TIMEOUT = '10s';

export interface CheckOptions {
  manifest: Manifest;
  /** The new migration files, applied in this order. */
  files: string[];
  /** Paths are resolved and shown relative to this folder (default: the working directory). */
  root?: string;
  /** The service the files belong to (default: from their folder, else from the schemas they touch). */
  service?: string;
  /** Files or folders holding the current schema, instead of the services' migration folders. */
  base?: string[];
  usage?: UsageSnapshot;
  /**
   * A live database as the base: its catalog is "before", the migration's DDL runs in a
   * transaction that is always rolled back (see LIVE_LOCK_TIMEOUT), nothing is committed.
   */
  databaseUrl?: string;
  /** Build the shadow as a new database on this server instead of a throwaway server. */
  shadowServerUrl?: string;
  binaries?: ServerBinaries;
  /**
   * Where snapshots of the built base are kept and reused while the base files are
   * unchanged (default: shadow-base/ in the state directory, `.pgpact/`); false: always
   * build. Not used with shadowServerUrl or databaseUrl.
   */
  shadowCacheDir?: string | false;
}

/** Where the time went, in milliseconds. */
export interface CheckTimings {
  shadowStartMs: number;
  baseApplyMs: number;
  /** Keeping the built base as a snapshot for later checks (stop, copy, start again). */
  baseSaveMs: number;
  snapshotMs: number;
  migrationApplyMs: number;
  diffMs: number;
  analysisMs: number;
  totalMs: number;
}

export interface CheckReport {
  /** Whether any finding is breaking. */
  breaking: boolean;
  findings: Finding[];
  changes: Change[];
  statements: AppliedStatement[];
  /** Where "before" came from. */
  base: 'migrations' | 'files' | 'database';
  /** The service each file was applied as, by file. */
  owners: Record<string, FileOwner>;
  /** For a throwaway shadow: whether its base came from a snapshot, or why it was built. */
  shadowBase?: ShadowBaseReuse;
  timings: CheckTimings;
}

interface Snapshots {
  before: CatalogSnapshot;
  after: CatalogSnapshot;
  applied: AppliedStatement[];
}

async function snapshotAround(
  client: Queryable,
  apply: () => Promise<AppliedStatement[]>,
  t: CheckTimings,
  known?: CatalogSnapshot,
): Promise<Snapshots> {
  let mark = performance.now();
  const before = known ?? (await readCatalog(client));
  t.snapshotMs += performance.now() - mark;
  mark = performance.now();
  const applied = await apply();
  t.migrationApplyMs = performance.now() - mark;
  mark = performance.now();
  const after = await readCatalog(client);
  t.snapshotMs += performance.now() - mark;
  return { before, after, applied };
}

/** The search_path each service's files run with, as `pgpact apply` runs them. */
function searchPaths(manifest: Manifest): (service: string) => string | undefined {
  return (name) => {
    const service = manifest.services.find((s) => s.name === name);
    return service ? migrationSearchPath(service) : undefined;
  };
}

async function liveSnapshots(
  url: string,
  owners: Map<string, FileOwner>,
  files: Awaited<ReturnType<typeof readMigrationFiles>>,
  t: CheckTimings,
  searchPathOf: (service: string) => string | undefined,
): Promise<Snapshots> {
  return withClient(
    url,
    async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL lock_timeout = '${LIVE_LOCK_TIMEOUT}'`);
        await client.query(`SET LOCAL statement_timeout = '${LIVE_STATEMENT_TIMEOUT}'`);
        // Roles the connecting user cannot become: statements run as the user; ownership is then checked statically only.
        const usable = new Map<string, FileOwner | undefined>();
        for (const [file, owner] of owners) {
          const { rows } = await client
            .query<{ ok: boolean }>(
              `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = $1), 'MEMBER') AS ok`,
              [owner.role],
            )
            .catch(() => ({ rows: [{ ok: false }] }));
          usable.set(file, rows[0]?.ok ? owner : undefined);
        }
        return await snapshotAround(
          client,
          () =>
            applyMigration(client, files, {
              serviceOfFile: usable,
              mode: 'rollback',
              searchPathOf,
            }),
          t,
        );
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    },
    { applicationName: 'pgpact check' },
  );
}

/**
 * `pgpact check` as a function: builds the current schema in a throwaway shadow database
 * (or reads a live one), applies the new migration as its service's role, diffs the two
 * catalogs and returns every finding: consumers broken, ownership, lock risks.
 * The shadow is always removed; a live database is never changed.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const start = performance.now();
  const searchPathOf = searchPaths(options.manifest);
  const root = options.root ?? process.cwd();
  const t: CheckTimings = {
    shadowStartMs: 0,
    baseApplyMs: 0,
    baseSaveMs: 0,
    snapshotMs: 0,
    migrationApplyMs: 0,
    diffMs: 0,
    analysisMs: 0,
    totalMs: 0,
  };
  const source: BaseSource = options.base
    ? { kind: 'files', paths: options.base }
    : { kind: 'migrations' };
  // A throwaway shadow starts (a copy of the kept base, or built now) while the new files are read.
  let opening: Promise<ShadowWithBase> | undefined;
  let emptyBase = false;
  if (options.databaseUrl === undefined && options.shadowServerUrl === undefined) {
    const exclude = new Set(options.files.map((f) => path.resolve(root, f)));
    const base = baseFiles(options.manifest, source, exclude, root);
    emptyBase = base.length === 0;
    const cacheDir =
      options.shadowCacheDir === false
        ? undefined
        : (options.shadowCacheDir ?? path.join(defaultStateDir(), 'shadow-base'));
    opening = openShadowWithBase({
      manifest: options.manifest,
      files: base,
      root,
      ...(options.binaries ? { binaries: options.binaries } : {}),
      ...(cacheDir !== undefined ? { cacheDir } : {}),
    });
    opening.catch(() => undefined); // awaited below; handled if the files fail first
  }
  let files: Awaited<ReturnType<typeof readMigrationFiles>>;
  let owners: Map<string, FileOwner>;
  try {
    files = await readMigrationFiles(options.files, root);
    owners = migrationOwners(options.manifest, files, options.service);
  } catch (error) {
    await opening?.then(
      (shadow) => shadow.dispose(),
      () => undefined,
    );
    throw error;
  }

  let snaps: Snapshots;
  let shadowBase: ShadowBaseReuse | undefined;
  if (options.databaseUrl !== undefined) {
    snaps = await liveSnapshots(options.databaseUrl, owners, files, t, searchPathOf);
  } else if (opening !== undefined) {
    const shadow = await opening;
    t.shadowStartMs = shadow.startMs;
    t.baseApplyMs = shadow.buildMs;
    t.baseSaveMs = shadow.saveMs;
    t.snapshotMs = shadow.beforeMs;
    shadowBase = shadow.reuse;
    try {
      snaps = await withClient(
        shadow.url,
        (client) =>
          snapshotAround(
            client,
            () =>
              applyMigration(client, files, {
                serviceOfFile: owners,
                mode: 'shadow',
                searchPathOf,
              }),
            t,
            shadow.before,
          ),
        { applicationName: 'pgpact check' },
      );
    } finally {
      await shadow.dispose();
    }
  } else {
    const exclude = new Set(files.map((f) => f.path));
    const base = baseFiles(options.manifest, source, exclude, root);
    emptyBase = base.length === 0;
    let mark = performance.now();
    const shadow = await openShadowDatabase({ serverUrl: options.shadowServerUrl });
    t.shadowStartMs = performance.now() - mark;
    try {
      snaps = await withClient(
        shadow.url,
        async (client) => {
          mark = performance.now();
          await buildShadowBase(client, options.manifest, base, root);
          t.baseApplyMs = performance.now() - mark;
          return snapshotAround(
            client,
            () =>
              applyMigration(client, files, {
                serviceOfFile: owners,
                mode: 'shadow',
                searchPathOf,
              }),
            t,
          );
        },
        { applicationName: 'pgpact check' },
      );
    } finally {
      await shadow.dispose();
    }
  }

  let mark = performance.now();
  const changes = diffCatalogs(snaps.before, snaps.after);
  t.diffMs = performance.now() - mark;

  mark = performance.now();
  const baseOids = new Map(snaps.before.relations.map((r) => [`${r.schema}.${r.name}`, r.oid]));
  const index = new StatementIndex(snaps.applied, baseOids);
  const consumers = new ConsumerIndex(options.manifest, options.usage);
  const findings = sortFindings([
    ...assessImpact(changes, options.manifest, options.usage, index, snaps.before, consumers),
    ...assessOwnership(snaps.applied, options.manifest),
    ...assessCascadeOwnership(changes, index, snaps.before, snaps.after, options.manifest),
    ...assessLockRisks(snaps.applied, {
      base: snaps.before,
      sizesKnown: options.databaseUrl !== undefined,
      manifest: options.manifest,
      consumers,
    }),
    ...lintMigration({
      statements: snaps.applied,
      base: snaps.before,
      sizesKnown: options.databaseUrl !== undefined,
      consumers,
    }),
    ...failureFindings(snaps.applied, consumers, files, snaps.before),
    ...skippedFindings(snaps.applied),
    ...(emptyBase
      ? [
          {
            severity: 'warning' as const,
            kind: 'empty-base',
            object: options.manifest.file.split(/[\\/]/).pop() ?? 'pgpact.yaml',
            consumers: [],
            message:
              'the shadow database started empty: no service declares a migrations folder with files and no --base was given, so the current schema is unknown',
            suggestion:
              'declare `migrations:` folders in the manifest, pass --base, or pass --database-url',
          },
        ]
      : []),
  ]);
  t.analysisMs = performance.now() - mark;
  t.totalMs = performance.now() - start;
  return {
    breaking: findings.some((f) => f.severity === 'breaking'),
    findings,
    changes,
    statements: snaps.applied,
    base: options.databaseUrl !== undefined ? 'database' : source.kind,
    owners: Object.fromEntries(owners),
    ...(shadowBase ? { shadowBase } : {}),
    timings: t,
  };
}
