import { printable } from '../errors.js';
import type { StatementAnalysis } from './analyze.js';

/** The documented JSON shape of one analyzed statement (`pgpact analyze --json`). */
export interface StatementAnalysisJson {
  sql: string;
  reads: string[];
  writes: string[];
  relations: { read: string[]; write: string[] };
  warnings: string[];
}

/** Keeps exactly the documented fields, in the documented order. */
export function toAnalysisJson(a: StatementAnalysis): StatementAnalysisJson {
  return {
    sql: a.sql,
    reads: a.reads,
    writes: a.writes,
    relations: { read: a.relations.read, write: a.relations.write },
    warnings: a.warnings,
  };
}

/** Groups `schema.table.column` names by their relation: `schema.table: a, b`. */
function byRelation(
  columns: readonly string[],
  relations: readonly string[],
  noColumn: string,
): string[] {
  const groups = new Map<string, string[]>();
  for (const r of relations) groups.set(r, []);
  for (const key of columns) {
    // The relation is the longest listed relation the key starts with (names may hold dots).
    let relation = '';
    for (const r of relations)
      if (key.startsWith(`${r}.`) && r.length > relation.length) relation = r;
    if (relation === '') relation = key.slice(0, key.lastIndexOf('.'));
    const list = groups.get(relation) ?? [];
    list.push(key.slice(relation.length + 1));
    groups.set(relation, list);
  }
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([r, cols]) => (cols.length > 0 ? `${r}: ${cols.join(', ')}` : `${r} ${noColumn}`));
}

function firstLine(sql: string, width: number): string {
  const flat = printable(sql.replace(/\s+/g, ' ').trim());
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Renders analyses for people: one block per statement, columns grouped by relation. */
export function formatAnalysisText(
  items: readonly { where: string; analysis: StatementAnalysis }[],
): string {
  const blocks = items.map(({ where, analysis: a }) => {
    const lines = [`${where}: ${firstLine(a.sql, 100)}`];
    const section = (label: string, entries: string[]) => {
      if (entries.length === 0) lines.push(`  ${label.padEnd(7)} -`);
      entries.forEach((e, i) => {
        lines.push(`  ${(i === 0 ? label : '').padEnd(7)} ${e}`);
      });
    };
    section('reads', byRelation(a.reads, a.relations.read, '(no column)'));
    section('writes', byRelation(a.writes, a.relations.write, '(the relation)'));
    for (const w of a.warnings) lines.push(`  warning ${w}`);
    return lines.join('\n');
  });
  return blocks.length > 0 ? `${blocks.join('\n\n')}\n` : '';
}
