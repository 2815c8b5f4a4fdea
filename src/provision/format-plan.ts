/** Plans, apply results and findings as text for people (the CLI prints what these return). */
import type { Finding } from '../findings.js';
import { escapeUnsafe, unsafeCharacter } from '../manifest/names.js';
import type { MigrationFile } from './migration-folders.js';
import { countByKind } from './plan.js';
import type { ApplyResult, ProvisionPlan } from './types.js';

/**
 * One line of text, whatever names it quotes: names come from the manifest and
 * from the database's catalog, where they may hold line breaks and terminal
 * escapes. In a plan every such line is a SQL comment, and a line break in it
 * would end the comment: the text after it would run when the plan is piped to psql.
 */
export function oneLine(text: string): string {
  return escapeUnsafe(text);
}

/** A quoted name or literal written with Unicode escapes (`U&"a\000Ab"`): the same value, in one line of ASCII-safe text. */
function unicodeEscaped(quote: string, body: string): string {
  let out = '';
  for (const c of body) {
    if (c === '\\') out += '\\\\';
    else if (c === quote) out += quote + quote;
    else if (unsafeCharacter(c) === undefined) out += c;
    else {
      const code = c.codePointAt(0)!;
      out +=
        code > 0xffff
          ? `\\+${code.toString(16).padStart(6, '0')}`
          : `\\${code.toString(16).padStart(4, '0')}`;
    }
  }
  return `U&${quote}${out}${quote}`;
}

/**
 * A statement of the plan as one printable line. Names from the catalog may hold line
 * breaks; inside a quoted name they are harmless to Postgres but not to a reader (nor
 * to a tool splitting on lines), so such a name is printed in its Unicode-escape form,
 * which Postgres reads as the same name. Statements without such names print unchanged.
 */
export function printableSql(sql: string): string {
  if (unsafeCharacter(sql) === undefined) return sql;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c !== '"' && c !== "'") {
      out += unsafeCharacter(c) === undefined ? c : escapeUnsafe(c);
      i += 1;
      continue;
    }
    let body = '';
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === c && sql[j + 1] === c) {
        body += c;
        j += 2;
      } else if (sql[j] === c) break;
      else body += sql[j++];
    }
    out += unsafeCharacter(body) === undefined ? sql.slice(i, j + 1) : unicodeEscaped(c, body);
    i = j + 1;
  }
  return out;
}

/** A SQL comment line holding the text (safe by construction: the text cannot end the comment). */
function comment(text: string): string {
  return `-- ${oneLine(text)}`;
}

/** A deferred table revoke: `enforce mode runs: REVOKE <privileges> ON TABLE <table> FROM <grantee>`. */
const DEFERRED_TABLE_REVOKE = /^enforce mode runs: REVOKE ([A-Z, ]+) ON TABLE (.+) FROM (\S+)$/;

/** Deferred table revokes at least this many per grantee and privileges print as one. */
const GROUP_AT = 4;

/**
 * Audit mode defers the same revoke on every table of a schema (a reporting role holding
 * SELECT on 120 tables): one line per grantee and privileges, with the one statement
 * enforce mode runs, instead of a line per table. The findings themselves stay one per table.
 */
function groupDeferredRevokes(findings: Finding[]): (Finding | Finding[])[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const m = f.kind === 'revoke-deferred' ? DEFERRED_TABLE_REVOKE.exec(f.suggestion ?? '') : null;
    if (!m) continue;
    const key = `${m[1]}\u0000${m[3]}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(f);
  }
  const out: (Finding | Finding[])[] = [];
  const done = new Set<Finding[]>();
  for (const f of findings) {
    const m = f.kind === 'revoke-deferred' ? DEFERRED_TABLE_REVOKE.exec(f.suggestion ?? '') : null;
    const group = m ? groups.get(`${m[1]}\u0000${m[3]}`) : undefined;
    if (!group || group.length < GROUP_AT) out.push(f);
    else if (!done.has(group)) {
      done.add(group);
      out.push(group);
    }
  }
  return out;
}

function groupLines(group: Finding[], prefix: string): string[] {
  const parts = group.map((f) => DEFERRED_TABLE_REVOKE.exec(f.suggestion!)!);
  const [, privileges, , grantee] = parts[0]!;
  const names = group.map((f) => f.object);
  const shown =
    names.length > 8
      ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`
      : names.join(', ');
  return [
    `${prefix}${oneLine(`  ${group[0]!.severity} revoke-deferred ${names.length} tables: audit mode leaves ${privileges} for ${grantee} in place, which the manifest does not declare; enforce mode will revoke it: ${shown}`)}`,
    `${prefix}${oneLine(`    → enforce mode runs: REVOKE ${privileges} ON TABLE ${parts.map((m) => m[2]).join(', ')} FROM ${grantee}`)}`,
  ];
}

/** Findings, one per line with its suggestion; `prefix` makes them SQL comments in a plan. */
export function formatFindings(findings: Finding[], prefix = ''): string {
  if (findings.length === 0) return '';
  const lines = [`${prefix}findings (reported, never granted):`];
  for (const f of groupDeferredRevokes(findings)) {
    if (Array.isArray(f)) {
      lines.push(...groupLines(f, prefix));
      continue;
    }
    const who = f.consumers.length > 0 ? ` [${f.consumers.map((c) => c.service).join(', ')}]` : '';
    lines.push(
      `${prefix}${oneLine(`  ${f.severity} ${f.kind} ${f.object}${who}: ${f.message}${f.location ? ` (${f.location})` : ''}`)}`,
    );
    if (f.suggestion) lines.push(`${prefix}${oneLine(`    → ${f.suggestion}`)}`);
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
    out.push(`${comment(`nothing to do: ${target} matches the manifest`)}\n`);
  } else {
    out.push(
      comment(`pgpact plan for ${target}: ${plan.steps.length} step(s) (${kindSummary(plan)})`),
      "-- pgpact apply runs them in one transaction; passwords show as '<redacted>', so do not run this text by hand",
      '',
    );
    plan.steps.forEach((step, i) => {
      out.push(comment(`${i + 1}. ${step.kind}: ${step.reason}`));
      for (const use of step.inUse ?? []) out.push(comment(`!! takes away access in use: ${use}`));
      out.push(`${printableSql(step.sql)};`, '');
    });
  }
  if (pending.length > 0) {
    out.push(
      `-- pending migrations (apply runs them as their service's role, then grants on what they create):`,
      ...pending.map((m) => comment(`  ${m.service}/${m.file}`)),
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
      ? `nothing to change on ${oneLine(target)}`
      : `applied ${result.steps.length} step(s) on ${oneLine(target)} (${kindSummary(result)})${result.rounds > 1 ? `, in ${result.rounds} rounds (the second grants on what migrations created)` : ', in one transaction'}`,
  ];
  for (const b of result.baselined) {
    lines.push(
      oneLine(
        `recorded ${b.files.length} migration file(s) of ${b.service} as applied without running them (${b.from ? `the database has them, says ${b.from}` : "no other tool's history: every file"})${b.files.length > 0 ? `, ${b.files[0]} to ${b.files[b.files.length - 1]}` : ''}`,
      ),
    );
  }
  if (result.migrations.length > 0) {
    lines.push(
      `ran ${result.migrations.length} migration file(s):`,
      ...result.migrations.map((m) => oneLine(`  ${m.service}/${m.file} (${m.durationMs} ms)`)),
    );
  }
  lines.push('the database matches the manifest (catalog re-read, plan empty)');
  return `${lines.join('\n')}\n${formatFindings(result.findings)}`;
}
