import { type Finding, reaches, type Severity } from '../findings.js';
import type { CheckTimings } from './run-check.js';

/** What the formats need from a check: the findings, the threshold and, for text, the timings. */
export interface ReportInput {
  findings: Finding[];
  failOn: Severity;
  timings?: CheckTimings;
}

/** The documented `--format json` interface. */
export interface CheckJson {
  breaking: boolean;
  findings: {
    severity: Severity;
    kind: string;
    object: string;
    consumers: { service: string; source: 'declared' | 'observed' }[];
    location: string | null;
    message: string;
    suggestion: string;
  }[];
}

/** The JSON document of `--format json` (every key always present; location null when unknown). */
export function toCheckJson(findings: Finding[]): CheckJson {
  return {
    breaking: findings.some((f) => f.severity === 'breaking'),
    findings: findings.map((f) => ({
      severity: f.severity,
      kind: f.kind,
      object: f.object,
      consumers: f.consumers.map((c) => ({ service: c.service, source: c.source })),
      location: f.location ?? null,
      message: f.message,
      suggestion: f.suggestion ?? '',
    })),
  };
}

function counts(findings: Finding[]): Record<Severity, number> {
  const c: Record<Severity, number> = { breaking: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity] += 1;
  return c;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Whether the check fails the build. */
export function blocks(input: ReportInput): boolean {
  return input.findings.some((f) => reaches(f.severity, input.failOn));
}

function consumersText(f: Finding): string {
  return f.consumers.map((c) => `${c.service} (${c.source})`).join(', ');
}

function seconds(ms: number): string {
  return ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** The human report: a verdict line, then each finding with its consumers and the alternative. */
export function formatText(input: ReportInput): string {
  const c = counts(input.findings);
  const verdict = blocks(input) ? `blocked (--fail-on ${input.failOn})` : 'passed';
  const lines = [
    `pgpact check: ${plural(c.breaking, 'breaking change')}, ${plural(c.warning, 'warning')}, ${c.info} info: ${verdict}`,
  ];
  for (const f of input.findings) {
    lines.push('');
    lines.push(
      `${f.severity.toUpperCase()}  ${f.kind}  ${f.object}${f.location ? `  (${f.location})` : ''}`,
    );
    lines.push(`  ${f.message}`);
    if (f.consumers.length > 0) lines.push(`  consumers: ${consumersText(f)}`);
    if (f.suggestion && f.severity !== 'info') lines.push(`  instead: ${f.suggestion}`);
  }
  if (input.timings) {
    const t = input.timings;
    lines.push('');
    lines.push(
      `took ${seconds(t.totalMs)}: shadow start ${seconds(t.shadowStartMs)}, base ${seconds(t.baseApplyMs)}, snapshots ${seconds(t.snapshotMs)}, migration ${seconds(t.migrationApplyMs)}, diff ${seconds(t.diffMs)}, analysis ${seconds(t.analysisMs)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const ICON: Record<Severity, string> = {
  breaking: '🛑 breaking',
  warning: '⚠️ warning',
  info: 'ℹ️ info',
};

function cell(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replaceAll(/\r?\n/g, ' ');
}

function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${cell(text)}${fence.length > 1 ? ' ' : ''}${fence}`;
}

/** A pull-request comment: verdict, a table of findings, then the details and alternatives. */
export function formatMarkdown(input: ReportInput): string {
  const c = counts(input.findings);
  const blocked = blocks(input);
  const out: string[] = [
    `### pgpact check: ${blocked ? '❌ blocked' : '✅ passed'}`,
    '',
    `${plural(c.breaking, 'breaking change')}, ${plural(c.warning, 'warning')}, ${c.info} info${blocked ? ` (fails on ${input.failOn})` : ''}.`,
  ];
  const shown = input.findings.filter((f) => f.severity !== 'info');
  if (shown.length > 0) {
    out.push('', '| Severity | Kind | Object | Consumers | Location |', '|---|---|---|---|---|');
    for (const f of shown) {
      out.push(
        `| ${ICON[f.severity]} | ${code(f.kind)} | ${code(f.object)} | ${cell(consumersText(f) || '—')} | ${f.location ? code(f.location) : '—'} |`,
      );
    }
    out.push('');
    for (const f of shown) {
      out.push(
        `- **${cell(f.kind)}** on ${code(f.object)}${f.location ? ` (${code(f.location)})` : ''}: ${cell(f.message)}`,
      );
      if (f.suggestion) out.push(`  - _Instead:_ ${cell(f.suggestion)}`);
    }
  }
  const infos = input.findings.filter((f) => f.severity === 'info');
  if (infos.length > 0) {
    out.push('', `<details><summary>${plural(infos.length, 'informative finding')}</summary>`, '');
    for (const f of infos) out.push(`- ${code(f.kind)} ${code(f.object)}: ${cell(f.message)}`);
    out.push('', '</details>');
  }
  out.push('', '<sub>Checked by pgpact against declared contracts and observed usage.</sub>');
  return `${out.join('\n')}\n`;
}
