import type { SnapshotReport } from './statement-snapshots.js';

const ms = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x >= 10 ? 0 : x >= 1 ? 1 : 3)} ms`;
const pct = (x: number) => `${Math.round(x * 100)}%`;
const cut = (sql: string, n = 100) => {
  const flat = sql.replace(/\s+/g, ' ');
  return flat.length > n ? `${flat.slice(0, n - 3)}...` : flat;
};

/** The snapshot figures as a text or Markdown section (p95 comes only from the log). */
export function formatSnapshotReport(report: SnapshotReport, markdown: boolean): string {
  const out: string[] = [];
  const h = (t: string) => out.push('', markdown ? `## ${t}` : t.toUpperCase());
  h('Database time from pg_stat_statements snapshots');
  out.push(
    report.snapshots < 2
      ? `fewer than two snapshots in ${report.file} for the period: run pgpact metrics to keep them`
      : `${report.from} → ${report.to}: ${report.snapshots} snapshots from ${report.file} (no p95: only the log has single durations)`,
  );
  const table = (header: string[], rows: string[][]) => {
    if (markdown) {
      const esc = (c: string) => c.replaceAll('|', '\\|');
      out.push(
        `| ${header.join(' | ')} |`,
        `|${header.map(() => '---').join('|')}|`,
        ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
      );
      return;
    }
    const widths = header.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
    out.push(line(header), ...rows.map(line));
  };
  table(
    ['service', 'db time', 'share', 'calls', 'mean'],
    report.services.map((s) => [
      s.service,
      ms(s.totalMs),
      pct(s.share),
      String(s.calls),
      ms(s.meanMs),
    ]),
  );
  h('Statements with the most database time (snapshots)');
  table(
    ['service', 'db time', 'calls', 'mean', 'statement'],
    report.statements.map((s) => [
      s.service,
      ms(s.totalMs),
      String(s.calls),
      ms(s.meanMs),
      cut(s.statement),
    ]),
  );
  return `${out.join('\n')}\n`;
}
