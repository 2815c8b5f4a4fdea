import { PgpactError } from '../errors.js';
import type {
  CheckReport,
  CouplingMap,
  DashboardEventName,
  DashboardState,
  MigrationsState,
  RuntimeState,
  Section,
} from './api-types.js';

/** Where each section's data comes from; an absent loader leaves its section "not available yet". */
export interface SectionLoaders {
  map(checkReport: CheckReport | undefined): Promise<CouplingMap>;
  migrations?: () => Promise<MigrationsState>;
  /** Takes one runtime sample and returns the runtime state with its history. */
  runtime?: () => Promise<RuntimeState>;
}

export interface DashboardModelOptions {
  database: string;
  intervalMs: number;
  /** How often the map is rebuilt (catalog + manifest + usage); default max(5 × interval, 5 s). */
  mapRefreshMs?: number;
  loaders: SectionLoaders;
  /** Why a section has no loader, shown on the page. */
  unavailable?: { migrations?: string; runtime?: string };
  checkReport?: CheckReport;
}

type Listener = (event: DashboardEventName, section: Section<unknown>) => void;

function reasonOf(error: unknown): string {
  if (error instanceof PgpactError)
    return `${error.message}${error.hint ? ` (${error.hint})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

async function attempt<T>(load: () => Promise<T>): Promise<Section<T>> {
  try {
    return { available: true, data: await load() };
  } catch (error) {
    return { available: false, reason: reasonOf(error) };
  }
}

/** Sections compare equal when they differ only in when they were generated. */
function fingerprint(section: Section<unknown>): string {
  return JSON.stringify(section, (key, value) => (key === 'generatedAt' ? undefined : value));
}

/**
 * Holds the dashboard's current state, refreshes each section on its own timer,
 * and tells listeners when a section changed (they push it to open pages).
 */
export class DashboardModel {
  private readonly listeners = new Set<Listener>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly fingerprints = new Map<DashboardEventName, string>();
  private checkReport: CheckReport | undefined;
  private closed = false;
  readonly state: DashboardState;

  constructor(private readonly options: DashboardModelOptions) {
    this.checkReport = options.checkReport;
    this.state = {
      version: 1,
      database: options.database,
      intervalMs: options.intervalMs,
      map: { available: false, reason: 'loading' },
      migrations: { available: false, reason: options.unavailable?.migrations ?? 'loading' },
      runtime: { available: false, reason: options.unavailable?.runtime ?? 'loading' },
      checkReport: { available: true, data: options.checkReport ?? null },
    };
  }

  /** Subscribes to section changes; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(event: DashboardEventName, section: Section<unknown>): void {
    const print = fingerprint(section);
    if (this.fingerprints.get(event) === print) return;
    this.fingerprints.set(event, print);
    for (const listener of this.listeners) listener(event, section);
  }

  /** Rebuilds the coupling map now. */
  async refreshMap(): Promise<void> {
    const section = await attempt(() => this.options.loaders.map(this.checkReport));
    if (this.closed) return;
    this.state.map = section;
    this.publish('map', section);
  }

  /** Reads the migrations state now. */
  async refreshMigrations(): Promise<void> {
    const load = this.options.loaders.migrations;
    if (!load) return;
    const section = await attempt(load);
    if (this.closed) return;
    this.state.migrations = section;
    this.publish('migrations', section);
  }

  /** Takes one runtime sample now. */
  async refreshRuntime(): Promise<void> {
    const load = this.options.loaders.runtime;
    if (!load) return;
    const section = await attempt(load);
    if (this.closed) return;
    this.state.runtime = section;
    // Runtime changes every sample: always push it, with only the newest sample (pages keep the history).
    const pushed: Section<RuntimeState> = section.available
      ? { available: true, data: { ...section.data, samples: section.data.samples.slice(-1) } }
      : section;
    for (const listener of this.listeners) listener('runtime', pushed);
  }

  /** Loads (or, with null, clears) the check report and marks the map with it. */
  async setCheckReport(report: CheckReport | null): Promise<void> {
    this.checkReport = report ?? undefined;
    const section: Section<CheckReport | null> = { available: true, data: report };
    this.state.checkReport = section;
    this.publish('check-report', section);
    await this.refreshMap();
  }

  /** Loads every section once, then keeps refreshing them until close(). */
  async start(): Promise<void> {
    await Promise.all([this.refreshMap(), this.refreshMigrations(), this.refreshRuntime()]);
    const interval = this.options.intervalMs;
    this.every(interval, () => this.refreshRuntime());
    this.every(Math.max(interval * 2, 2000), () => this.refreshMigrations());
    this.every(this.options.mapRefreshMs ?? Math.max(interval * 5, 5000), () => this.refreshMap());
  }

  /** Runs task every ms, never overlapping with itself. */
  private every(ms: number, task: () => Promise<void>): void {
    const tick = () => {
      if (this.closed) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void task().finally(tick);
      }, ms);
      timer.unref();
      this.timers.add(timer);
    };
    tick();
  }

  /** Stops refreshing. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.listeners.clear();
  }
}
