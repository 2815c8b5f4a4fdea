import { describeService } from '../runtime/service-namer.js';
import type { ReplicaSample } from './types.js';

const seconds = (ms: number | null) =>
  ms === null ? '-' : ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
const bytes = (n: number | null) =>
  n === null
    ? '-'
    : n < 1024 * 1024
      ? `${Math.round(n / 1024)}kB`
      : `${(n / 1024 / 1024).toFixed(1)}MB`;

/** The replicas section of `pgpact top`: lag and feedback per server, sessions and DB time per service. */
export function replicaLines(replicas: ReplicaSample[], service?: string): string[] {
  const lines: string[] = [`REPLICAS (${replicas.length})`];
  for (const r of replicas) {
    if (r.error !== null) {
      lines.push(`server=${r.server}: unreadable: ${r.error}`);
      continue;
    }
    const conflicts = Object.entries(r.conflictsByService)
      .filter(([s]) => service === undefined || s === service)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    lines.push(
      `server=${r.server}${r.standby ? '' : ' (not a standby)'} · lag ${bytes(r.lagBytes)} · replayed ${seconds(r.replayDelayMs)} ago · hot_standby_feedback ${r.hotStandbyFeedback ? 'on' : 'off'} · recovery conflicts ${r.conflictsTotal}${conflicts ? ` (log: ${conflicts})` : ''}`,
    );
    const rows = (r.sample?.services ?? []).filter(
      (s) =>
        s.attribution !== 'background' &&
        s.connections.total > 0 &&
        (service === undefined || s.service === service),
    );
    for (const s of rows) {
      lines.push(
        `  ${describeService(s)}: ${s.connections.total} sessions, ${s.connections.active} active, oldest transaction ${seconds(s.longestTransactionMs)}, DB time ${Math.round(s.dbTimeShare * 100)}%`,
      );
    }
  }
  return lines;
}
