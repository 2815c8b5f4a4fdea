/** Plans, apply results and findings as text for people (the CLI prints what these return). */
import type { Finding } from '../findings.js';
import type { MigrationFile } from './migration-folders.js';
import { countByKind } from './plan.js';
import type { ApplyResult, ProvisionPlan } from './types.js';

/** Findings, one per line with its suggestion; `prefix` makes them SQL comments in a plan. */
export function formatFindings(findings: Finding[], prefix = ''): string {
  if (findings.length === 0) return '';
  const lines = [`${prefix}findings (reported, never granted):`];
  for (const f of findings) {
    const who = f.consumers.length > 0 ? ` [${f.consumers.map((c) => c.service).join(', ')}]` : '';
    lines.push(
      `${prefix}  ${f.severity} ${f.kind} ${f.object}${who}: ${f.message}${f.location ? ` (${f.location})` : ''}`,
    );
    if (f.suggestion) lines.push(`${prefix}    → ${f.suggestion}`);
  }
  return `${lines.join('\n')}\n`;
}

function kindSummary(plan: { steps: ProvisionPlan['steps'] }): string {
  return countByKind(plan.steps)
    .map((c) => `${c.kind} ${c.count}`)
    .join(', ');
}

/** A plan as SQL text: each step with its reason as a comment, then pending migrations and findings as comments. */
export function formatPlan(plan: ProvisionPlan, pending: MigrationFile[], target: string): string {
  const out: string[] = [];
  if (plan.steps.length === 0) {
    out.push(`-- nothing to do: ${target} matches the manifest\n`);
  } else {
    out.push(
      `-- pgpact plan for ${target}: ${plan.steps.length} step(s) (${kindSummary(plan)})`,
      "-- pgpact apply runs them in one transaction; passwords show as '<redacted>', so do not run this text by hand",
      '',
    );
    plan.steps.forEach((step, i) => {
      out.push(`-- ${i + 1}. ${step.kind}: ${step.reason}`, `${step.sql};`, '');
    });
  }
  if (pending.length > 0) {
    out.push(
      `-- pending migrations (apply runs them as their service's role, then grants on what they create):`,
      ...pending.map((m) => `--   ${m.service}/${m.file}`),
      '',
    );
  }
  const findings = formatFindings(plan.findings, '-- ');
  return out.join('\n') + findings;
}

/** What apply did, in a few lines. */
export function formatApplyResult(result: ApplyResult, target: string): string {
  const lines = [
    result.steps.length === 0
      ? `nothing to change on ${target}`
      : `applied ${result.steps.length} step(s) on ${target} (${kindSummary(result)})${result.rounds > 1 ? `, in ${result.rounds} rounds (the second grants on what migrations created)` : ', in one transaction'}`,
  ];
  if (result.migrations.length > 0) {
    lines.push(
      `ran ${result.migrations.length} migration file(s):`,
      ...result.migrations.map((m) => `  ${m.service}/${m.file} (${m.durationMs} ms)`),
    );
  }
  lines.push('the database matches the manifest (catalog re-read, plan empty)');
  return `${lines.join('\n')}\n${formatFindings(result.findings)}`;
}
