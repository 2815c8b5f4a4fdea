import type { Manifest } from '../manifest/types.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import { lockObjectOf } from './lock-object.js';
import type { ActivityRow, LockWaitRow } from './sampler-queries.js';
import { toNumber } from './sampler-queries.js';
import { isClientBackend, nameService } from './service-namer.js';
import type { SessionDirectory } from './session-directory.js';
import type { LockWait, SessionInfo } from './types.js';

/** Builds the sessions of a sample; a parallel worker is named after its leader's service. */
export function sessionsOf(rows: ActivityRow[], manifest: Manifest | undefined): SessionInfo[] {
  const byPid = new Map(rows.map((r) => [r.pid, r]));
  return rows.map((row) => {
    const leader =
      row.leader_pid !== null && row.leader_pid !== row.pid ? byPid.get(row.leader_pid) : undefined;
    const naming = leader ?? row;
    const name = nameService(manifest, {
      role: naming.role,
      applicationName: naming.application_name,
      backendType: naming.backend_type,
    });
    return {
      ...name,
      pid: row.pid,
      role: row.role,
      applicationName: row.application_name,
      database: row.database,
      backendType: row.backend_type,
      state: row.state,
      backendStart: row.backend_start?.toISOString() ?? null,
      transactionMs: toNumber(row.transaction_ms),
      stateMs: toNumber(row.state_ms),
      waitEventType: row.wait_event_type,
      waitEvent: row.wait_event,
      // pg_stat_activity shows e.g. an ALTER ROLE ... PASSWORD a session ran last: never passed on.
      query: withholdSecretStatement(row.query),
      blockedBy: row.blocked_by ?? [],
    };
  });
}

/** Whether a session counts as a connection of its service (client backends only). */
export function isConnection(session: SessionInfo): boolean {
  return isClientBackend(session.backendType) && session.role !== null;
}

/** A session the sampler no longer sees, rebuilt from the directory (it ended between two queries). */
function rememberedSession(
  pid: number,
  directory: SessionDirectory,
  manifest: Manifest | undefined,
  atMs: number,
): SessionInfo {
  const known = directory.lookup(pid, atMs);
  const role = known?.role ?? null;
  const name = known
    ? nameService(manifest, { role, applicationName: known.applicationName })
    : { service: `pid ${pid}`, attribution: 'background' as const };
  return {
    ...name,
    pid,
    role,
    applicationName: known?.applicationName ?? '',
    database: known?.database ?? null,
    backendType: known ? 'client backend' : 'unknown',
    state: null,
    backendStart: null,
    transactionMs: null,
    stateMs: null,
    waitEventType: null,
    waitEvent: null,
    query: '',
    blockedBy: [],
  };
}

/** Joins each waiting lock with its waiting session and the sessions blocking it. */
export function lockWaitsOf(
  rows: LockWaitRow[],
  sessions: SessionInfo[],
  directory: SessionDirectory,
  manifest: Manifest | undefined,
  atMs: number,
): LockWait[] {
  const byPid = new Map(sessions.map((s) => [s.pid, s]));
  const waits: LockWait[] = [];
  for (const row of rows) {
    const waiting = byPid.get(row.pid);
    if (!waiting) continue;
    const holding = waiting.blockedBy.map(
      (pid) => byPid.get(pid) ?? rememberedSession(pid, directory, manifest, atMs),
    );
    waits.push({
      waiting,
      holding,
      object: lockObjectOf(row),
      lockType: row.locktype,
      mode: row.mode,
      waitedMs: Math.max(0, toNumber(row.waited_ms) ?? 0),
      since: row.waitstart?.toISOString() ?? null,
    });
  }
  return waits.sort((a, b) => b.waitedMs - a.waitedMs);
}
