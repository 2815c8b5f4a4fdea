import type { Manifest } from '../manifest/types.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import { LogEntryParser } from './log-entries.js';
import { interpretEntry, type LogEvent } from './log-events.js';
import { parseLogTimestamp } from './log-prefix.js';
import type { LogSource } from './log-source.js';
import { nameService } from './service-namer.js';
import type { SessionDirectory } from './session-directory.js';
import type { ServiceName } from './types.js';

/** A process named after the fact: its service, or `unknown-process` when nothing knew its pid. */
export interface NamedProcess {
  service: string;
  attribution: ServiceName['attribution'] | 'unknown-process';
  pid: number;
  role: string | null;
  applicationName: string | null;
}

/** One process of a logged deadlock. */
export interface DeadlockParty extends NamedProcess {
  /** E.g. `ShareLock on transaction 754`. */
  waitsFor: string;
  blockedBy: number;
  query: string;
}

/** A deadlock from the server log with every side named. */
export interface DeadlockReport {
  /** When it was detected (ISO), if the log's timestamp could be read. */
  at: string | null;
  database: string | null;
  /** The process whose transaction Postgres aborted to break the cycle. */
  victim: DeadlockParty;
  processes: DeadlockParty[];
  /** Where it happened, e.g. `while updating tuple (0,1) in relation "account"`. */
  context: string | null;
  /** The distinct services involved. */
  services: string[];
}

/** A lock wait the server logged (log_lock_waits), with waiter and holders named. */
export interface LoggedLockWait {
  at: string | null;
  state: 'waiting' | 'acquired' | 'deadlock';
  waiting: NamedProcess;
  holders: NamedProcess[];
  mode: string;
  /** What was waited for, with the row and relation from the log's CONTEXT when present. */
  object: string;
  waitedMs: number;
  statement: string | null;
}

/** A connection refused by a limit, or a statement/session ended by a per-service timeout. */
export interface LoggedLimit {
  at: string | null;
  kind: 'connection-refused' | 'limit-hit';
  /** role-limit / server-full for refusals; the setting for limit hits. */
  limit: string;
  process: NamedProcess;
}

/** What one read of the log found. */
export interface LogReadResult {
  deadlocks: DeadlockReport[];
  lockWaits: LoggedLockWait[];
  limits: LoggedLimit[];
  entries: number;
}

/** Options of a log reader. */
export interface LogReaderOptions {
  /** Pids seen by the sampler and the log; the reader adds what the log says. */
  directory: SessionDirectory;
  manifest?: Manifest;
  /** The server's log_line_prefix (SHOW log_line_prefix); guessed per line when absent. */
  prefix?: string;
  /** The server's log_timezone, to read zone abbreviations in timestamps. */
  timeZone?: string;
  /** Names relations a log message gives only by oid (`relation 16386 of database 5`). */
  resolveRelations?: (
    refs: { relation: number; database: number }[],
  ) => Promise<Map<string, string>>;
}

/**
 * Reads the server log incrementally and reports deadlocks, lock waits and
 * limit hits with services named on every side: from the line prefix (%u), the
 * connection lines (log_connections) and the sampler's memory of pids.
 */
export class LogReader {
  private readonly parser: LogEntryParser;
  /** Holders of waits logged as still waiting, for the later `acquired` line that names none. */
  private readonly waitHolders = new Map<string, number[]>();

  constructor(
    readonly source: LogSource,
    private readonly options: LogReaderOptions,
  ) {
    this.parser = new LogEntryParser(options.prefix);
  }

  /** Reads what the log gained since the previous read. */
  async read(): Promise<LogReadResult> {
    const entries = this.parser.push(await this.source.read());
    const { directory } = this.options;
    const timed = entries.map((entry) => ({
      entry,
      atMs: entry.timestamp ? parseLogTimestamp(entry.timestamp, this.options.timeZone) : undefined,
      event: interpretEntry(entry),
    }));
    // First everything the log says about who each pid is, then the events.
    for (const { entry, atMs, event } of timed) {
      if (entry.pid === undefined) continue;
      const at = atMs ?? Date.now();
      const role = event?.kind === 'connection' ? event.user : (entry.user ?? null);
      if (role !== null || event?.kind === 'connection') {
        directory.observe({
          pid: entry.pid,
          role,
          applicationName:
            event?.kind === 'connection'
              ? (event.application ?? null)
              : (entry.application ?? null),
          database: event?.kind === 'connection' ? event.database : (entry.database ?? null),
          startedMs: event?.kind === 'connection' ? at : undefined,
          firstSeenMs: at,
          lastSeenMs: at,
          source: 'log',
        });
      }
      if (event?.kind === 'disconnection') directory.end(entry.pid, at);
    }
    const result: LogReadResult = {
      deadlocks: [],
      lockWaits: [],
      limits: [],
      entries: entries.length,
    };
    for (const { atMs, event } of timed) {
      if (event) this.collect(event, atMs, result);
    }
    await this.nameRelations(result);
    return result;
  }

  private collect(event: LogEvent, atMs: number | undefined, result: LogReadResult): void {
    const at = atMs === undefined ? null : new Date(atMs).toISOString();
    const name = (pid: number) => this.nameProcess(pid, atMs);
    switch (event.kind) {
      case 'deadlock': {
        const processes = event.processes.map((p) => ({ ...name(p.pid), ...p }));
        const victim = processes.find((p) => p.pid === event.victimPid) ?? processes[0]!;
        result.deadlocks.push({
          at,
          database: event.entry.database ?? null,
          victim,
          processes,
          context: event.entry.context ?? null,
          services: [...new Set(processes.map((p) => p.service))],
        });
        return;
      }
      case 'lock-wait': {
        const key = `${event.pid}:${event.mode}:${event.lockObject}`;
        let holders = event.holders;
        if (event.state === 'acquired') {
          holders = holders.length > 0 ? holders : (this.waitHolders.get(key) ?? []);
          this.waitHolders.delete(key);
        } else if (holders.length > 0) {
          this.waitHolders.set(key, holders);
          if (this.waitHolders.size > 10_000)
            this.waitHolders.delete(this.waitHolders.keys().next().value!);
        }
        result.lockWaits.push({
          at,
          state: event.state,
          waiting: name(event.pid),
          holders: holders.map(name),
          mode: event.mode,
          object: describeLoggedLock(event.lockObject, event.entry.context),
          waitedMs: event.waitedMs,
          statement:
            event.entry.statement == null ? null : withholdSecretStatement(event.entry.statement),
        });
        return;
      }
      case 'connection-refused':
      case 'limit-hit': {
        const pid = event.entry.pid ?? 0;
        const process = name(pid);
        if (
          event.kind === 'connection-refused' &&
          event.role !== undefined &&
          process.role === null
        ) {
          Object.assign(
            process,
            { role: event.role },
            nameService(this.options.manifest, { role: event.role }),
          );
        }
        result.limits.push({
          at,
          kind: event.kind,
          limit: event.kind === 'connection-refused' ? event.reason : event.limit,
          process,
        });
        return;
      }
      default:
        return;
    }
  }

  private nameProcess(pid: number, atMs: number | undefined): NamedProcess {
    const known = this.options.directory.lookup(pid, atMs);
    if (!known || known.role === null) {
      return {
        service: `process ${pid}`,
        attribution: 'unknown-process',
        pid,
        role: null,
        applicationName: null,
      };
    }
    const name = nameService(this.options.manifest, {
      role: known.role,
      applicationName: known.applicationName,
    });
    return { ...name, pid, role: known.role, applicationName: known.applicationName };
  }

  /** Replaces `relation <oid> of database <oid>` with the relation's name where it can be resolved. */
  private async nameRelations(result: LogReadResult): Promise<void> {
    const resolve = this.options.resolveRelations;
    if (!resolve) return;
    const texts = [
      ...result.lockWaits.map((w) => w.object),
      ...result.deadlocks.flatMap((d) => d.processes.map((p) => p.waitsFor)),
    ];
    const refs = new Map<string, { relation: number; database: number }>();
    for (const text of texts) {
      for (const m of text.matchAll(/relation (\d+) of database (\d+)/g)) {
        refs.set(m[0], { relation: Number(m[1]), database: Number(m[2]) });
      }
    }
    if (refs.size === 0) return;
    const names = await resolve([...refs.values()]).catch(() => new Map<string, string>());
    const rename = (text: string) =>
      text.replace(/relation (\d+) of database (\d+)/g, (all, rel: string, db: string) => {
        const found = names.get(`${rel}:${db}`);
        return found ? `relation ${found}` : all;
      });
    for (const w of result.lockWaits) w.object = rename(w.object);
    for (const d of result.deadlocks) for (const p of d.processes) p.waitsFor = rename(p.waitsFor);
  }
}

/** `transaction 755` + CONTEXT `while updating tuple (0,2) in relation "t"` → `row (0,2) of "t" (transaction 755)`. */
export function describeLoggedLock(lockObject: string, context: string | undefined): string {
  const row = /tuple (\(\d+,\d+\)) in relation "((?:[^"]|"")*)"/.exec(context ?? '');
  if (row && /^transaction \d+$/.test(lockObject))
    return `row ${row[1]} of "${row[2]}" (${lockObject})`;
  return lockObject;
}
