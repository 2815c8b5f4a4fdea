import type { Finding } from '../findings.js';
import { describeOwnRole } from '../postgres/own-roles.js';
import type { ObserveResult } from './observe.js';

/** The `pgpact observe --json` document. */
export function observationJson(result: ObserveResult, snapshotFile: string) {
  return {
    snapshot: snapshotFile,
    database: result.usage.database,
    window: result.window,
    statements: result.statements,
    roles: result.usage.roles.map((r) => ({
      role: r.role,
      service: r.service ?? null,
      ...(r.pgpactRole === undefined ? {} : { pgpactRole: r.pgpactRole }),
      statements: r.statements.length,
      calls: r.statements.reduce((n, s) => n + s.calls, 0),
      relationsRead: Object.keys(r.relationsRead),
      relationsWritten: Object.keys(r.relationsWritten),
    })),
    findings: result.findings.map((f: Finding) => ({
      ...f,
      location: f.location ?? null,
      suggestion: f.suggestion ?? null,
    })),
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The human report: the window, one line per role, then the findings. */
export function formatObservationText(result: ObserveResult, snapshotFile: string): string {
  const { window, usage } = result;
  const how =
    window.mode === 'delta'
      ? `the delta since the previous snapshot (${window.start})`
      : window.mode === 'file'
        ? 'an exported pg_stat_statements file'
        : `everything since the last reset${window.start ? ` (${window.start})` : ''}`;
  const lines = [
    `observed database ${usage.database}: ${how}, until ${window.end}`,
    ...(window.note ? [`  (${window.note})`] : []),
    `${result.statements} distinct statements${result.skipped > 0 ? ` (${result.skipped} rows of other databases skipped)` : ''}; snapshot saved to ${snapshotFile}`,
    '',
  ];
  const rows = [['role', 'service', 'statements', 'calls', 'relations read', 'written']];
  for (const r of usage.roles) {
    rows.push([
      r.role,
      r.service ?? (r.pgpactRole ? '(pgpact)' : '(none)'),
      String(r.statements.length),
      String(r.statements.reduce((n, s) => n + s.calls, 0)),
      String(Object.keys(r.relationsRead).length),
      String(Object.keys(r.relationsWritten).length),
    ]);
  }
  lines.push(...(rows.length > 1 ? table(rows) : ['no statement ran in this window']), '');
  const own = usage.roles.filter((r) => r.pgpactRole !== undefined);
  if (own.length > 0)
    lines.push(
      `not services, no findings: ${own.map((r) => describeOwnRole(r.role, r.pgpactRole!)).join(', ')}`,
      '',
    );
  const others = usage.roles.filter((r) => r.pgpactRole === undefined);
  if (result.findings.length === 0 && others.length === 0)
    lines.push(
      `no findings: no role but pgpact's own ran a statement in this window${window.mode === 'delta' ? ' (a delta: what ran before the previous snapshot was reported then; --since-reset looks at everything pg_stat_statements kept)' : ''}`,
    );
  else if (result.findings.length === 0)
    lines.push('no findings: every observed access is declared');
  else {
    lines.push(`${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}:`);
    for (const f of result.findings) {
      lines.push(
        `  ${f.severity.padEnd(8)} ${f.kind}  ${f.object}${f.location ? `  (${f.location})` : ''}`,
        `           ${f.message}`,
      );
      if (f.suggestion) lines.push(`           → ${f.suggestion}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
