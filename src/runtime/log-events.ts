import { withholdSecretStatement } from '../sql/secret-statements.js';
import type { LogEntry } from './log-entries.js';

/**
 * Recognises the log messages pgpact attributes to services. The texts are
 * Postgres's English messages (lc_messages = 'C' or an English locale).
 */

/** A process of a deadlock as the server logged it. */
export interface LoggedDeadlockProcess {
  pid: number;
  /** E.g. `ShareLock on transaction 754`. */
  waitsFor: string;
  blockedBy: number;
  query: string;
}

export type LogEvent =
  | { kind: 'connection'; entry: LogEntry; user: string; database: string; application?: string }
  | { kind: 'disconnection'; entry: LogEntry; user?: string }
  | {
      kind: 'lock-wait';
      entry: LogEntry;
      pid: number;
      /** still-waiting, acquired, or deadlock (it went on to detect a deadlock). */
      state: 'waiting' | 'acquired' | 'deadlock';
      mode: string;
      /** E.g. `transaction 755`, `tuple (0,1) of relation 16386 of database 5`. */
      lockObject: string;
      waitedMs: number;
      holders: number[];
      queue: number[];
    }
  | { kind: 'deadlock'; entry: LogEntry; victimPid: number; processes: LoggedDeadlockProcess[] }
  | {
      kind: 'connection-refused';
      entry: LogEntry;
      role?: string;
      reason: 'role-limit' | 'server-full';
    }
  | {
      kind: 'limit-hit';
      entry: LogEntry;
      limit:
        | 'statement_timeout'
        | 'lock_timeout'
        | 'idle_in_transaction_session_timeout'
        | 'transaction_timeout';
    };

const LOCK_WAIT =
  /^process (\d+) (still waiting for|acquired|detected deadlock while waiting for) (\S+) on (.+) after ([\d.]+) ms/;

/** The event a log entry reports, if it is one pgpact uses. */
export function interpretEntry(entry: LogEntry): LogEvent | undefined {
  const m = entry.message;
  if (entry.severity === 'LOG') {
    const conn =
      /^(?:replication )?connection authorized: user=(.*?)(?: database=(.*?))?(?: application_name=(.*?))?(?: (?:SSL|GSS) .*)?$/s.exec(
        m,
      );
    if (conn)
      return {
        kind: 'connection',
        entry,
        user: conn[1]!,
        database: conn[2] ?? '',
        application: conn[3],
      };
    const disc = /^disconnection: session time: \S+ user=(.*?) database=/s.exec(m);
    if (disc) return { kind: 'disconnection', entry, user: disc[1] };
    const wait = LOCK_WAIT.exec(m);
    if (wait) {
      const { holders, queue } = holdersOf(entry.detail);
      const state =
        wait[2] === 'acquired'
          ? 'acquired'
          : wait[2] === 'still waiting for'
            ? 'waiting'
            : 'deadlock';
      return {
        kind: 'lock-wait',
        entry,
        pid: Number(wait[1]),
        state,
        mode: wait[3]!,
        lockObject: wait[4]!,
        waitedMs: Number(wait[5]),
        holders,
        queue,
      };
    }
    return undefined;
  }
  if (entry.severity === 'ERROR' && m === 'deadlock detected' && entry.detail) {
    const processes = deadlockProcesses(entry.detail);
    if (processes.length > 0)
      return { kind: 'deadlock', entry, victimPid: entry.pid ?? processes[0]!.pid, processes };
  }
  if (entry.severity === 'FATAL') {
    const role = /^too many connections for role "(.*)"$/s.exec(m);
    if (role) return { kind: 'connection-refused', entry, role: role[1], reason: 'role-limit' };
    if (/^(sorry, too many clients already|remaining connection slots are reserved)/.test(m)) {
      return { kind: 'connection-refused', entry, role: entry.user, reason: 'server-full' };
    }
    if (/^terminating connection due to idle-in-transaction timeout/.test(m)) {
      return { kind: 'limit-hit', entry, limit: 'idle_in_transaction_session_timeout' };
    }
    if (/^terminating connection due to transaction timeout/.test(m)) {
      return { kind: 'limit-hit', entry, limit: 'transaction_timeout' };
    }
  }
  if (entry.severity === 'ERROR') {
    if (m === 'canceling statement due to statement timeout')
      return { kind: 'limit-hit', entry, limit: 'statement_timeout' };
    if (m === 'canceling statement due to lock timeout')
      return { kind: 'limit-hit', entry, limit: 'lock_timeout' };
  }
  return undefined;
}

/** `Process holding the lock: 8480. Wait queue: 8479, 8481.` */
function holdersOf(detail: string | undefined): { holders: number[]; queue: number[] } {
  const pids = (text: string | undefined) =>
    (text ?? '')
      .split(/[,\s]+/)
      .filter((p) => /^\d+$/.test(p))
      .map(Number);
  const holding = /Process(?:es)? holding the lock: ([\d, ]*)\./.exec(detail ?? '');
  const queue = /Wait queue: ([\d, ]*)\./.exec(detail ?? '');
  return { holders: pids(holding?.[1]), queue: pids(queue?.[1]) };
}

/**
 * The DETAIL of `deadlock detected`: first one `Process A waits for M on X; blocked by process B.`
 * line per process, then `Process A: <query>` lines (a query may span several lines).
 */
export function deadlockProcesses(detail: string): LoggedDeadlockProcess[] {
  const processes = new Map<number, LoggedDeadlockProcess>();
  let queryOf: LoggedDeadlockProcess | undefined;
  for (const line of detail.split('\n')) {
    const waits = /^Process (\d+) waits for (.+?); blocked by process (\d+)\.$/.exec(line);
    if (waits) {
      const pid = Number(waits[1]);
      processes.set(pid, { pid, waitsFor: waits[2]!, blockedBy: Number(waits[3]), query: '' });
      queryOf = undefined;
      continue;
    }
    const query = /^Process (\d+): (.*)$/s.exec(line);
    if (query && processes.has(Number(query[1]))) {
      queryOf = processes.get(Number(query[1]))!;
      queryOf.query = query[2]!;
      continue;
    }
    if (queryOf) queryOf.query += `\n${line}`;
  }
  return [...processes.values()].map((p) => ({ ...p, query: withholdSecretStatement(p.query) }));
}
