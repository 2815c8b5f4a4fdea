import { caretAt } from '../errors.js';
import type { Finding } from '../findings.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { AppliedStatement } from './apply-migration.js';
import { type ConsumerHit, type ConsumerIndex, toConsumerRefs } from './consumers.js';
import type { MigrationFile } from './migration-file.js';
import { statementLocation } from './statement-index.js';

/** `schema.name` of the first relation a statement names, or its file. */
function firstObject(s: AppliedStatement): string {
  const t = s.targets.find((x) => x !== undefined);
  if (t) return `${t.schema}.${t.name}`;
  const data = s.facts.dataTarget;
  if (data) return data.schema === undefined ? data.name : `${data.schema}.${data.name}`;
  return s.facts.acts.find((a) => a.schema !== undefined)?.schema ?? s.statement.file;
}

/** A view named in a Postgres message: qualified, or unqualified (visible in the search_path), found in the base. */
function resolveView(
  name: string,
  base: CatalogSnapshot,
  preferSchema?: string,
): { schema: string; name: string } | undefined {
  const dot = name.indexOf('.');
  if (dot > 0) return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
  const candidates = base.relations.filter(
    (r) => r.name === name && (r.kind === 'view' || r.kind === 'materialized_view'),
  );
  const pick = candidates.find((r) => r.schema === preferSchema) ?? candidates[0];
  return pick ? { schema: pick.schema, name: pick.name } : undefined;
}

/** `schema.name` of the views Postgres names in a "depends on" detail. */
function dependentViews(detail: string | undefined): string[] {
  const views: string[] = [];
  for (const m of (detail ?? '').matchAll(/(?:materialized )?view (\S+) depends on/g))
    views.push(m[1]!);
  return views;
}

/**
 * A statement that fails in the shadow fails in production too: `migration-fails`
 * (breaking) at its file:line (the exact line when Postgres gives a position). When it
 * fails because views depend on what it drops, the views' readers are named.
 */
export function failureFindings(
  statements: AppliedStatement[],
  consumers: ConsumerIndex,
  files: MigrationFile[],
  base: CatalogSnapshot,
): Finding[] {
  const findings: Finding[] = [];
  for (const s of statements) {
    if (s.status !== 'failed' || !s.error) continue;
    let location = statementLocation(s);
    let excerpt = '';
    const file = files.find((f) => f.display === s.statement.file);
    if (file && s.error.position !== undefined) {
      const at = caretAt(file.text, s.statement.start + s.error.position);
      location = `${s.statement.file}:${at.line}`;
      excerpt = ` at column ${at.column}`;
    }
    const preferSchema = s.targets.find((x) => x !== undefined)?.schema;
    const views = dependentViews(s.error.detail)
      .map((v) => resolveView(v, base, preferSchema))
      .filter((v) => v !== undefined)
      .map((v) => `${v.schema}.${v.name}`);
    const hits: ConsumerHit[] = views.flatMap((v) => {
      const dot = v.indexOf('.');
      return consumers
        .usersOfTable(v.slice(0, dot), v.slice(dot + 1))
        .map((h) => ({ ...h, via: v }));
    });
    const refs = toConsumerRefs(hits);
    const object = views[0] ?? firstObject(s);
    findings.push({
      severity: 'breaking',
      kind: 'migration-fails',
      object,
      consumers: refs,
      location,
      message: `the migration fails here${excerpt}: ${s.error.message}${s.error.detail ? ` (${s.error.detail})` : ''}${
        refs.length > 0
          ? `; the dependent view is read by ${refs.map((r) => `${r.service} (${r.source})`).join(', ')}`
          : ''
      }`,
      suggestion:
        views.length > 0
          ? `change or drop ${views.join(', ')} first, with its readers' agreement (\`DROP ... CASCADE\` would drop it silently)`
          : (s.error.hint ?? 'fix the statement: it does not apply to the current schema'),
    });
  }
  return findings;
}

/** Statements not run against a live database, so nobody mistakes silence for safety. */
export function skippedFindings(statements: AppliedStatement[]): Finding[] {
  return statements
    .filter((s) => s.status === 'skipped' && s.facts.ddl)
    .map((s) => ({
      severity: 'info' as const,
      kind: 'statement-not-checked',
      object: firstObject(s),
      consumers: [],
      location: statementLocation(s),
      message: `not run: ${s.reason ?? 'skipped'}`,
      suggestion:
        'check it against a shadow database built from the migration folders (omit --database-url)',
    }));
}
