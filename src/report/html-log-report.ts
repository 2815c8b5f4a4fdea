import type { LogReport } from './log-report.js';

const esc = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
const ms = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x >= 10 ? 0 : 3)} ms`;

/** A bar per service: its database time (SVG, no script, no external file). */
function dbTimeChart(report: LogReport): string {
  const services = report.services.filter((s) => s.totalMs > 0);
  const max = Math.max(1, ...services.map((s) => s.totalMs));
  const row = 26;
  const bars = services
    .map((s, i) => {
      const w = Math.max(1, Math.round((s.totalMs / max) * 460));
      const y = i * row;
      return `<text x="0" y="${y + 17}">${esc(s.service)}</text><rect x="160" y="${y + 4}" width="${w}" height="18" fill="#4a7bd0"/><text x="${168 + w}" y="${y + 17}">${esc(ms(s.totalMs))} (${Math.round(s.share * 100)}%)</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${services.length * row + 8}" font-family="sans-serif" font-size="13">${bars}</svg>`;
}

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** The report as one self-contained HTML page: a chart of database time per service, then the tables. */
export function htmlLogReport(report: LogReport): string {
  const services = table(
    [
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
    ],
    report.services.map((s) => [
      s.service,
      ms(s.totalMs),
      `${Math.round(s.share * 100)}%`,
      String(s.calls),
      ms(s.meanMs),
      ms(s.p95Ms),
      `${s.lockWaitsAsWaiter}/${s.lockWaitsAsHolder}`,
      String(s.deadlocks),
      Object.entries(s.timeouts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || '0',
      String(s.cancellations),
      String(s.refusedConnections),
    ]),
  );
  const statements = table(
    ['service', 'db time', 'calls', 'mean', 'p95', 'statement'],
    report.statements.map((s) => [
      s.service,
      ms(s.totalMs),
      String(s.calls),
      ms(s.meanMs),
      ms(s.p95Ms),
      s.statement,
    ]),
  );
  const waits = table(
    ['at', 'waiting', 'holding (statement that took the lock)', 'lock', 'waited', 'outcome'],
    report.lockWaits.map((w) => [
      w.at ?? '?',
      `${w.waiting.service} (pid ${w.waiting.pid})`,
      w.holders
        .map((h) => `${h.service} (pid ${h.pid}): ${h.statement ?? 'not in the log'}`)
        .join('; ') || 'not named by the log',
      `${w.mode} on ${w.object}`,
      ms(w.waitedMs),
      w.outcome,
    ]),
  );
  const deadlocks = table(
    ['at', 'processes', 'aborted'],
    report.deadlocks.map((d) => [
      d.at ?? '?',
      d.processes.map((p) => `${p.service} (pid ${p.pid}): ${p.query}`).join(' ↔ '),
      `${d.victim.service} (pid ${d.victim.pid})`,
    ]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pgpact report</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;font-size:13px}th{background:#f3f3f3}</style>
</head><body>
<h1>pgpact report</h1>
<p>${esc(report.file)}: ${esc(report.from ?? '?')} → ${esc(report.to ?? '?')}, ${report.lines.toLocaleString('en-US')} lines</p>
<h2>Database time per service</h2>
${dbTimeChart(report)}
<h2>Services</h2>
${services}
<h2>Statements with the most database time</h2>
${statements}
<h2>Lock waits (${report.lockWaits.length})</h2>
${waits}
<h2>Deadlocks (${report.deadlocks.length})</h2>
${deadlocks}
</body></html>
`;
}
