import type { DeadlockReport } from '../runtime/log-reader.js';
import { htmlLogReport } from './html-log-report.js';
import type { LockWaitSummary, LogReport, ServiceSummary } from './log-report.js';

export type LogReportFormat = 'text' | 'json' | 'markdown' | 'html';

const ms = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x >= 10 ? 0 : x >= 1 ? 1 : 3)} ms`;
const pct = (x: number) => `${Math.round(x * 100)}%`;
const cut = (sql: string, n = 100) => (sql.length > n ? `${sql.slice(0, n - 3)}...` : sql);

function timeouts(s: ServiceSummary): string {
  const parts = Object.entries(s.timeouts).map(([k, v]) => `${v} ${k}`);
  return parts.length > 0 ? parts.join(', ') : '0';
}

function waitLine(w: LockWaitSummary): string {
  const holders =
    w.holders.length > 0
      ? w.holders
          .map(
            (h) =>
              `${h.service} (pid ${h.pid}${h.statement ? `, took it with: ${cut(h.statement, 80)}` : ', statement that took the lock not in the log'})`,
          )
          .join(', ')
      : 'a holder the log does not name';
  return `${w.at ?? '?'} ${w.waiting.service} (pid ${w.waiting.pid}) waited ${ms(w.waitedMs)} for ${w.mode} on ${w.object}, held by ${holders}; ${w.outcome}`;
}

function deadlockLine(d: DeadlockReport): string {
  return `${d.at ?? '?'} ${d.processes.map((p) => `${p.service} (pid ${p.pid}: ${cut(p.query, 60)})`).join(' ↔ ')}; aborted: ${d.victim.service} (pid ${d.victim.pid})`;
}

/** The report as text, JSON, a Markdown document or a self-contained HTML page. */
export function formatLogReport(report: LogReport, format: LogReportFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'html') return htmlLogReport(report);
  const md = format === 'markdown';
  const out: string[] = [];
  const h = (t: string) => out.push('', md ? `## ${t}` : t.toUpperCase());
  out.push(
    md ? `# pgpact report: ${report.file}` : `pgpact report: ${report.file}`,
    `${report.from ?? '?'} → ${report.to ?? '?'}: ${report.lines.toLocaleString('en-US')} lines, ${report.entries.toLocaleString('en-US')} entries${report.durationsLogged ? '' : ' (no duration lines: set log_min_duration_statement for database time per service)'}`,
  );
  h('Services');
  const header = [
    'service',
    'db time',
    'share',
    'calls',
    'mean',
    'p95',
    'lock waits (waited/held)',
    'deadlocks',
    'timeouts',
    'cancelled',
    'refused',
  ];
  const rows = report.services.map((s) => [
    s.service,
    ms(s.totalMs),
    pct(s.share),
    String(s.calls),
    ms(s.meanMs),
    ms(s.p95Ms),
    `${s.lockWaitsAsWaiter}/${s.lockWaitsAsHolder}`,
    String(s.deadlocks),
    timeouts(s),
    String(s.cancellations),
    String(s.refusedConnections),
  ]);
  out.push(...table(header, rows, md));
  h('Statements with the most database time');
  out.push(
    ...table(
      ['service', 'db time', 'calls', 'mean', 'p95', 'statement'],
      report.statements.map((s) => [
        s.service,
        ms(s.totalMs),
        String(s.calls),
        ms(s.meanMs),
        ms(s.p95Ms),
        cut(s.statement),
      ]),
      md,
    ),
  );
  h(`Lock waits (${report.lockWaits.length})`);
  for (const w of report.lockWaits) out.push(`${md ? '- ' : '  '}${waitLine(w)}`);
  h(`Deadlocks (${report.deadlocks.length})`);
  for (const d of report.deadlocks) out.push(`${md ? '- ' : '  '}${deadlockLine(d)}`);
  h(`Limits (${report.limits.length})`);
  for (const l of report.limits)
    out.push(
      `${md ? '- ' : '  '}${l.at ?? '?'} ${l.process.service}: ${l.kind === 'connection-refused' ? `connection refused (${l.limit})` : l.limit}`,
    );
  return `${out.join('\n')}\n`;
}

function table(header: string[], rows: string[][], md: boolean): string[] {
  if (md) {
    const esc = (c: string) => c.replaceAll('|', '\\|');
    return [
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---').join('|')}|`,
      ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ];
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}
