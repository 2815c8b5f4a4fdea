import type { Manifest } from '../manifest/types.js';
import { isConnection } from './sessions.js';
import type {
  Attribution,
  ConnectionCounts,
  ServiceRuntime,
  ServiceTotals,
  SessionInfo,
  StatementDelta,
} from './types.js';

/** What one sample knows, for building its per-service rows. */
export interface ServiceRowInput {
  manifest: Manifest | undefined;
  sessions: SessionInfo[];
  /** Connection limits of login roles that have one (pg_roles.rolconnlimit). */
  limits: Record<string, number>;
  /** Database time of the interval per service. */
  dbTime: Map<string, number>;
  /** Completed statements of the interval per service (all of them, not only those listed). */
  completed: Map<string, { calls: number; timeMs: number }>;
  /** The statements listed in the sample (the top ones). */
  statements: StatementDelta[];
  totalsOf(service: string): ServiceTotals;
  /** Services seen in earlier samples (kept so counters do not vanish). */
  knownServices: string[];
  roleOf(service: string): string;
  /** How a service not seen in this sample's sessions was attributed. */
  attributionOf(service: string): Attribution;
}

/**
 * One row per service: the manifest's services, every service with a session or
 * database time now, and every service seen before. Totals are advanced here.
 */
export function buildServiceRows(input: ServiceRowInput): ServiceRuntime[] {
  const rows = new Map<string, ServiceRuntime>();
  const rowOf = (service: string, attribution: Attribution): ServiceRuntime => {
    let row = rows.get(service);
    if (!row) {
      row = emptyRow(service, attribution, input.totalsOf(service));
      rows.set(service, row);
    }
    return row;
  };
  for (const s of input.manifest?.services ?? []) rowOf(s.name, 'manifest-role');

  const connections = input.sessions.filter(isConnection);
  for (const s of connections) {
    const row = rowOf(s.service, s.attribution);
    if (s.role !== null && !row.roles.includes(s.role)) row.roles.push(s.role);
    countState(row.connections, s.state);
    if (s.waitEventType === 'Lock') row.waiting += 1;
    if (s.transactionMs !== null)
      row.longestTransactionMs = Math.max(row.longestTransactionMs ?? 0, s.transactionMs);
    if (s.state?.startsWith('idle in transaction') && s.stateMs !== null) {
      row.longestIdleInTransactionMs = Math.max(row.longestIdleInTransactionMs ?? 0, s.stateMs);
    }
  }
  for (const s of input.sessions) {
    const worker = s.backendType === 'parallel worker';
    if (!worker && !isConnection(s)) continue;
    if (worker) rowOf(s.service, s.attribution).parallelWorkers += 1;
    if (s.state === 'active' && s.waitEventType === null)
      rowOf(s.service, s.attribution).busyProcesses += 1;
  }
  for (const [service, done] of input.completed) {
    const row = rowOf(service, input.attributionOf(service));
    row.calls += done.calls;
    row.statementTimeMs += done.timeMs;
  }
  for (const st of input.statements) {
    const row = rowOf(st.service, input.attributionOf(st.service));
    if (!row.topStatement || st.totalTimeMs > row.topStatement.totalTimeMs) row.topStatement = st;
  }
  for (const service of input.dbTime.keys()) rowOf(service, input.attributionOf(service));
  for (const service of input.knownServices) rowOf(service, input.attributionOf(service));

  const totalDbTime = [...input.dbTime.values()].reduce((a, b) => a + b, 0);
  for (const row of rows.values()) {
    const role = input.roleOf(row.service);
    if (!row.roles.includes(role) && row.attribution !== 'background') row.roles.unshift(role);
    row.connectionLimit = input.limits[role] ?? null;
    row.limitUsed = connections.filter((s) => s.role === role).length;
    row.dbTimeMs = input.dbTime.get(row.service) ?? 0;
    row.dbTimeShare = totalDbTime > 0 ? row.dbTimeMs / totalDbTime : 0;
    row.meanStatementMs = row.calls > 0 ? row.statementTimeMs / row.calls : null;
    row.totals.dbTimeMs += row.dbTimeMs;
    row.totals.calls += row.calls;
    // A copy: each sample in the history keeps the counters of its own time.
    row.totals = { ...row.totals };
  }
  return [...rows.values()].sort(
    (a, b) =>
      b.dbTimeMs - a.dbTimeMs ||
      b.connections.total - a.connections.total ||
      a.service.localeCompare(b.service),
  );
}

function emptyRow(
  service: string,
  attribution: Attribution,
  totals: ServiceTotals,
): ServiceRuntime {
  return {
    service,
    attribution,
    roles: [],
    connections: { total: 0, active: 0, idle: 0, idleInTransaction: 0, other: 0 },
    connectionLimit: null,
    limitUsed: 0,
    waiting: 0,
    busyProcesses: 0,
    parallelWorkers: 0,
    longestTransactionMs: null,
    longestIdleInTransactionMs: null,
    dbTimeMs: 0,
    dbTimeShare: 0,
    calls: 0,
    statementTimeMs: 0,
    meanStatementMs: null,
    topStatement: null,
    totals,
  };
}

function countState(counts: ConnectionCounts, state: string | null): void {
  counts.total += 1;
  if (state === 'active') counts.active += 1;
  else if (state === 'idle') counts.idle += 1;
  else if (state === 'idle in transaction') counts.idleInTransaction += 1;
  else counts.other += 1;
}
