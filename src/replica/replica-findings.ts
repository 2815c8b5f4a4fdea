import type { RuntimeFinding } from '../runtime/runtime-finding.js';
import { describeService } from '../runtime/service-namer.js';
import type { RecoveryConflict, ReplicaSample } from './types.js';

/** Thresholds of the replica findings. */
export interface ReplicaFindingOptions {
  /** A replica transaction open this long, with hot_standby_feedback on, holds back the primary. Default 60 s. */
  xminHoldbackMs: number;
  /** Recovery conflicts logged within this window are findings. Default 10 min. */
  conflictWindowMs: number;
}

export const DEFAULT_REPLICA_FINDING_OPTIONS: ReplicaFindingOptions = {
  xminHoldbackMs: 60_000,
  conflictWindowMs: 600_000,
};

const duration = (ms: number) =>
  ms < 60_000
    ? `${(ms / 1000).toFixed(1)}s`
    : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;

/**
 * Findings about replicas: the transaction whose snapshot holds back the primary's xmin
 * through hot_standby_feedback (`replica-xmin-holdback`, its service and age named), and
 * queries cancelled by recovery conflicts (`recovery-conflict`, their service named).
 */
export function replicaFindings(
  replicas: ReplicaSample[],
  conflicts: readonly RecoveryConflict[],
  options: Partial<ReplicaFindingOptions> = {},
  nowMs = Date.now(),
): RuntimeFinding[] {
  const o = { ...DEFAULT_REPLICA_FINDING_OPTIONS, ...options };
  const findings: RuntimeFinding[] = [];
  for (const r of replicas) {
    const s = r.oldestSnapshot;
    if (!r.hotStandbyFeedback || s === null || s.attribution === 'background') continue;
    if (s.transactionMs === null || s.transactionMs < o.xminHoldbackMs) continue;
    const primary = r.onPrimary
      ? `; the primary keeps xmin ${s.xmin} for its standby ${r.onPrimary.applicationName}${r.onPrimary.xminAge === null ? '' : ` (${r.onPrimary.xminAge} transactions old)`}`
      : '';
    findings.push({
      severity: 'warning',
      kind: 'replica-xmin-holdback',
      object: `replica ${r.server}`,
      consumers: [],
      message: `a transaction of ${describeService(s)} (pid ${s.pid}) on replica ${r.server}, open ${duration(s.transactionMs)}, holds back the primary's xmin through hot_standby_feedback: vacuum on the primary cannot remove rows any service deleted or updated since${primary}`,
      suggestion: `shorten ${describeService(s)}'s transactions on the replica (idle_in_transaction_session_timeout, statement_timeout in its limits), or run its long reports on a replica without hot_standby_feedback`,
      parties: [{ service: s.service, attribution: s.attribution, as: 'holding', pid: s.pid }],
      at: r.sample?.takenAt ?? null,
    });
  }
  for (const c of conflicts) {
    if (c.at !== null && nowMs - Date.parse(c.at) > o.conflictWindowMs) continue;
    findings.push({
      severity: 'warning',
      kind: 'recovery-conflict',
      object: `replica ${c.server}`,
      consumers: [],
      message: `${c.action === 'cancelled' ? 'a query' : 'the session'} of ${describeService(c)}${c.pid === null ? '' : ` (pid ${c.pid})`} on replica ${c.server} was ${c.action} by a recovery conflict${c.at ? ` at ${c.at}` : ''}${c.reason ? `: ${c.reason}` : ''}`,
      suggestion:
        'WAL replay needed rows or locks the query used: raise max_standby_streaming_delay on the replica, or turn hot_standby_feedback on (the primary then keeps those rows, at the cost of bloat)',
      parties: [
        {
          service: c.service,
          attribution: c.attribution,
          as: 'victim',
          ...(c.pid === null ? {} : { pid: c.pid }),
        },
      ],
      at: c.at,
    });
  }
  return findings;
}
