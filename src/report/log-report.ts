import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import type { Manifest } from '../manifest/types.js';
import { type LogEntry, LogEntryParser } from '../runtime/log-entries.js';
import { parseLogTimestamp } from '../runtime/log-prefix.js';
import {
  type DeadlockReport,
  type LoggedLimit,
  type LoggedLockWait,
  LogReader,
} from '../runtime/log-reader.js';
import type { LogSource } from '../runtime/log-source.js';
import { nameService } from '../runtime/service-namer.js';
import { SessionDirectory } from '../runtime/session-directory.js';

/** Database time, calls, mean and p95 of one service or statement, from the log's duration lines. */
export interface DurationStats {
  calls: number;
  totalMs: number;
  meanMs: number;
  p95Ms: number;
}

export interface ServiceSummary extends DurationStats {
  service: string;
  /** Share of all logged database time (0..1). */
  share: number;
  lockWaitsAsWaiter: number;
  lockWaitsAsHolder: number;
  deadlocks: number;
  /** statement_timeout, lock_timeout, idle_in_transaction_session_timeout, ... hits. */
  timeouts: Record<string, number>;
  /** Statements cancelled by a user request (pg_cancel_backend, a client's cancel). */
  cancellations: number;
  /** Connections refused for the service's role (its CONNECTION LIMIT, or a full server). */
  refusedConnections: number;
}

export interface StatementSummary extends DurationStats {
  service: string;
  statement: string;
}

/** A lock wait over its whole life: the waiter, the holders and the holder's statement that took the lock. */
export interface LockWaitSummary {
  at: string | null;
  waiting: LoggedLockWait['waiting'];
  holders: (LoggedLockWait['holders'][number] & {
    /** The holder's last statement logged before the wait began (its transaction's), when the log has it. */
    statement: string | null;
  })[];
  mode: string;
  object: string;
  /** The longest wait the log reported for it. */
  waitedMs: number;
  /** acquired, deadlock, or waiting (the log does not say how it ended). */
  outcome: LoggedLockWait['state'];
  statement: string | null;
}

/** What happened per service over a period, after the fact, from the server log. */
export interface LogReport {
  file: string;
  lines: number;
  entries: number;
  /** The first and last timestamps read (ISO), within the period. */
  from: string | null;
  to: string | null;
  /** Whether the log had duration lines (log_min_duration_statement or log_duration). */
  durationsLogged: boolean;
  services: ServiceSummary[];
  /** The statements with the most database time (at most 20). */
  statements: StatementSummary[];
  lockWaits: LockWaitSummary[];
  deadlocks: DeadlockReport[];
  limits: LoggedLimit[];
}

export interface LogReportOptions {
  logFile: string;
  manifest?: Manifest;
  /** The server's log_line_prefix; guessed per line when absent. */
  prefix?: string;
  timeZone?: string;
  /** Only events at or after this time (ms since the epoch). */
  sinceMs?: number;
}

const DURATION =
  /^duration: ([\d.]+) ms(?:\s+(statement|execute [^:]*|parse [^:]*|bind [^:]*):\s*([\s\S]*))?$/;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

function statsOf(durations: number[]): DurationStats {
  const sorted = [...durations].sort((a, b) => a - b);
  const totalMs = sorted.reduce((s, x) => s + x, 0);
  return {
    calls: sorted.length,
    totalMs,
    meanMs: sorted.length > 0 ? totalMs / sorted.length : 0,
    p95Ms: percentile(sorted, 0.95),
  };
}

/** The whole file, in chunks, handed to the log reader; every entry also goes to `onEntry`. */
class WholeFileSource implements LogSource {
  readonly description: string;
  private offset = 0;
  lines = 0;
  private readonly parser: LogEntryParser;

  constructor(
    private readonly fd: number,
    file: string,
    prefix: string | undefined,
    private readonly onEntry: (entry: LogEntry) => void,
  ) {
    this.description = file;
    this.parser = new LogEntryParser(prefix);
  }

  async read(): Promise<string> {
    const buffer = Buffer.alloc(4 * 1024 * 1024);
    const n = fs.readSync(this.fd, buffer, 0, buffer.length, this.offset);
    // Cut at the last newline so no line is split between two reads.
    let end = n;
    if (n === buffer.length) {
      const nl = buffer.lastIndexOf(10, n - 1);
      end = nl >= 0 ? nl + 1 : n;
    }
    this.offset += end;
    const text = buffer.subarray(0, end).toString('utf8');
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lines += 1;
    for (const entry of this.parser.push(text)) this.onEntry(entry);
    return text;
  }
}

interface LoggedStatement {
  atMs: number;
  text: string;
}

/**
 * Reads a server log from its start and tells, per service, what happened: database time,
 * calls, mean and p95 from duration lines (per service and per statement), lock waits with
 * both sides and the holder's statement, deadlocks with every side, timeouts, cancellations
 * and refused connections. Any log_line_prefix (given, or guessed per line), csvlog, jsonlog.
 */
export async function buildLogReport(options: LogReportOptions): Promise<LogReport> {
  let fd: number;
  try {
    fd = fs.openSync(options.logFile, 'r');
  } catch (error) {
    throw new PgpactError(
      'USAGE',
      `cannot read the server log ${options.logFile}: ${(error as Error).message}`,
      {
        hint: 'pass the server log file with --log-file (the data directory log/ folder, or postgres.log)',
      },
    );
  }
  const directory = new SessionDirectory(200_000);
  const durations = new Map<string, number[]>();
  const byStatement = new Map<
    string,
    { service: string; statement: string; durations: number[] }
  >();
  const recentStatements = new Map<number, LoggedStatement[]>();
  const cancellations = new Map<string, number>();
  const timeOf = (e: LogEntry) =>
    e.timestamp ? parseLogTimestamp(e.timestamp, options.timeZone) : undefined;
  let firstMs: number | undefined;
  let lastMs: number | undefined;
  let entries = 0;
  const serviceOf = (e: LogEntry, atMs: number | undefined) => {
    const known = e.pid === undefined ? undefined : directory.lookup(e.pid, atMs);
    const role = e.user ?? known?.role ?? null;
    if (role === null) return e.pid === undefined ? 'unknown' : `process ${e.pid}`;
    return nameService(options.manifest, {
      role,
      applicationName: e.application ?? known?.applicationName ?? null,
    }).service;
  };
  const onEntry = (e: LogEntry) => {
    entries += 1;
    const atMs = timeOf(e);
    if (atMs !== undefined && options.sinceMs !== undefined && atMs < options.sinceMs) return;
    if (atMs !== undefined) {
      firstMs ??= atMs;
      lastMs = atMs;
    }
    if (e.severity === 'LOG') {
      const m = DURATION.exec(e.message);
      if (m) {
        const kind = m[2] ?? '';
        if (kind.startsWith('parse') || kind.startsWith('bind')) return;
        const ms = Number(m[1]);
        const text = (m[3] ?? e.statement ?? '').trim().replace(/\s+/g, ' ');
        const service = serviceOf(e, atMs);
        const list = durations.get(service) ?? [];
        list.push(ms);
        durations.set(service, list);
        if (text) {
          const key = `${service}\u0000${text}`;
          const s = byStatement.get(key) ?? { service, statement: text, durations: [] };
          s.durations.push(ms);
          byStatement.set(key, s);
          if (e.pid !== undefined && atMs !== undefined) {
            const mine = recentStatements.get(e.pid) ?? [];
            mine.push({ atMs: atMs - ms, text });
            if (mine.length > 20) mine.shift();
            recentStatements.set(e.pid, mine);
          }
        }
        return;
      }
    }
    if (e.severity === 'ERROR' && /^canceling statement due to user request/.test(e.message)) {
      const service = serviceOf(e, atMs);
      cancellations.set(service, (cancellations.get(service) ?? 0) + 1);
    }
  };
  const source = new WholeFileSource(fd, options.logFile, options.prefix, onEntry);
  const reader = new LogReader(source, {
    directory,
    ...(options.manifest ? { manifest: options.manifest } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}),
  });
  const waits: LoggedLockWait[] = [];
  const deadlocks: DeadlockReport[] = [];
  const limits: LoggedLimit[] = [];
  try {
    for (;;) {
      const result = await reader.read();
      waits.push(...result.lockWaits);
      deadlocks.push(...result.deadlocks);
      limits.push(...result.limits);
      if (result.entries === 0) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  const since = (at: string | null) =>
    options.sinceMs === undefined || at === null || Date.parse(at) >= options.sinceMs;
  const lockWaits = summarizeWaits(
    waits.filter((w) => since(w.at)),
    recentStatements,
  );
  const keptDeadlocks = deadlocks.filter((d) => since(d.at));
  const keptLimits = limits.filter((l) => since(l.at));

  const grandTotal = [...durations.values()].flat().reduce((s, x) => s + x, 0);
  const names = new Set<string>([
    ...durations.keys(),
    ...cancellations.keys(),
    ...lockWaits.flatMap((w) => [w.waiting.service, ...w.holders.map((h) => h.service)]),
    ...keptDeadlocks.flatMap((d) => d.services),
    ...keptLimits.map((l) => l.process.service),
  ]);
  const services: ServiceSummary[] = [...names].map((service) => {
    const stats = statsOf(durations.get(service) ?? []);
    const timeouts: Record<string, number> = {};
    for (const l of keptLimits)
      if (l.kind === 'limit-hit' && l.process.service === service)
        timeouts[l.limit] = (timeouts[l.limit] ?? 0) + 1;
    return {
      service,
      ...stats,
      share: grandTotal > 0 ? stats.totalMs / grandTotal : 0,
      lockWaitsAsWaiter: lockWaits.filter((w) => w.waiting.service === service).length,
      lockWaitsAsHolder: lockWaits.filter((w) => w.holders.some((h) => h.service === service))
        .length,
      deadlocks: keptDeadlocks.filter((d) => d.services.includes(service)).length,
      timeouts,
      cancellations: cancellations.get(service) ?? 0,
      refusedConnections: keptLimits.filter(
        (l) => l.kind === 'connection-refused' && l.process.service === service,
      ).length,
    };
  });
  services.sort((a, b) => b.totalMs - a.totalMs || a.service.localeCompare(b.service));
  const statements = [...byStatement.values()]
    .map((s) => ({ service: s.service, statement: s.statement, ...statsOf(s.durations) }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, 20);
  return {
    file: options.logFile,
    lines: source.lines,
    entries,
    from: firstMs === undefined ? null : new Date(firstMs).toISOString(),
    to: lastMs === undefined ? null : new Date(lastMs).toISOString(),
    durationsLogged: durations.size > 0,
    services,
    statements,
    lockWaits,
    deadlocks: keptDeadlocks,
    limits: keptLimits,
  };
}

/** One entry per wait (its waiter, mode and object), with its final state and longest time. */
function summarizeWaits(
  waits: LoggedLockWait[],
  recentStatements: Map<number, LoggedStatement[]>,
): LockWaitSummary[] {
  const byKey = new Map<string, LockWaitSummary>();
  for (const w of waits) {
    const key = `${w.waiting.pid}\u0000${w.mode}\u0000${w.object}`;
    const startMs = w.at === null ? undefined : Date.parse(w.at) - w.waitedMs;
    const known = byKey.get(key);
    const holders = (w.holders.length > 0 ? w.holders : []).map((h) => ({
      ...h,
      statement: holderStatement(recentStatements.get(h.pid), startMs, w.object),
    }));
    if (!known) {
      byKey.set(key, {
        at: w.at,
        waiting: w.waiting,
        holders,
        mode: w.mode,
        object: w.object,
        waitedMs: w.waitedMs,
        outcome: w.state,
        statement: w.statement,
      });
      continue;
    }
    known.waitedMs = Math.max(known.waitedMs, w.waitedMs);
    known.outcome = w.state;
    if (known.holders.length === 0) known.holders = holders;
  }
  return [...byKey.values()];
}

const TAKES_LOCKS =
  /^\s*(UPDATE|DELETE|INSERT|MERGE|LOCK|ALTER|TRUNCATE|DROP|CREATE\s+(UNIQUE\s+)?INDEX|REINDEX|VACUUM\s+FULL|CLUSTER)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b/i;

/**
 * The holder's statement that took the lock: among its statements that started before the
 * wait began, in its transaction (after its last BEGIN), the last one that writes or locks
 * rows or tables (the relation of the wait first). Null when the log does not have it.
 */
function holderStatement(
  statements: LoggedStatement[] | undefined,
  startMs: number | undefined,
  object: string,
): string | null {
  if (!statements || startMs === undefined) return null;
  const before = statements.filter((s) => s.atMs <= startMs);
  const begin = before
    .map((s) => /^\s*(BEGIN|START\s+TRANSACTION)\b/i.test(s.text))
    .lastIndexOf(true);
  const transaction = before.slice(begin + 1);
  const relation = /"([^"]+)"|relation (\S+)/.exec(object);
  const name = (relation?.[1] ?? relation?.[2] ?? '').split('.').pop() ?? '';
  const locking = transaction.filter((s) => TAKES_LOCKS.test(s.text));
  const onRelation = name ? locking.filter((s) => s.text.includes(name)) : [];
  return (onRelation.at(-1) ?? locking.at(-1))?.text ?? null;
}
