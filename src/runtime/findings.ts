import { sortFindings } from '../findings.js';
import type { DeadlockReport, LoggedLimit, LoggedLockWait, NamedProcess } from './log-reader.js';
import {
  DEFAULT_NOISY_NEIGHBOUR,
  findNoisyNeighbours,
  type NoisyNeighbourOptions,
  timeOf,
} from './noisy-neighbour.js';
import type { RuntimeFinding, RuntimeParty } from './runtime-finding.js';
import { describeService } from './service-namer.js';
import type { LockWait, RuntimeSample, ServiceName, SessionInfo } from './types.js';

/** Thresholds of the runtime findings. */
export interface RuntimeFindingOptions {
  /** A lock wait at least this long is a warning (shorter ones are info). Default 1000 ms. */
  lockWaitWarnMs: number;
  /** A service using this fraction of its connection limit is near it (info). Default 0.8. */
  nearLimitRatio: number;
  /** How long log events (deadlocks, refusals, finished waits) stay findings. Default 15 min. */
  logWindowMs: number;
  noisyNeighbour: Partial<NoisyNeighbourOptions>;
}

export const DEFAULT_RUNTIME_FINDING_OPTIONS: RuntimeFindingOptions = {
  lockWaitWarnMs: 1000,
  nearLimitRatio: 0.8,
  logWindowMs: 15 * 60_000,
  noisyNeighbour: DEFAULT_NOISY_NEIGHBOUR,
};

/** What the findings are computed from: the sampler's history and what the log reader found. */
export interface RuntimeFindingInput {
  history: readonly RuntimeSample[];
  deadlocks?: readonly DeadlockReport[];
  loggedLockWaits?: readonly LoggedLockWait[];
  loggedLimits?: readonly LoggedLimit[];
  /** Noisy-neighbour findings already computed (e.g. kept by a NoisyNeighbourLatch); else from the history. */
  noisyNeighbours?: RuntimeFinding[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const consumers = (parties: RuntimeParty[]) =>
  [...new Set(parties.map((p) => p.service))].map((service) => ({
    service,
    source: 'observed' as const,
  }));
const party = (
  s: ServiceName | NamedProcess,
  as: RuntimeParty['as'],
  pid?: number,
): RuntimeParty => ({
  service: s.service,
  attribution: s.attribution,
  as,
  ...(pid === undefined ? {} : { pid }),
});
const who = (s: SessionInfo) =>
  `${describeService(s)} (pid ${s.pid}${s.state ? `, ${s.state}` : ''}${s.transactionMs !== null ? `, transaction open ${seconds(s.transactionMs)}` : ''})`;

/**
 * The runtime findings now: lock waits and idle-in-transaction blockers from
 * the last sample, services at or near their connection limit (and refused
 * connections from the log), deadlocks from the log, and noisy neighbours from
 * the history's last two windows. Every side is named.
 */
export function runtimeFindings(
  input: RuntimeFindingInput,
  options: Partial<RuntimeFindingOptions> = {},
): RuntimeFinding[] {
  const o = { ...DEFAULT_RUNTIME_FINDING_OPTIONS, ...options };
  const last = input.history.at(-1);
  const findings: RuntimeFinding[] = [];
  const nowMs = last ? Date.parse(last.takenAt) : Date.now();
  const recent = <T extends { at: string | null }>(items: readonly T[] = []) =>
    items.filter((i) => i.at === null || nowMs - Date.parse(i.at) <= o.logWindowMs);

  if (last) {
    for (const wait of last.lockWaits) findings.push(...lockWaitFindings(wait, last.takenAt, o));
    findings.push(...connectionLimitFindings(last, o));
  }
  for (const d of recent(input.deadlocks)) findings.push(deadlockFinding(d));
  findings.push(...refusalFindings(recent(input.loggedLimits), last?.takenAt ?? null));
  for (const w of recent(input.loggedLockWaits)) {
    if (w.state !== 'acquired' || w.waitedMs < o.lockWaitWarnMs) continue;
    const parties = [
      party(w.waiting, 'waiting', w.waiting.pid),
      ...w.holders.map((h) => party(h, 'holding', h.pid)),
    ];
    findings.push({
      severity: 'info',
      kind: 'lock-wait',
      object: w.object,
      consumers: consumers(parties),
      parties,
      at: w.at,
      message: `${describeService(w.waiting)} (pid ${w.waiting.pid}) waited ${seconds(w.waitedMs)} for ${w.mode} on ${w.object}${w.holders.length > 0 ? ` held by ${w.holders.map((h) => `${describeService(h)} (pid ${h.pid})`).join(', ')}` : ''} (from the server log)`,
    });
  }
  const loggedDeadlocks = recent(input.deadlocks).length;
  const counted = input.history
    .filter((s) => nowMs - timeOf(s) <= o.logWindowMs)
    .reduce((sum, s) => sum + s.deadlocks.delta, 0);
  if (counted > loggedDeadlocks) {
    findings.push({
      severity: 'warning',
      kind: 'deadlock',
      object: 'server',
      consumers: [],
      parties: [],
      at: last?.takenAt ?? null,
      message: `${counted - loggedDeadlocks} deadlock(s) counted by pg_stat_database that the server log did not name`,
      suggestion:
        'give pgpact the server log (--log-file) with log_line_prefix including %p and %u, or log_connections = on',
    });
  }
  findings.push(
    ...(input.noisyNeighbours ?? findNoisyNeighbours(input.history, { ...o.noisyNeighbour })),
  );
  return sortFindings(findings) as RuntimeFinding[];
}

function lockWaitFindings(wait: LockWait, at: string, o: RuntimeFindingOptions): RuntimeFinding[] {
  const holders = wait.holding;
  const parties = [
    party(wait.waiting, 'waiting', wait.waiting.pid),
    ...holders.map((h) => party(h, 'holding', h.pid)),
  ];
  const out: RuntimeFinding[] = [
    {
      severity: wait.waitedMs >= o.lockWaitWarnMs ? 'warning' : 'info',
      kind: 'lock-wait',
      object: wait.object.description,
      consumers: consumers(parties),
      parties,
      at,
      message: `${who(wait.waiting)} has waited ${seconds(wait.waitedMs)} for ${wait.mode} on ${wait.object.description}, held by ${holders.map(who).join(', ') || 'an unknown process'}`,
    },
  ];
  for (const holder of holders) {
    if (!holder.state?.startsWith('idle in transaction')) continue;
    const p = [
      party(holder, 'holding', holder.pid),
      party(wait.waiting, 'waiting', wait.waiting.pid),
    ];
    out.push({
      severity: 'warning',
      kind: 'idle-in-transaction-blocker',
      object: wait.object.description,
      consumers: consumers(p),
      parties: p,
      at,
      message: `${describeService(holder)} (pid ${holder.pid}) is idle in a transaction open for ${seconds(holder.transactionMs ?? 0)} and holds ${wait.object.description}, which ${describeService(wait.waiting)} (pid ${wait.waiting.pid}) has waited for ${seconds(wait.waitedMs)}`,
      suggestion: `commit or roll back sooner in ${holder.service}; set idle_in_transaction_session_timeout in its limits`,
    });
  }
  return out;
}

function connectionLimitFindings(
  sample: RuntimeSample,
  o: RuntimeFindingOptions,
): RuntimeFinding[] {
  const out: RuntimeFinding[] = [];
  for (const row of sample.services) {
    const limit = row.connectionLimit;
    if (limit === null || (limit === 0 && row.limitUsed === 0)) continue;
    const atLimit = row.limitUsed >= limit;
    if (!atLimit && row.limitUsed < Math.ceil(limit * o.nearLimitRatio)) continue;
    const p = [party(row, 'at-limit')];
    out.push({
      severity: atLimit ? 'warning' : 'info',
      kind: 'connection-limit',
      object: `service ${row.service}`,
      consumers: consumers(p),
      parties: p,
      at: sample.takenAt,
      message: `${describeService(row)} uses ${row.limitUsed} of its ${limit} connections (role ${row.roles[0] ?? row.service})${atLimit ? ': new connections are refused' : ''}`,
      suggestion: atLimit
        ? `find idle or leaked connections of ${row.service} (pgpact top --service ${row.service}), or raise limits.connections`
        : undefined,
    });
  }
  const usable = sample.maxConnections;
  if (usable > 0 && sample.totalConnections >= usable * 0.9) {
    const top = [...sample.services]
      .sort((a, b) => b.connections.total - a.connections.total)
      .slice(0, 3);
    const p = top.map((r) => party(r, 'at-limit'));
    out.push({
      severity: 'warning',
      kind: 'connection-limit',
      object: 'server',
      consumers: consumers(p),
      parties: p,
      at: sample.takenAt,
      message: `the server has ${sample.totalConnections} of max_connections ${usable} in use; most by ${top.map((r) => `${describeService(r)} (${r.connections.total})`).join(', ')}`,
      suggestion: 'set limits.connections per service so one service cannot take every slot',
    });
  }
  return out;
}

function refusalFindings(limits: LoggedLimit[], at: string | null): RuntimeFinding[] {
  const refused = new Map<string, { process: NamedProcess; count: number; last: string | null }>();
  for (const l of limits) {
    if (l.kind !== 'connection-refused' || l.limit !== 'role-limit') continue;
    const item = refused.get(l.process.service) ?? { process: l.process, count: 0, last: null };
    item.count += 1;
    item.last = l.at ?? item.last;
    refused.set(l.process.service, item);
  }
  return [...refused.values()].map(({ process, count, last }) => {
    const p = [party(process, 'refused')];
    return {
      severity: 'warning',
      kind: 'connection-limit',
      object: `service ${process.service}`,
      consumers: consumers(p),
      parties: p,
      at: last ?? at,
      message: `${describeService(process)} had ${count} connection(s) refused: too many connections for role ${JSON.stringify(process.role ?? process.service)} (from the server log)`,
      suggestion: `check ${process.service}'s pool size against its limits.connections`,
    };
  });
}

function deadlockFinding(d: DeadlockReport): RuntimeFinding {
  const parties = d.processes.map((p) =>
    party(p, p.pid === d.victim.pid ? 'victim' : 'deadlocked', p.pid),
  );
  const relation = /in relation "((?:[^"]|"")*)"/.exec(d.context ?? '')?.[1];
  const cycle = d.processes
    .map(
      (p) =>
        `${describeService(p)} (pid ${p.pid}) waited for ${p.waitsFor} held by pid ${p.blockedBy}`,
    )
    .join('; ');
  return {
    severity: 'warning',
    kind: 'deadlock',
    object: relation ?? d.processes[0]?.waitsFor ?? 'server',
    consumers: consumers(parties),
    parties,
    at: d.at,
    message: `deadlock between ${[...new Set(d.processes.map(describeService))].join(' and ')}: ${cycle}; Postgres aborted ${describeService(d.victim)}'s transaction`,
    suggestion:
      'lock rows in one agreed order in every service (e.g. by primary key), or retry on SQLSTATE 40P01',
  };
}
