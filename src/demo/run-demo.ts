import { redactUrl } from '../postgres/client.js';
import { DEMO_CHAPTERS } from './chapters/index.js';
import { DemoInterrupted, type StartedResources, setUpDemo } from './environment.js';
import { MONOLITH_CHAPTERS } from './monolith/chapters/index.js';
import { setUpMonolith } from './monolith/environment.js';
import type { KeptDemo } from './keep-state.js';
import type { ChapterResult, DemoChapter, DemoContext } from './types.js';

/** How to run the demo. */
export interface DemoOptions {
  /** Use this server instead of a throwaway embedded one (the demo creates database pgpact_demo on it). */
  databaseUrl?: string;
  /** Leave Postgres, the services and traffic running (Postgres: the demo's own under .pgpact/demo/). */
  keep?: boolean;
  /** Seconds the load chapter measures (default 5). */
  durationSeconds?: number;
  /** Requests per second of the background traffic (default 100). */
  trafficRate?: number;
  /** Accounts to seed (default 5000). */
  accounts?: number;
  /** The chapters to tell (default: all, in order). */
  chapters?: DemoChapter[];
  /** Tell the brownfield story instead: the one-schema monolith (examples/monolith) adopting pgpact. */
  monolith?: boolean;
  /** Called as the demo goes, for live output. */
  onEvent?(event: DemoEvent): void;
}

/** A chapter as events name it (either story's). */
export type ChapterInfo = Pick<DemoChapter, 'id' | 'title' | 'articleQuote'>;

/** What the demo reports as it goes. */
export type DemoEvent =
  | { type: 'setup'; text: string }
  | { type: 'chapter-start'; index: number; chapter: ChapterInfo }
  | { type: 'chapter-progress'; chapter: ChapterInfo; text: string }
  | { type: 'chapter-end'; index: number; chapter: ChapterInfo; result: ChapterResult; ms: number }
  | { type: 'teardown'; text: string };

/** One chapter's entry in the report. */
export interface ChapterEntry extends ChapterResult {
  id: string;
  title: string;
  articleQuote: string;
  ms: number;
}

/** The demo's result as data. */
export interface DemoReport {
  /** Every chapter's outcome was ok (and the demo was not interrupted). */
  ok: boolean;
  interrupted: boolean;
  serverKind?: string;
  /** The demo database URL, password redacted. */
  database?: string;
  setup: string[];
  chapters: ChapterEntry[];
  timings: { setupMs: number; chaptersMs: number; teardownMs: number; totalMs: number };
  /** What --keep left running. */
  kept?: KeptDemo;
  /** The processes and temporary directories the demo started (all gone after it, unless --keep). */
  started?: StartedResources;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** What either story's environment offers the runner. */
interface StoryEnvironment {
  serverKind: string;
  adminUrl: string;
  started: StartedResources;
  teardown(): Promise<void>;
  leaveRunning?(): Promise<KeptDemo>;
}

/** Everything a chapter context has that does not depend on the story. */
type ChapterBase = Pick<DemoContext, 'signal' | 'sleep' | 'progress'>;

/**
 * Tells the article's story on a running system: sets it up, runs each chapter,
 * and stops everything it started (also when interrupted), unless keep. With
 * `monolith`, the brownfield story instead (src/demo/monolith).
 */
export async function runDemo(options: DemoOptions, signal: AbortSignal): Promise<DemoReport> {
  const setup = {
    trafficRate: options.trafficRate ?? 100,
    signal,
  };
  if (options.monolith) {
    return runStory(
      options,
      signal,
      MONOLITH_CHAPTERS,
      (progress) => setUpMonolith({ ...setup, accounts: options.accounts ?? 2000, progress }),
      (env, base) => ({
        ...base,
        adminUrl: env.adminUrl,
        exampleDir: env.exampleDir,
        stateDir: env.stateDir,
        manifestFile: env.manifestFile,
        services: env.services,
        restartService: env.restartService,
        traffic: env.traffic,
      }),
    );
  }
  return runStory(
    options,
    signal,
    options.chapters ?? DEMO_CHAPTERS,
    (progress) =>
      setUpDemo({
        ...setup,
        databaseUrl: options.databaseUrl,
        keep: options.keep === true,
        accounts: options.accounts ?? 5000,
        progress,
      }),
    (env, base) => ({
      ...base,
      adminUrl: env.adminUrl,
      manifest: env.manifest,
      exampleDir: env.exampleDir,
      stateDir: env.stateDir,
      services: env.services,
      restartService: env.restartService,
      traffic: env.traffic,
      durationSeconds: options.durationSeconds ?? 5,
    }),
  );
}

async function runStory<E extends StoryEnvironment, C>(
  options: DemoOptions,
  signal: AbortSignal,
  chapters: DemoChapter<C>[],
  setUp: (progress: (text: string) => void) => Promise<E>,
  contextFor: (env: E, base: ChapterBase) => C,
): Promise<DemoReport> {
  const emit = options.onEvent ?? (() => undefined);
  const t0 = Date.now();
  const report: DemoReport = {
    ok: false,
    interrupted: false,
    setup: [],
    chapters: [],
    timings: { setupMs: 0, chaptersMs: 0, teardownMs: 0, totalMs: 0 },
  };
  let env: E | undefined;
  try {
    env = await setUp((text) => {
      report.setup.push(text);
      emit({ type: 'setup', text });
    });
  } catch (error) {
    if (!(error instanceof DemoInterrupted)) throw error;
  }
  report.timings.setupMs = Date.now() - t0;
  const t1 = Date.now();
  let keepRunning = false;
  try {
    if (env) {
      report.serverKind = env.serverKind;
      report.started = env.started;
      report.database = redactUrl(env.adminUrl);
      for (const [index, chapter] of chapters.entries()) {
        if (signal.aborted) break;
        emit({ type: 'chapter-start', index, chapter });
        const ctx = contextFor(env, {
          signal,
          sleep: (ms) => abortableSleep(ms, signal),
          progress: (text) => emit({ type: 'chapter-progress', chapter, text }),
        });
        const began = Date.now();
        let result: ChapterResult;
        try {
          result = await chapter.run(ctx);
        } catch (error) {
          result = {
            outcome: 'failed',
            did: [],
            measured: [],
            figures: {},
            problems: [`the chapter stopped: ${describeError(error)}`],
          };
        }
        if (signal.aborted) break;
        const ms = Date.now() - began;
        report.chapters.push({
          id: chapter.id,
          title: chapter.title,
          articleQuote: chapter.articleQuote,
          ms,
          ...result,
        });
        emit({ type: 'chapter-end', index, chapter, result, ms });
      }
    }
    report.interrupted = signal.aborted;
    report.ok =
      !report.interrupted &&
      env !== undefined &&
      report.chapters.length === chapters.length &&
      report.chapters.every((c) => c.outcome === 'ok');
    report.timings.chaptersMs = Date.now() - t1;
    if (env?.leaveRunning && options.keep && !signal.aborted) {
      report.kept = await env.leaveRunning();
      keepRunning = true;
    }
  } finally {
    const t2 = Date.now();
    if (env && !keepRunning) {
      emit({ type: 'teardown', text: 'stopping the traffic, the services and Postgres' });
      await env.teardown();
    }
    report.timings.teardownMs = Date.now() - t2;
    report.timings.totalMs = Date.now() - t0;
  }
  return report;
}

function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return `${code}${typeof e.message === 'string' ? e.message : String(error)}`;
}
