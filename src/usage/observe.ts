/** One observation: statements of a window → usage per service → findings. */
import type { Finding } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { Queryable } from '../postgres/client.js';
import { readOwnRoles } from '../postgres/own-roles.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import { computeUsage } from './compute.js';
import { countersOf, observationWindow } from './delta.js';
import { readStatementStatsFile } from './stat-file.js';
import { readStatementStats, resetStatementStats, type StatementStats } from './statement-stats.js';
import type { UsageSnapshot } from './types.js';
import { usageFindings } from './usage-findings.js';
import { mergeReplicaUsage, type ObservedReplica } from '../replica/replica-observe.js';

/** What to observe and against what. */
export interface ObserveOptions {
  client: Queryable;
  manifest?: Manifest;
  /** Exported pg_stat_statements rows (JSON or CSV) instead of the live view. */
  fromFile?: string;
  /** The previous snapshot: the window is the delta since it. */
  previous?: UsageSnapshot;
  /** Ignore the previous snapshot: everything since the last reset. */
  sinceReset?: boolean;
  /** Reset pg_stat_statements after reading, so the next window starts now. */
  reset?: boolean;
  /** Replicas whose statements count too (each marked with the server it ran on). */
  replicas?: ObservedReplica[];
}

/** The observation's result: the snapshot to save, findings, and how the window was taken. */
export interface ObserveResult {
  usage: UsageSnapshot;
  findings: Finding[];
  catalog: CatalogSnapshot;
  window: { mode: NonNullable<UsageSnapshot['mode']>; start?: string; end: string; note?: string };
  /** Distinct statements (per role) in the window; rows of other databases skipped in a file. */
  statements: number;
  skipped: number;
}

/** Maps `oid:123` roles (exports with userid only, dropped roles) to names the catalog knows. */
function nameRoles(stats: StatementStats, catalog: CatalogSnapshot): StatementStats {
  const byOid = new Map(catalog.roles.map((r) => [`oid:${r.oid}`, r.name]));
  if (!stats.entries.some((e) => byOid.has(e.role))) return stats;
  return {
    ...stats,
    entries: stats.entries.map((e) => (byOid.has(e.role) ? { ...e, role: byOid.get(e.role)! } : e)),
  };
}

/**
 * Observes usage: reads the catalog and pg_stat_statements (or an export), takes the window
 * (a delta since the previous snapshot, or since the last reset), analyzes each distinct
 * statement once, aggregates per role and service, and compares with the manifest.
 */
export async function observeUsage(options: ObserveOptions): Promise<ObserveResult> {
  await loadParser();
  const catalog = await readCatalog(options.client);
  let skipped = 0;
  let current: StatementStats;
  if (options.fromFile !== undefined) {
    const fromFile = readStatementStatsFile(options.fromFile, catalog.database);
    skipped = fromFile.skipped;
    current = nameRoles(fromFile, catalog);
  } else {
    current = await readStatementStats(options.client);
  }
  const window = observationWindow(current, options.sinceReset ? undefined : options.previous);
  const index = createCatalogIndex(catalog);
  const usage = computeUsage(window.stats, index, options.manifest, {
    ...(window.start === undefined ? {} : { start: window.start }),
    mode: window.mode,
  });
  if (current.source === 'live') {
    usage.counters = {
      ...(current.statsReset ? { statsReset: current.statsReset } : {}),
      entries: countersOf(current),
    };
  }
  if (options.replicas && options.replicas.length > 0 && current.source === 'live') {
    await mergeReplicaUsage(
      usage,
      options.replicas,
      index,
      options.manifest,
      options.sinceReset ? undefined : options.previous,
    );
  }
  // pgpact's own roles and the admin's, also where they ran on a replica.
  const own = await readOwnRoles(options.client);
  for (const role of usage.roles) {
    const kind = own.get(role.role);
    if (kind !== undefined && role.service === undefined) role.pgpactRole = kind;
  }
  const findings = usageFindings(usage, options.manifest);
  if (options.reset && current.source === 'live') await resetStatementStats(options.client);
  return {
    usage,
    findings,
    catalog,
    window: {
      mode: window.mode,
      ...(window.start === undefined ? {} : { start: window.start }),
      end: current.takenAt,
      ...(window.note === undefined ? {} : { note: window.note }),
    },
    statements: usage.roles.reduce((n, r) => n + r.statements.length, 0),
    skipped,
  };
}
