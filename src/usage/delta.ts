/**
 * Observation windows. pg_stat_statements counters only grow (until a reset or an
 * eviction), so each snapshot stores the raw counters it saw; the next observation
 * subtracts them per (role, query id, nesting level) and keeps what ran in between.
 */
import type { StatementStat, StatementStats } from './statement-stats.js';
import type { StatementCounter, UsageSnapshot } from './types.js';

/** The statements of one window and how the window was taken. */
export interface ObservationWindow {
  stats: StatementStats;
  mode: 'delta' | 'since-reset' | 'file';
  /** ISO start of the window, when known. */
  start?: string;
  /** Why a delta was not possible, when one was asked for. */
  note?: string;
}

function counterKey(role: string, queryId: string, toplevel: boolean): string {
  return `${role}\u0000${queryId}\u0000${toplevel ? 1 : 0}`;
}

/** The raw counters to store with a snapshot. */
export function countersOf(stats: StatementStats): StatementCounter[] {
  return stats.entries.map((e) => ({
    role: e.role,
    queryId: e.queryId,
    toplevel: e.toplevel,
    calls: e.calls,
    rows: e.rows,
    totalTimeMs: e.totalTimeMs,
  }));
}

/**
 * The window to analyze: with a usable previous snapshot of the same database and the same
 * reset time, the difference since it (entries that did not run are left out; an entry whose
 * calls went down was evicted and re-added, so it counts in full); otherwise everything since
 * the last reset.
 */
export function observationWindow(
  current: StatementStats,
  previous: UsageSnapshot | undefined,
): ObservationWindow {
  if (current.source === 'file')
    return {
      stats: current,
      mode: 'file',
      ...(current.statsReset ? { start: current.statsReset } : {}),
    };
  const sinceReset: ObservationWindow = {
    stats: current,
    mode: 'since-reset',
    ...(current.statsReset ? { start: current.statsReset } : {}),
  };
  if (!previous) return sinceReset;
  if (!previous.counters) return { ...sinceReset, note: 'the previous snapshot holds no counters' };
  if (previous.database !== current.database) {
    return { ...sinceReset, note: `the previous snapshot is of database ${previous.database}` };
  }
  if ((previous.counters.statsReset ?? '') !== (current.statsReset ?? '')) {
    return { ...sinceReset, note: 'pg_stat_statements was reset since the previous snapshot' };
  }
  const before = new Map<string, StatementCounter>();
  for (const c of previous.counters.entries)
    before.set(counterKey(c.role, c.queryId, c.toplevel), c);
  const entries: StatementStat[] = [];
  for (const e of current.entries) {
    const old = before.get(counterKey(e.role, e.queryId, e.toplevel));
    if (!old || e.calls < old.calls) {
      entries.push(e);
      continue;
    }
    const calls = e.calls - old.calls;
    if (calls === 0) continue;
    entries.push({
      ...e,
      calls,
      rows: Math.max(0, e.rows - old.rows),
      totalTimeMs: Math.max(0, e.totalTimeMs - old.totalTimeMs),
    });
  }
  return { stats: { ...current, entries }, mode: 'delta', start: previous.takenAt };
}
