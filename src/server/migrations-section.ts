import { PgpactError } from '../errors.js';
import { loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';
import type { OldShapeUse } from '../migrate/consumers.js';
import { tableKey } from '../migrate/names.js';
import {
  type MigrationHistoryRow,
  type MigrationReading,
  OldShapeStatementCache,
  readMigrationHistory,
  readMigrationStatus,
} from '../migrate/read-status.js';
import type { Queryable } from '../postgres/client.js';
import type {
  MigrationConsumerView,
  MigrationHistoryView,
  MigrationsState,
  MigrationView,
} from './api-types.js';

/** How long after a grant that did not help the dashboard tries again. */
const GRANT_RETRY_MS = 60_000;

/** Observed statements listed per consumer (the most called); the rest are counted. */
export const STATEMENTS_PER_CONSUMER = 5;

/** A backfill with no batch recorded for this long is shown as possibly stopped. */
export const BACKFILL_STALLED_MS = 60_000;

export interface MigrationsSectionOptions {
  /** The monitoring connection (read-only). */
  connection: Queryable;
  /** Read on every refresh, so contract edits show up without a restart. */
  manifestFile?: string;
  /**
   * Grants the monitoring role SELECT on pgpact's schema, from the admin connection the
   * dashboard was started with; called when the schema appeared after the start.
   * Absent when the dashboard reads through a --monitor-url an admin prepared.
   */
  grantAccess?: () => Promise<void>;
  quietForMs?: number;
  historyLimit?: number;
}

/** How a statement's count moved as this dashboard watched it. */
export interface StatementActivity {
  callsSinceStart: number;
  watchedSince: string;
  lastCallSeenAt?: string;
}

/**
 * Remembers, in memory only, when each observed statement's count grew between two readings:
 * the stored counts (what complete judges by) change only when status or complete run.
 */
export class StatementWatch {
  private migration: string | undefined;
  private readonly seen = new Map<string, StatementActivity>();

  /** Records the readings' counts and returns how each moved. */
  update(reading: MigrationReading, now = new Date()): Map<string, StatementActivity> {
    if (this.migration !== `${reading.name}\u0000${reading.startedAt}`) {
      this.migration = `${reading.name}\u0000${reading.startedAt}`;
      this.seen.clear();
    }
    const current = new Map<string, StatementActivity>();
    for (const u of reading.uses) {
      if (!u.statement) continue;
      const key = statementKey(u);
      const calls = u.statement.callsSinceStart;
      const before = this.seen.get(key);
      const activity: StatementActivity = before
        ? {
            callsSinceStart: calls,
            watchedSince: before.watchedSince,
            ...(calls !== before.callsSinceStart
              ? { lastCallSeenAt: now.toISOString() }
              : before.lastCallSeenAt
                ? { lastCallSeenAt: before.lastCallSeenAt }
                : {}),
          }
        : { callsSinceStart: calls, watchedSince: now.toISOString() };
      current.set(key, activity);
    }
    this.seen.clear();
    for (const [k, v] of current) this.seen.set(k, v);
    return current;
  }
}

function statementKey(u: OldShapeUse): string {
  return `${u.role ?? ''}:${u.statement?.queryId ?? ''}`;
}

/** Groups the uses of the old shape by consumer: one row per service (or unknown role). */
export function consumerViews(
  uses: OldShapeUse[],
  activity: Map<string, StatementActivity> = new Map(),
): MigrationConsumerView[] {
  const byName = new Map<string, MigrationConsumerView>();
  for (const u of uses) {
    const name = u.service ?? `role ${u.role ?? 'unknown'}`;
    let view = byName.get(name);
    if (!view) {
      view = {
        name,
        ...(u.service === undefined ? {} : { service: u.service }),
        ...(u.role === undefined ? {} : { role: u.role }),
        declared: false,
        observed: false,
        view: false,
        access: [],
        columns: [],
        blocking: false,
        changes: [],
        locations: [],
        statements: [],
        moreStatements: 0,
      };
      byName.set(name, view);
    }
    if (u.source === 'declared') view.declared = true;
    if (u.source === 'observed') view.observed = true;
    if (u.source === 'dependency') view.view = true;
    if (view.role === undefined && u.role !== undefined) view.role = u.role;
    view.blocking ||= u.blocking;
    addOnce(view.access, u.access);
    for (const c of u.columns) addOnce(view.columns, c);
    addOnce(view.changes, u.change);
    if (u.location) addOnce(view.locations, u.location);
    if (u.statement) {
      const moved = activity.get(statementKey(u));
      view.statements.push({
        query: u.statement.query,
        callsSinceStart: u.statement.callsSinceStart,
        watchedSince: moved?.watchedSince ?? new Date().toISOString(),
        ...(moved?.lastCallSeenAt ? { lastCallSeenAt: moved.lastCallSeenAt } : {}),
      });
    }
  }
  for (const view of byName.values()) {
    view.statements.sort((a, b) => b.callsSinceStart - a.callsSinceStart);
    view.moreStatements = Math.max(0, view.statements.length - STATEMENTS_PER_CONSUMER);
    view.statements.length = Math.min(view.statements.length, STATEMENTS_PER_CONSUMER);
  }
  // Blocking consumers first; otherwise in the order found (declared, views, observed).
  return [...byName.values()].sort((a, b) => Number(b.blocking) - Number(a.blocking));
}

function addOnce<T>(list: T[], item: T): void {
  if (!list.includes(item)) list.push(item);
}

/** Turns a reading of the migration in progress into the view the page shows. */
export function migrationView(
  reading: MigrationReading,
  activity: Map<string, StatementActivity> = new Map(),
  now = Date.now(),
): MigrationView {
  const b = reading.backfill;
  return {
    name: reading.name,
    file: reading.file,
    services: reading.services,
    phase: reading.phase,
    startedAt: reading.startedAt,
    updatedAt: reading.updatedAt,
    ...(b.tables.length === 0
      ? {}
      : {
          backfill: {
            done: b.rowsDone,
            total: b.rowsTotal,
            percent: b.percent,
            ...(b.rowsPerSecond === undefined ? {} : { rowsPerSecond: b.rowsPerSecond }),
            ...(b.etaSeconds === undefined ? {} : { etaSeconds: b.etaSeconds }),
            throttledMs: b.throttledMs,
            ...(b.throttledBy === undefined ? {} : { throttledBy: b.throttledBy }),
            ...(b.backoff === undefined ? {} : { backoff: b.backoff }),
            finished: b.done,
            stalled:
              reading.phase === 'backfilling' &&
              now - Date.parse(reading.updatedAt) > BACKFILL_STALLED_MS,
            tables: b.tables.map((t) => ({
              table: tableKey(t.table),
              done: t.rowsDone,
              total: t.rowsTotal,
              finished: t.done,
            })),
          },
        }),
    oldShape: reading.oldShape,
    newShape: reading.newShape,
    consumers: consumerViews(reading.uses, activity),
    observation: reading.observation,
    declaredChecked: reading.declared,
    canComplete: reading.canComplete,
    notes: reading.notes,
  };
}

function historyView(row: MigrationHistoryRow): MigrationHistoryView {
  return { ...row };
}

function isAccessDenied(error: unknown): boolean {
  return error instanceof PgpactError && error.code === 'INSUFFICIENT_PRIVILEGE';
}

/** The dashboard's migrations section: reads the migration in flight with SELECTs only. */
export class MigrationsSection {
  private previous: MigrationReading | undefined;
  private readonly cache = new OldShapeStatementCache();
  private readonly watch = new StatementWatch();
  private lastGrantAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: MigrationsSectionOptions) {}

  /** Reads the migration in progress and the history; grants read access first if pgpact's schema appeared since the start. */
  async load(): Promise<MigrationsState> {
    try {
      return await this.read();
    } catch (error) {
      const grant = this.options.grantAccess;
      if (!isAccessDenied(error) || !grant || Date.now() - this.lastGrantAt < GRANT_RETRY_MS)
        throw error;
      this.lastGrantAt = Date.now();
      await grant();
      return await this.read();
    }
  }

  private async read(): Promise<MigrationsState> {
    const notes: string[] = [];
    const manifest = this.manifest(notes);
    const reading = await readMigrationStatus(this.options.connection, {
      ...(manifest ? { manifest } : {}),
      ...(this.options.quietForMs === undefined ? {} : { quietForMs: this.options.quietForMs }),
      cache: this.cache,
      ...(this.previous ? { previous: this.previous } : {}),
    });
    this.previous = reading;
    const history = await readMigrationHistory(
      this.options.connection,
      this.options.historyLimit ?? 10,
    );
    return {
      inFlight: reading ? migrationView(reading, this.watch.update(reading)) : null,
      recent: history.map(historyView),
      notes,
    };
  }

  private manifest(notes: string[]): Manifest | undefined {
    const file = this.options.manifestFile;
    if (file === undefined) {
      notes.push('no manifest: declared consumers are not checked (pass --config)');
      return undefined;
    }
    try {
      return loadManifest(file);
    } catch (error) {
      notes.push(
        `manifest not used, declared consumers are not checked: ${(error as Error).message}`,
      );
      return undefined;
    }
  }
}
