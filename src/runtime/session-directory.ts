/**
 * A bounded memory of which process id belonged to which role and service, fed by
 * the sampler (pg_stat_activity) and the server log (connection lines, line
 * prefixes). It lets a deadlock or lock wait read later from the log name both
 * sides after their sessions ended. Process ids are reused by the OS, so each
 * record keeps the time range it was seen in and lookups are by time.
 */

/** What is remembered about one session. */
export interface SessionRecord {
  pid: number;
  role: string | null;
  applicationName: string | null;
  database: string | null;
  /** Server time (ms since epoch) the session started, when known exactly (backend_start, connection log). */
  startedMs?: number;
  /** Server time it was first seen. */
  firstSeenMs: number;
  /** Server time it was last seen alive. */
  lastSeenMs: number;
  /** Server time it ended, when a disconnection was logged. */
  endedMs?: number;
  source: 'sampler' | 'log';
}

/** A ring buffer of sessions keyed by process id and start; the oldest records are dropped first. */
export class SessionDirectory {
  private readonly records = new Map<number, SessionRecord>();
  /** Record ids per pid, so each observation looks at one pid's few records, not all. */
  private readonly byPid = new Map<number, Set<number>>();
  private nextId = 0;

  constructor(private readonly capacity = 20_000) {}

  /** Records or refreshes a session; fields already known are kept when the update lacks them. */
  observe(record: SessionRecord): void {
    const [key, current] = this.findSame(record) ?? [this.nextId++, undefined];
    const merged: SessionRecord = current
      ? {
          ...current,
          role: record.role ?? current.role,
          applicationName: preferKnown(record.applicationName, current.applicationName),
          database: record.database ?? current.database,
          startedMs: current.startedMs ?? record.startedMs,
          firstSeenMs: Math.min(current.firstSeenMs, record.firstSeenMs),
          lastSeenMs: Math.max(current.lastSeenMs, record.lastSeenMs),
          endedMs: record.endedMs ?? current.endedMs,
          source: current.source === 'sampler' ? 'sampler' : record.source,
        }
      : record;
    this.records.delete(key);
    this.records.set(key, merged);
    let ids = this.byPid.get(merged.pid);
    if (!ids) {
      ids = new Set();
      this.byPid.set(merged.pid, ids);
    }
    ids.add(key);
    while (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  private forget(id: number): void {
    const record = this.records.get(id);
    this.records.delete(id);
    if (!record) return;
    const ids = this.byPid.get(record.pid);
    ids?.delete(id);
    if (ids?.size === 0) this.byPid.delete(record.pid);
  }

  private recordsOf(pid: number): [number, SessionRecord][] {
    return [...(this.byPid.get(pid) ?? [])].map((id) => [id, this.records.get(id)!]);
  }

  /** Marks the session pid had at atMs as ended. */
  end(pid: number, atMs: number): void {
    const found = this.findSame({ pid, firstSeenMs: atMs, lastSeenMs: atMs });
    if (found) found[1].endedMs = atMs;
  }

  /**
   * The session pid belonged to at a time: the one whose range covers it, else
   * the latest one started before it, else the latest one known.
   */
  lookup(pid: number, atMs?: number): SessionRecord | undefined {
    const candidates = this.recordsOf(pid).map(([, r]) => r);
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => startOf(b) - startOf(a));
    if (atMs === undefined) return candidates[0];
    const before = candidates.filter((r) => startOf(r) <= atMs + SLACK_MS);
    return (
      before.find((r) => (r.endedMs ?? Number.POSITIVE_INFINITY) >= atMs - SLACK_MS) ??
      before[0] ??
      candidates[0]
    );
  }

  /** How many sessions are remembered. */
  get size(): number {
    return this.records.size;
  }

  /** The remembered session an observation belongs to (same pid, overlapping lifetime), if any. */
  private findSame(
    record: Pick<SessionRecord, 'pid' | 'firstSeenMs' | 'lastSeenMs' | 'startedMs'>,
  ): [number, SessionRecord] | undefined {
    let found: [number, SessionRecord] | undefined;
    for (const [id, r] of this.recordsOf(record.pid)) {
      if (r.endedMs !== undefined && record.firstSeenMs > r.endedMs + SLACK_MS) continue;
      if (record.startedMs !== undefined && r.startedMs !== undefined) {
        if (Math.abs(record.startedMs - r.startedMs) > SLACK_MS) continue;
      } else if (record.startedMs !== undefined && record.startedMs > r.lastSeenMs + SLACK_MS)
        continue;
      else if (r.startedMs !== undefined && record.lastSeenMs < r.startedMs - SLACK_MS) continue;
      if (!found || startOf(r) > startOf(found[1])) found = [id, r];
    }
    return found;
  }
}

/** Tolerance between clocks and log/sampler timestamps of the same event. */
const SLACK_MS = 1000;

function startOf(record: SessionRecord): number {
  return record.startedMs ?? record.firstSeenMs;
}

function preferKnown(next: string | null, current: string | null): string | null {
  if (next === null || next === '' || next === '[unknown]') return current ?? next;
  return next;
}
