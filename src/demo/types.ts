import type { TrafficStats } from '../../examples/shared-database/traffic/stats.js';
import type { Manifest } from '../manifest/types.js';

/** A measured value a chapter reports as data (JSON-serialisable). */
export type Figure = number | string | boolean | null | Figure[] | { [key: string]: Figure };

/** What one chapter did and measured, and whether the story held. */
export interface ChapterResult {
  /** 'ok' when everything the chapter expected happened. */
  outcome: 'ok' | 'failed';
  /** What the chapter did, one printable line each. */
  did: string[];
  /** What it measured, one printable line each. */
  measured: string[];
  /** The measurements as data, for --json and tests. */
  figures: Record<string, Figure>;
  /** Why the outcome is 'failed' (empty when ok). */
  problems: string[];
}

/** One of the three example services, as started by the demo. */
export interface DemoService {
  name: string;
  /** Its login role. */
  role: string;
  /** Base URL of its HTTP API, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  pid: number;
  /** The database URL it connects with (its own role; contains the password: never print unredacted). */
  databaseUrl: string;
  /** Its log file (stdout and stderr). */
  logFile: string;
}

/** How a deploy handed the traffic over from the old instance to the new one (all measured). */
export interface Handover {
  /** From starting the new process until its /health answered 200. */
  readyMs: number;
  /** Requests in flight to the old instance when the traffic moved (each then answered by it). */
  inFlightAtSwitch: number;
  /** From SIGTERM to the old process's exit: it stopped accepting, finished and closed its connections. */
  drainMs: number;
  /** The old process's exit code: 0 when it drained by itself (null: it had to be killed). */
  oldExitCode: number | null;
}

/** A service after a deploy: the new instance, and how the traffic got to it. */
export interface RestartedService extends DemoService {
  handover: Handover;
}

/** How to restart a service with another version. */
export interface RestartOptions {
  /** Another entry point, relative to the example folder without extension, e.g. `invoicing/main-v2`. */
  entry?: string;
  /** Extra environment variables (merged over DATABASE_URL, PORT, POOL_SIZE). */
  env?: Record<string, string>;
}

/** Everything a chapter may use; the demo owns it and tears it down after the last chapter. */
export interface DemoContext {
  /** Superuser URL of the demo database (contains the password: print with redactUrl). */
  adminUrl: string;
  manifest: Manifest;
  /** Absolute path of examples/shared-database (pgpact.yaml, migrations). */
  exampleDir: string;
  /** The demo's state directory: credentials.json, logs/ (temporary unless --keep). */
  stateDir: string;
  /** The running services by name; restartService updates the entry. */
  services: Record<string, DemoService>;
  /**
   * Deploys a service again, possibly as another version, as teams do in production: the new
   * instance starts on a free port and must answer /health, the traffic moves to it, and only
   * then the old one drains (stops accepting, finishes in-flight requests, closes, exits).
   */
  restartService(name: string, options?: RestartOptions): Promise<RestartedService>;
  /** The steady traffic running against all three services since setup. */
  traffic: { readonly startedAt: number; stats(from?: number, to?: number): TrafficStats };
  /** How long a chapter that measures load should measure (--duration). */
  durationSeconds: number;
  /** Aborted on Ctrl-C: stop waiting and return. */
  signal: AbortSignal;
  /** Waits ms, or less when the demo is interrupted. */
  sleep(ms: number): Promise<void>;
  /** Reports progress while a chapter runs (shown as it happens). */
  progress(text: string): void;
}

/**
 * One chapter of the story: a module in src/demo/chapters/, listed in chapters/index.ts
 * (the monolith's: src/demo/monolith/chapters/, with a MonolithContext).
 */
export interface DemoChapter<C = DemoContext> {
  /** Stable id, kebab-case, e.g. `ownership-enforced`. */
  id: string;
  title: string;
  /** The line of the article this chapter answers. */
  articleQuote: string;
  run(ctx: C): Promise<ChapterResult>;
}
