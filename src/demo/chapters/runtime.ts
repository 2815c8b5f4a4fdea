import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { isServerError } from '../../errors.js';
import { connect } from '../../postgres/client.js';
import type { RuntimeFindingOptions } from '../../runtime/findings.js';
import { FileLogSource, type LogSource, ServerLogSource } from '../../runtime/log-source.js';
import { type RuntimeReport, RuntimeMonitor } from '../../runtime/monitor.js';
import { localServerCpus } from '../../runtime/server-cpus.js';
import { renderTop } from '../../runtime/top-view.js';
import type { DemoContext } from '../types.js';

/**
 * What the runtime chapters share: the monitor `pgpact top` runs (sampler, log
 * reader, findings) on the demo's database and server log, sessions opened as
 * a service's role, and `top`'s own rendering of a report.
 */

/** Width of the `pgpact top` lines the chapters print. */
const TOP_WIDTH = 180;

/** A monitor on its own connection, as `pgpact top` opens one. */
export interface DemoMonitor {
  monitor: RuntimeMonitor;
  /** Where the server log is read from, or null when no log is readable (deadlocks only counted). */
  log: string | null;
  intervalMs: number;
  tick(): Promise<RuntimeReport>;
  /**
   * Ticks every intervalMs and returns after ms (one tick when ms <= intervalMs),
   * early when until(report) holds or the demo is interrupted; returns the reports.
   */
  sampleFor(ms: number, until?: (report: RuntimeReport) => boolean): Promise<RuntimeReport[]>;
  close(): Promise<void>;
}

/**
 * The demo server's log: the file pgpact's own servers (throwaway and embedded)
 * write next to their data directory, else the server's log over SQL when the
 * logging collector is on and readable, else none.
 */
export async function demoServerLog(client: pg.Client): Promise<LogSource | undefined> {
  const dataDir = await client
    .query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`)
    .then((r) => r.rows[0]?.dir)
    .catch(() => undefined);
  if (dataDir !== undefined) {
    const file = path.join(path.dirname(dataDir), 'postgres.log');
    try {
      fs.accessSync(file, fs.constants.R_OK);
      return new FileLogSource(file);
    } catch {
      // Not one of pgpact's servers, or not on this machine.
    }
  }
  return (await ServerLogSource.readable(client)) ? new ServerLogSource(client) : undefined;
}

/** Opens the monitor on the demo database as `pgpact top` would (superuser connection, manifest, log). */
export async function openDemoMonitor(
  ctx: DemoContext,
  options: { intervalMs: number; findings?: Partial<RuntimeFindingOptions> },
): Promise<DemoMonitor> {
  const client = await connect(ctx.adminUrl, { applicationName: 'pgpact top' });
  try {
    const log = await demoServerLog(client);
    const monitor = await RuntimeMonitor.create(client, {
      manifest: ctx.manifest,
      log,
      findings: options.findings,
      // As pgpact top does: the machine's CPUs when the server runs here.
      serverCpus: localServerCpus(ctx.adminUrl),
      // Top statements every second: the chapters are short.
      statementDetailIntervalMs: 1000,
    });
    const tick = () => monitor.tick();
    return {
      monitor,
      log: log?.description ?? null,
      intervalMs: options.intervalMs,
      tick,
      async sampleFor(ms, until) {
        const reports: RuntimeReport[] = [];
        const end = Date.now() + ms;
        while (!ctx.signal.aborted) {
          const next = Date.now() + options.intervalMs;
          const report = await tick();
          reports.push(report);
          if (until?.(report)) break;
          await ctx.sleep(Math.max(0, Math.min(next, end) - Date.now()));
          if (next >= end) break;
        }
        return reports;
      },
      close: () => client.end().catch(() => undefined),
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** A connection of one service (its own role), with its backend pid. */
export interface ServiceSession {
  service: string;
  client: pg.Client;
  pid: number;
}

/** Connects as the service's own role with an application_name of its own (e.g. `users migration`). */
export async function openServiceSession(
  ctx: DemoContext,
  service: string,
  applicationName: string,
): Promise<ServiceSession> {
  const url = ctx.services[service]?.databaseUrl;
  if (url === undefined) throw new Error(`the ${service} service is not running`);
  const client = await connect(url, { applicationName });
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { service, client, pid: Number(rows[0]!.pid) };
}

/** Closes sessions, ignoring broken ones. */
export async function closeSessions(sessions: (ServiceSession | undefined)[]): Promise<void> {
  await Promise.all(sessions.map((s) => s?.client.end().catch(() => undefined)));
}

/** How a statement ended: its duration, and the server error if it failed. */
export interface Settled {
  ms: number;
  error?: { sqlstate: string; message: string };
}

/** Runs a query and resolves with how it ended (never rejects on a server error). */
export function settle(client: pg.Client, sql: string, params: unknown[] = []): Promise<Settled> {
  const began = performance.now();
  return client.query(sql, params).then(
    () => ({ ms: performance.now() - began }),
    (error: unknown) => {
      if (!isServerError(error)) throw error;
      return {
        ms: performance.now() - began,
        error: { sqlstate: error.code ?? '', message: error.message },
      };
    },
  );
}

/** The lines of one section of `pgpact top`'s frame for a report (the service table, LOCK WAITS, ...). */
export function topSection(
  monitor: DemoMonitor,
  report: RuntimeReport,
  section: 'services' | 'LOCK WAITS' | 'DEADLOCKS',
): string[] {
  const frame = renderTop(report, {
    width: TOP_WIDTH,
    target: 'pgpact_demo',
    intervalMs: monitor.intervalMs,
    history: monitor.monitor.sampler.history,
  }).split('\n');
  // The frame: a title, a blank line, the service table, then titled sections separated by blank lines.
  const start = section === 'services' ? 2 : frame.findIndex((l) => l.startsWith(section)) + 1;
  if (start <= 0) return [];
  const end = frame.indexOf('', start);
  return frame.slice(start, end === -1 ? undefined : end);
}

/** Lines printed as one measured entry: the first line, then the rest indented under it. */
export function block(title: string, lines: string[]): string {
  return [title, ...lines.map((l) => `    ${l}`)].join('\n       ');
}

/** `1.2 s`, `350 ms`. */
export function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
