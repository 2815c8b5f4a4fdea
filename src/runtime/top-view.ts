import { poolLines } from '../pool/pool-view.js';
import { replicaLines } from '../replica/replica-view.js';
import type { RuntimeReport } from './monitor.js';
import type { RuntimeFinding } from './runtime-finding.js';
import { describeService } from './service-namer.js';
import type {
  LockWait,
  RuntimeSample,
  ServiceRuntime,
  SessionInfo,
  StatementDelta,
} from './types.js';

/** How to draw a frame of `pgpact top`. */
export interface TopViewOptions {
  /** Terminal columns; lines are cut to fit. */
  width: number;
  /** Drill down into one service. */
  service?: string;
  /** What is being watched, for the title (no password). */
  target: string;
  intervalMs: number;
  /** Earlier samples, for statements that did not complete in the last interval. */
  history?: readonly RuntimeSample[];
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const duration = (ms: number | null) =>
  ms === null
    ? '-'
    : ms < 1000
      ? `${Math.round(ms)}ms`
      : ms < 60_000
        ? `${(ms / 1000).toFixed(1)}s`
        : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
const meanMs = (ms: number | null) =>
  ms === null ? '-' : ms >= 100 ? `${Math.round(ms)}ms` : `${ms.toFixed(2)}ms`;
const clock = (iso: string | null) => (iso ? iso.slice(11, 19) : '--:--:--');

function fitWidth(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = header.map((h, i) =>
    Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)),
  );
  const pad = (cells: string[]) =>
    cells
      .map((c, i) => {
        if (i === cells.length - 1) return c;
        const space = ' '.repeat(Math.max(0, widths[i]! - [...c].length));
        return rightAligned.has(i) ? space + c : c + space;
      })
      .join('  ');
  return [pad(header), ...rows.map(pad)];
}

/** The statement to show for a service: the last interval's top one, an earlier one, or what runs now. */
function statementFor(
  row: ServiceRuntime,
  sample: RuntimeSample,
  history: readonly RuntimeSample[],
): string {
  if (row.topStatement) return oneLine(row.topStatement.query);
  const running = sample.sessions
    .filter((s) => s.service === row.service && s.state === 'active')
    .sort((a, b) => (b.stateMs ?? 0) - (a.stateMs ?? 0))[0];
  if (running) return `(running ${duration(running.stateMs)}) ${oneLine(running.query)}`;
  for (let i = history.length - 1; i >= Math.max(0, history.length - 30); i -= 1) {
    const earlier = history[i]!.services.find((s) => s.service === row.service)?.topStatement;
    if (earlier) return oneLine(earlier.query);
  }
  return '';
}

function serviceLabel(row: { service: string; attribution: string }): string {
  return row.attribution === 'unknown-role'
    ? `${row.service} (unknown role)`
    : describeService(row);
}

/** `users pid 12 [users-api]`: the application name helps when services share a role. */
function processLabel(s: SessionInfo): string {
  const app = s.applicationName && s.applicationName !== s.service ? ` [${s.applicationName}]` : '';
  return `${serviceLabel(s)} pid ${s.pid}${app}`;
}

function lockWaitLine(w: LockWait): string {
  const holders = w.holding
    .map(
      (h) =>
        `${processLabel(h)} (${h.state ?? 'gone'}${h.transactionMs !== null ? `, tx ${duration(h.transactionMs)}` : ''}): ${oneLine(h.query)}`,
    )
    .join(' | ');
  return `${processLabel(w.waiting)} waits ${duration(w.waitedMs)} for ${w.mode} on ${w.object.description} ← ${holders || 'unknown holder'}`;
}

function findingLines(findings: RuntimeFinding[]): string[] {
  return findings.map((f) => `${f.severity.padEnd(7)} ${f.kind}: ${oneLine(f.message)}`);
}

function involves(finding: RuntimeFinding, service: string): boolean {
  return finding.parties.some((p) => p.service === service);
}

/** Aggregates the statements of the last samples for one service. */
function statementsOf(
  service: string,
  history: readonly RuntimeSample[],
  count = 30,
): StatementDelta[] {
  const sums = new Map<string, StatementDelta>();
  for (const sample of history.slice(-count)) {
    for (const st of sample.topStatements.filter((s) => s.service === service)) {
      const sum = sums.get(st.queryId) ?? { ...st, calls: 0, totalTimeMs: 0 };
      sum.calls += st.calls;
      sum.totalTimeMs += st.totalTimeMs;
      sum.meanTimeMs = sum.calls > 0 ? sum.totalTimeMs / sum.calls : 0;
      sums.set(st.queryId, sum);
    }
  }
  return [...sums.values()].sort((a, b) => b.totalTimeMs - a.totalTimeMs).slice(0, 10);
}

/** Draws one frame of `pgpact top` as plain lines (the caller adds the terminal control codes). */
export function renderTop(report: RuntimeReport, options: TopViewOptions): string {
  const { sample } = report;
  const history = options.history ?? [sample];
  const lines: string[] = [];
  lines.push(
    `pgpact top · ${options.target} · ${clock(sample.takenAt)} · every ${duration(options.intervalMs)} · ${sample.totalConnections}/${sample.maxConnections} connections · sample ${sample.sampleDurationMs.toFixed(1)} ms`,
  );
  lines.push('');
  if (options.service === undefined) {
    const rows = sample.services.map((s) => [
      serviceLabel(s),
      `${s.limitUsed}/${s.connectionLimit ?? '-'}`,
      String(s.connections.active),
      s.parallelWorkers > 0
        ? `${s.busyProcesses} (${s.parallelWorkers} par.)`
        : String(s.busyProcesses),
      String(s.connections.idleInTransaction),
      String(s.waiting),
      duration(s.longestTransactionMs),
      `${Math.round(s.dbTimeShare * 100)}%`,
      meanMs(s.meanStatementMs),
      statementFor(s, sample, history),
    ]);
    lines.push(
      ...table(
        [
          'SERVICE',
          'CONN/LIMIT',
          'ACTIVE',
          'BUSY',
          'IDLE-TX',
          'WAITING',
          'LONGEST-TX',
          'DB TIME',
          'MEAN',
          'TOP STATEMENT',
        ],
        rows,
        new Set([1, 2, 3, 4, 5, 6, 7, 8]),
      ),
    );
  } else {
    lines.push(...drillDown(report, options.service, history));
  }
  const service = options.service;
  const waits = sample.lockWaits.filter(
    (w) =>
      service === undefined ||
      w.waiting.service === service ||
      w.holding.some((h) => h.service === service),
  );
  lines.push('', `LOCK WAITS (${waits.length})`, ...waits.map(lockWaitLine));
  const deadlocks = report.deadlocks
    .filter((d) => service === undefined || d.services.includes(service))
    .slice(-5);
  if (deadlocks.length > 0) {
    lines.push('', 'DEADLOCKS (server log)');
    for (const d of deadlocks) {
      const sides = d.processes
        .map((p) => `${serviceLabel(p)} pid ${p.pid}${p.pid === d.victim.pid ? ' (aborted)' : ''}`)
        .join(' ↔ ');
      lines.push(`${clock(d.at)} ${sides}${d.context ? ` — ${d.context}` : ''}`);
    }
  }
  if (report.pool) lines.push('', ...poolLines(report.pool, service));
  if (report.replicas) lines.push('', ...replicaLines(report.replicas, service));
  const findings = report.findings.filter((f) => service === undefined || involves(f, service));
  lines.push('', `FINDINGS (${findings.length})`, ...findingLines(findings));
  const log = report.log.source
    ? `log: ${report.log.source}${report.log.error ? ` (unreadable: ${report.log.error})` : ''}`
    : 'log: none (deadlocks counted, not named; pass --log-file)';
  lines.push('', log, ...sample.notes.map((n) => `note: ${n}`));
  return lines.map((l) => fitWidth(l, options.width)).join('\n');
}

function drillDown(
  report: RuntimeReport,
  service: string,
  history: readonly RuntimeSample[],
): string[] {
  const { sample } = report;
  const row = sample.services.find((s) => s.service === service);
  const lines: string[] = [];
  if (!row) return [`service ${service}: no sessions or statements seen yet`];
  lines.push(
    `SERVICE ${serviceLabel(row)} · roles ${row.roles.join(', ')} · connections ${row.limitUsed}/${row.connectionLimit ?? 'unlimited'} · active ${row.connections.active} · busy ${row.busyProcesses}${row.parallelWorkers > 0 ? ` (${row.parallelWorkers} parallel workers)` : ''} · idle ${row.connections.idle} · idle in transaction ${row.connections.idleInTransaction} · waiting ${row.waiting} · DB time ${Math.round(row.dbTimeShare * 100)}% · mean ${meanMs(row.meanStatementMs)}`,
  );
  const sessions: SessionInfo[] = sample.sessions.filter((s) => s.service === service);
  lines.push('', `SESSIONS (${sessions.length})`);
  lines.push(
    ...table(
      ['PID', 'APPLICATION', 'STATE', 'TX AGE', 'IN STATE', 'WAIT', 'QUERY'],
      sessions.map((s) => [
        String(s.pid),
        s.applicationName,
        s.state ?? '-',
        duration(s.transactionMs),
        duration(s.stateMs),
        s.waitEventType ? `${s.waitEventType}:${s.waitEvent ?? ''}` : '',
        oneLine(s.query),
      ]),
      new Set([0, 3, 4]),
    ),
  );
  const statements = statementsOf(service, history);
  lines.push('', `TOP STATEMENTS (last ${Math.min(history.length, 30)} samples)`);
  lines.push(
    ...table(
      ['CALLS', 'TOTAL', 'MEAN', 'QUERY'],
      statements.map((s) => [
        String(s.calls),
        meanMs(s.totalTimeMs),
        meanMs(s.meanTimeMs),
        oneLine(s.query),
      ]),
      new Set([0, 1, 2]),
    ),
  );
  return lines;
}
