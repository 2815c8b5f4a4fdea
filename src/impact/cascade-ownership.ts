/**
 * What a CASCADE takes from another service: a view, a column, a default or a foreign
 * key of a relation another service owns, dropped or changed as a side effect of one
 * service's migration. Postgres lets it happen when the statement ran as the admin, or
 * when the dependent object is the migrating role's; either way it breaks the owner.
 */
import type { Finding } from '../findings.js';
import { formatTableRef } from '../manifest/table-ref.js';
import { ownerResolver } from '../manifest/ownership.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { AppliedStatement } from './apply-migration.js';
import { type Change, isPotentiallyBreaking } from './change.js';
import { teamOf } from './describe-consumers.js';
import { type StatementIndex, statementLocation } from './statement-index.js';

const WHAT: Partial<Record<Change['kind'], string>> = {
  'view-dropped': 'drops view',
  'table-dropped': 'drops table',
  'view-changed': 'changes view',
  'column-dropped': 'drops a column of',
  'default-removed': 'removes a column default of',
};

/** Breaking `ownership-violation` findings for objects of other services a CASCADE dropped or changed. */
export function assessCascadeOwnership(
  changes: Change[],
  index: StatementIndex,
  before: CatalogSnapshot,
  after: CatalogSnapshot,
  manifest: Manifest,
): Finding[] {
  const ownerOf = ownerResolver(manifest);
  const cascading = index.ran.filter(
    (s) => s.service !== undefined && s.facts.acts.some((a) => a.cascade),
  );
  if (cascading.length === 0) return [];
  const findings: Finding[] = [];
  const reported = new Set<string>();
  const report = (s: AppliedStatement, object: string, owner: string, what: string) => {
    const key = `${object}\u0000${statementLocation(s)}`;
    if (reported.has(key)) return;
    reported.add(key);
    const team = teamOf(manifest, owner);
    findings.push({
      severity: 'breaking',
      kind: 'ownership-violation',
      object,
      consumers: [{ service: owner, source: 'declared' }],
      location: statementLocation(s),
      message: `${s.service}'s migration ${what}, which belongs to ${owner}${team ? ` (${team})` : ''}, through CASCADE`,
      suggestion: `drop without CASCADE and ask ${owner} to change its objects first in its own migrations`,
    });
  };
  const direct = (s: AppliedStatement, schema: string, name: string) =>
    s.targets.some((t) => t?.schema === schema && t.name === name);

  for (const change of changes) {
    const rel = change.relation;
    if (!rel || !isPotentiallyBreaking(change.kind) || WHAT[change.kind] === undefined) continue;
    const owner = ownerOf(rel.schema, rel.name);
    if (!owner) continue;
    const s = index.locate(change) ?? cascading.find((c) => c.service !== owner.name);
    if (!s?.service || s.service === owner.name || direct(s, rel.schema, rel.name)) continue;
    if (!s.facts.acts.some((a) => a.cascade)) continue;
    const ref = formatTableRef(rel.schema, rel.name);
    const object = change.column === undefined ? ref : `${ref}.${change.column}`;
    report(s, object, owner.name, `${WHAT[change.kind]} ${ref}`);
  }

  // Foreign keys of another service's table that went with a dropped table or column.
  const afterByOid = new Map(after.relations.map((r) => [r.oid, r]));
  for (const relation of before.relations) {
    const owner = ownerOf(relation.schema, relation.name);
    const now = afterByOid.get(relation.oid);
    if (!owner || !now) continue;
    for (const fk of relation.constraints) {
      if (fk.type !== 'f' || now.constraints.some((c) => c.name === fk.name)) continue;
      const s = cascading.find((c) => c.service !== owner.name);
      if (!s || direct(s, relation.schema, relation.name)) continue;
      const ref = formatTableRef(relation.schema, relation.name);
      report(
        s,
        `${ref} (foreign key ${fk.name})`,
        owner.name,
        `drops foreign key ${fk.name} of ${ref}`,
      );
    }
  }
  return findings;
}
