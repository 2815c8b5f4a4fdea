import { PgpactError } from '../errors.js';
import { ownerOfTable } from '../manifest/ownership.js';
import type { Manifest } from '../manifest/types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { Queryable } from '../postgres/client.js';
import { quoteIdent } from '../postgres/quote.js';
import { type ActiveMigration, readActive } from './bookkeeping.js';
import { DEFAULT_QUIET_FOR_MS } from './complete.js';
import { declaredUses, dependentObjects, type OldShapeUse, observedUses } from './consumers.js';
import {
  compatibilityViewDependents,
  declaredMoveUses,
  objectsFollowingMove,
  observedMoveUses,
} from './move-table-consumers.js';
import { liveMoveUses, sampleLiveMoveUses, statementsGroupByName } from './live-move-use.js';
import { tableKey } from './names.js';
import { oldNameRelations, renamedTables } from './operations/rename-table.js';
import { definitionOf } from './operations/registry.js';
import {
  notNullAtComplete,
  type OldShapeStatement,
  readStatementCounts,
  type StatementCount,
  statementsUsingOldShape,
} from './observed.js';
import { MARKER } from './sql-run.js';
import { backfillFraction } from './progress.js';
import type { Phase, TableBackfill } from './types.js';

/**
 * The migration in progress and the history, read with SELECTs only: for a
 * read-only monitoring role (the dashboard). Unlike migrationStatus, nothing is
 * stored, so the quiet period of observed statements is judged against the
 * counts the last `status` or `complete` stored.
 */

/** Backfill progress over every table of the migration. */
export interface BackfillProgress {
  rowsDone: number;
  rowsTotal: number;
  /** 0..100; 100 when there is nothing to backfill. */
  percent: number;
  /** Rows per second between two readings (see backfillRate), when measured. */
  rowsPerSecond?: number;
  /** Seconds left, as the running backfill last estimated it (rate of its last minute). */
  etaSeconds?: number;
  /** Time the backfill spent throttled, over every table and run. */
  throttledMs: number;
  /** Why it waits now, when it does (as the running backfill last saved it). */
  throttledBy?: string;
  /** Why its adaptive batches hold back now (writers waited on them, or slowed), when they do. */
  backoff?: string;
  /** Per table, in plan order; tables not reached yet have rowsDone 0. */
  tables: TableBackfill[];
  done: boolean;
}

/** The migration in progress as a reader sees it. */
export interface MigrationReading {
  name: string;
  file: string;
  phase: Phase;
  startedAt: string;
  updatedAt: string;
  /** Services owning the schemas the migration changes (with a manifest). */
  services: string[];
  backfill: BackfillProgress;
  /** `schema.table.column` that complete removes (or retypes); `schema.table.*` for a dropped table. */
  oldShape: string[];
  /** `schema.table.column` the migration adds (or `schema.table.*` for a created table). */
  newShape: string[];
  /** Declared, observed and view uses of the old shape, with the change each needs. */
  uses: OldShapeUse[];
  observation: { available: boolean; reason?: string };
  /** Whether declared uses were checked (a manifest was given). */
  declared: boolean;
  /** Whether complete would proceed now without --force (judged with the stored counts). */
  canComplete: boolean;
  notes: string[];
}

/** A finished migration. */
export interface MigrationHistoryRow {
  name: string;
  file: string;
  outcome: string;
  startedAt: string;
  finishedAt: string;
  /** Who `complete --force` went past (service, or `role x`). */
  forcedPast: string[];
}

/** Whether the role can read pgpact's bookkeeping tables. */
type TableAccess = 'missing' | 'readable' | 'denied';

async function bookkeepingAccess(
  client: Queryable,
): Promise<{ role: string; migrations: TableAccess; history: TableAccess }> {
  // pg_class and pg_namespace are readable by every role; to_regclass would fail without USAGE.
  const { rows } = await client.query<{ role: string; name: string | null; access: boolean }>(
    `${MARKER} SELECT current_user AS role, c.relname AS name,
            has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS access
       FROM (SELECT 1) one
       LEFT JOIN pg_namespace n ON n.nspname = 'pgpact'
       LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname IN ('migrations', 'migration_history')`,
  );
  const of = (name: string): TableAccess => {
    const row = rows.find((r) => r.name === name);
    return row === undefined ? 'missing' : row.access ? 'readable' : 'denied';
  };
  return { role: rows[0]!.role, migrations: of('migrations'), history: of('migration_history') };
}

function accessDenied(role: string, table: string): PgpactError {
  return new PgpactError(
    'INSUFFICIENT_PRIVILEGE',
    `role ${role} may not read pgpact.${table}, where migrations are recorded`,
    {
      hint: `GRANT USAGE ON SCHEMA pgpact TO ${quoteIdent(role)}; GRANT SELECT ON ALL TABLES IN SCHEMA pgpact TO ${quoteIdent(role)};`,
    },
  );
}

/** More entries than pg_stat_statements keeps by default (5,000) many times over. */
const MAX_CACHED = 50_000;

/**
 * Analyses of pg_stat_statements entries against one migration's old shape, kept
 * between readings so a reader polling every few seconds parses each statement once.
 */
export class OldShapeStatementCache {
  private migration: string | undefined;
  private readonly touches = new Map<
    string,
    { reads: string[]; writes: string[]; relations?: string[]; omits?: string[] } | null
  >();

  /** The entries of `counts` that ran since the baseline and use the old shape. */
  async statements(
    active: ActiveMigration,
    counts: StatementCount[],
    catalog: CatalogSnapshot,
  ): Promise<OldShapeStatement[]> {
    if (this.migration !== `${active.name}\u0000${active.checksum}`) {
      this.migration = `${active.name}\u0000${active.checksum}`;
      this.touches.clear();
    }
    const baseline = active.baseline ?? {};
    // Entries that did not run since the baseline are analysed once they do.
    const fresh = counts.filter((c) => !this.touches.has(c.key) && callsSince(c, baseline) > 0);
    if (this.touches.size + fresh.length > MAX_CACHED) this.touches.clear();
    const found = await statementsUsingOldShape(
      fresh,
      baseline,
      catalog,
      oldColumns(active),
      oldNameRelations(active.plan),
      notNullAtComplete(active.plan),
    );
    for (const c of fresh) this.touches.set(c.key, null);
    for (const s of found)
      this.touches.set(s.key, {
        reads: s.reads,
        writes: s.writes,
        relations: s.relations ?? [],
        ...(s.omits ? { omits: s.omits } : {}),
      });
    return counts.flatMap((c): OldShapeStatement[] => {
      const touch = this.touches.get(c.key);
      const since = callsSince(c, baseline);
      return touch && since > 0 ? [{ ...c, callsSinceStart: since, ...touch }] : [];
    });
  }
}

/** Calls since the baseline; a counter below its baseline was reset, so all its calls are recent. */
function callsSince(c: StatementCount, baseline: Record<string, number>): number {
  const before = baseline[c.key] ?? 0;
  return c.calls >= before ? c.calls - before : c.calls;
}

function oldColumns(active: ActiveMigration): Set<string> {
  return new Set(active.plan.oldShape.map((o) => `${tableKey(o.table)}.${o.column}`));
}

/** The columns the migration adds, from its operations and the plan's replacements. */
function newShapeOf(active: ActiveMigration): string[] {
  const out = new Set<string>();
  for (const o of active.plan.oldShape) {
    for (const name of o.replacedBy) out.add(`${tableKey(o.table)}.${name}`);
  }
  for (const o of active.migration.operations) {
    const { table, added = [], createsTable } = definitionOf(o).footprint(o);
    if (!table) continue;
    for (const column of added) out.add(`${tableKey(table)}.${column}`);
    if (createsTable) out.add(`${tableKey(table)}.*`);
  }
  for (const r of renamedTables(active.plan)) out.add(`${tableKey(r.to)}.*`);
  return [...out];
}

function oldShapeOf(active: ActiveMigration): string[] {
  const dropped = oldNameRelations(active.plan);
  return [
    ...new Set([
      ...[...dropped].map((t) => `${t}.*`),
      ...active.plan.oldShape
        .filter((o) => !dropped.has(tableKey(o.table)))
        .map((o) => `${tableKey(o.table)}.${o.column}`),
    ]),
  ];
}

/** The services owning the tables the migration changes (in a shared schema, each table's own). */
function owningServices(active: ActiveMigration, manifest: Manifest | undefined): string[] {
  if (!manifest) return [];
  const owners = new Set<string>();
  for (const o of active.migration.operations) {
    const { table } = definitionOf(o).footprint(o);
    if (!table) continue;
    const owner = ownerOfTable(manifest, table.schema, table.name);
    if (owner) owners.add(owner.name);
  }
  return manifest.services.filter((s) => owners.has(s.name)).map((s) => s.name);
}

/** A rate is kept this long without a new batch, then dropped (the backfill may have stopped). */
const RATE_STALE_MS = 30_000;

function progressOf(active: ActiveMigration): BackfillProgress {
  const tables = active.plan.backfills.map(
    (b): TableBackfill =>
      active.backfill[tableKey(b.table)] ?? {
        table: b.table,
        strategy: b.strategy,
        lastKey: null,
        rowsDone: 0,
        rowsTotal: 0,
        done: false,
      },
  );
  const rowsDone = tables.reduce((n, t) => n + t.rowsDone, 0);
  const rowsTotal = tables.reduce((n, t) => n + t.rowsTotal, 0);
  const done =
    ['validating', 'active', 'completing'].includes(active.phase) ||
    (tables.length > 0 && tables.every((t) => t.done));
  // By the walk's position (key or page), weighted by the rows of each table: it reaches 100 with the walk.
  const walked = tables.reduce((n, t) => n + backfillFraction(t) * t.rowsTotal, 0);
  const percent = done
    ? 100
    : rowsTotal > 0
      ? Math.min(99.9, Math.floor((walked / rowsTotal) * 1000) / 10)
      : 0;
  // The backfill's own figures (its last minute) while it keeps them fresh; a stopped one's go stale.
  const running = done
    ? undefined
    : tables.find((t) => !t.done && t.pace && Date.now() - Date.parse(t.pace.at) < RATE_STALE_MS);
  const throttledMs = tables.reduce((n, t) => n + (t.pace?.throttledMs ?? 0), 0);
  return {
    rowsDone,
    rowsTotal,
    percent,
    ...(running?.pace?.rowsPerSecond === undefined
      ? {}
      : { rowsPerSecond: running.pace.rowsPerSecond }),
    ...(running?.pace?.etaSeconds === undefined ? {} : { etaSeconds: running.pace.etaSeconds }),
    throttledMs,
    ...(running?.pace?.throttledBy ? { throttledBy: running.pace.throttledBy } : {}),
    ...(running?.pace?.backoff ? { backoff: running.pace.backoff } : {}),
    tables,
    done,
  };
}

/**
 * Rows per second between an earlier and a later reading of the same migration, measured
 * on the times the batches committed (updatedAt). Without a batch in between, the earlier
 * rate holds until the last batch is RATE_STALE_MS old.
 */
export function backfillRate(
  earlier: MigrationReading | undefined,
  later: MigrationReading,
  now = Date.now(),
): number | undefined {
  if (!earlier || earlier.name !== later.name || later.phase !== 'backfilling') return undefined;
  const rows = later.backfill.rowsDone - earlier.backfill.rowsDone;
  const ms = Date.parse(later.updatedAt) - Date.parse(earlier.updatedAt);
  if (rows <= 0 || ms <= 0) {
    const fresh = now - Date.parse(later.updatedAt) < RATE_STALE_MS;
    return fresh ? earlier.backfill.rowsPerSecond : undefined;
  }
  return Math.round((rows / ms) * 1000);
}

/** Options of readMigrationStatus. */
export interface ReadStatusOptions {
  /** For declared consumers and to name services; without it, only observed uses and views. */
  manifest?: Manifest;
  /** How long an observed statement must stay quiet to stop blocking (default 15 min, as complete). */
  quietForMs?: number;
  /** Keeps statement analyses between calls (a poller passes the same cache every time). */
  cache?: OldShapeStatementCache;
  /** The previous reading, for the backfill rate. */
  previous?: MigrationReading;
}

/**
 * Reads the migration in progress (undefined when there is none) and who still uses its old
 * shape, declared and observed, with SELECTs only. Throws INSUFFICIENT_PRIVILEGE when the
 * bookkeeping exists but the connected role may not read it.
 */
export async function readMigrationStatus(
  client: Queryable,
  options: ReadStatusOptions = {},
): Promise<MigrationReading | undefined> {
  const access = await bookkeepingAccess(client);
  if (access.migrations === 'missing') return undefined;
  if (access.migrations === 'denied') throw accessDenied(access.role, 'migrations');
  const active = await readActive(client);
  if (!active) return undefined;
  const manifest = options.manifest;
  const catalog = await readCatalog(client);
  const uses: OldShapeUse[] = [
    ...(manifest ? declaredUses(manifest, active.plan, catalog) : []),
    ...(manifest ? declaredMoveUses(manifest, active.plan) : []),
    ...dependentObjects(catalog, active.plan, manifest),
    ...(await compatibilityViewDependents(client, active.plan)),
    ...objectsFollowingMove(catalog, active.plan),
  ];
  let observation: MigrationReading['observation'] = { available: true };
  if (active.baseline === undefined) {
    observation = {
      available: false,
      reason:
        'pg_stat_statements was not readable when the migration started, so there is no baseline',
    };
  } else {
    const read = await readStatementCounts(client);
    if (!read.ok) observation = { available: false, reason: read.reason };
    else {
      const cache = options.cache ?? new OldShapeStatementCache();
      const statements = await cache.statements(active, read.counts, catalog);
      const observed = observedUses(
        statements,
        active.plan,
        manifest,
        active.observations,
        options.quietForMs ?? DEFAULT_QUIET_FOR_MS,
      );
      uses.push(...observed.uses);
      // Statements through a compatibility view (analysed on each reading: moves are short).
      const throughViews = await observedMoveUses(
        read.counts,
        active.baseline,
        catalog,
        active.plan,
        manifest,
        active.observations,
        options.quietForMs ?? DEFAULT_QUIET_FOR_MS,
        new Date(),
        await statementsGroupByName(client),
      );
      uses.push(...throughViews.uses);
    }
  }
  // Sessions using a compatibility view now (one look: a lock on it, their last statement).
  uses.push(
    ...liveMoveUses(
      await sampleLiveMoveUses(client, active.plan, catalog, manifest),
      active.plan,
      manifest,
    ),
  );
  const reading: MigrationReading = {
    name: active.name,
    file: active.file,
    phase: active.phase,
    startedAt: active.startedAt,
    updatedAt: active.updatedAt,
    services: owningServices(active, manifest),
    backfill: progressOf(active),
    oldShape: oldShapeOf(active),
    newShape: newShapeOf(active),
    uses,
    observation,
    declared: manifest !== undefined,
    canComplete:
      active.phase === 'active' && observation.available && !uses.some((u) => u.blocking),
    notes: active.plan.notes,
  };
  const rate =
    reading.backfill.rowsPerSecond === undefined
      ? backfillRate(options.previous, reading)
      : undefined;
  if (rate !== undefined) reading.backfill.rowsPerSecond = rate;
  return reading;
}

/** The last finished migrations, newest first (empty when pgpact never ran a migration here). */
export async function readMigrationHistory(
  client: Queryable,
  limit = 10,
): Promise<MigrationHistoryRow[]> {
  const access = await bookkeepingAccess(client);
  if (access.history === 'missing') return [];
  if (access.history === 'denied') throw accessDenied(access.role, 'migration_history');
  const { rows } = await client.query<{
    name: string;
    file: string;
    outcome: string;
    started_at: Date;
    finished_at: Date;
    forced_past: OldShapeUse[] | null;
  }>(
    `${MARKER} SELECT name, file, outcome, started_at, finished_at, forced_past
       FROM pgpact.migration_history ORDER BY finished_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    name: r.name,
    file: r.file,
    outcome: r.outcome,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at.toISOString(),
    forcedPast: [
      ...new Set((r.forced_past ?? []).map((u) => u.service ?? `role ${u.role ?? 'unknown'}`)),
    ],
  }));
}
