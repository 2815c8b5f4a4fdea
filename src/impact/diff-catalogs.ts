import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import type { Change, RelationRef } from './change.js';
import { columnRenames, diffRelation, refOf } from './diff-relation.js';
import { sameDefinitionModuloRenames } from './sql-tokens.js';

const key = (schema: string, name: string) => `${schema}\u0000${name}`;

/** Columns of `before` that `after` no longer returns under the same name and type. */
function lostColumns(before: RelationInfo, after: RelationInfo): string[] {
  const afterCols = new Map(after.columns.map((c) => [c.name, c.type]));
  return before.columns.filter((c) => afterCols.get(c.name) !== c.type).map((c) => c.name);
}

/** Cheap check that a relation kept its name, columns, constraints, indexes and definition. */
function sameShape(b: RelationInfo, a: RelationInfo): boolean {
  if (b.name !== a.name || b.schema !== a.schema || b.viewDefinition !== a.viewDefinition)
    return false;
  if (b.columns.length !== a.columns.length || b.constraints.length !== a.constraints.length)
    return false;
  if (b.indexes.length !== a.indexes.length) return false;
  for (let i = 0; i < b.columns.length; i += 1) {
    const x = b.columns[i]!;
    const y = a.columns[i]!;
    if (
      x.position !== y.position ||
      x.name !== y.name ||
      x.type !== y.type ||
      x.notNull !== y.notNull
    )
      return false;
    if (x.default !== y.default || x.identity !== y.identity || x.generated !== y.generated)
      return false;
  }
  for (let i = 0; i < b.constraints.length; i += 1) {
    const x = b.constraints[i]!;
    const y = a.constraints[i]!;
    if (x.name !== y.name || x.type !== y.type || x.definition !== y.definition) return false;
  }
  for (let i = 0; i < b.indexes.length; i += 1) {
    const x = b.indexes[i]!;
    const y = a.indexes[i]!;
    if (x.name !== y.name || x.definition !== y.definition || x.unique !== y.unique) return false;
  }
  return true;
}

/**
 * The changes between two catalog snapshots of the same database (pure).
 * Relations are matched by oid and columns by attnum, so renames are renames;
 * sequences are left out (they follow their tables).
 */
export function diffCatalogs(before: CatalogSnapshot, after: CatalogSnapshot): Change[] {
  const changes: Change[] = [];
  const rels = (c: CatalogSnapshot) => c.relations.filter((r) => r.kind !== 'sequence');
  const beforeRels = rels(before);
  const afterRels = rels(after);
  const afterByOid = new Map(afterRels.map((r) => [r.oid, r]));
  const beforeByOid = new Map(beforeRels.map((r) => [r.oid, r]));
  const afterByName = new Map(afterRels.map((r) => [key(r.schema, r.name), r]));
  const beforeByName = new Map(beforeRels.map((r) => [key(r.schema, r.name), r]));
  const afterSchemas = new Set(after.schemas.map((s) => s.name));
  const beforeSchemas = new Set(before.schemas.map((s) => s.name));

  // Schemas: a schema whose relations all reappear (same oids) in one new schema was renamed.
  const schemaRenames = new Map<string, string>();
  const droppedSchemas = new Set<string>();
  for (const s of before.schemas) {
    if (afterSchemas.has(s.name)) continue;
    const members = before.relations.filter((r) => r.schema === s.name);
    const targets = new Set(members.map((r) => afterByOid.get(r.oid)?.schema ?? ''));
    const [target] = [...targets];
    if (members.length > 0 && targets.size === 1 && target && !beforeSchemas.has(target)) {
      schemaRenames.set(s.name, target);
      changes.push({ kind: 'schema-renamed', schema: s.name, newName: target });
    } else {
      droppedSchemas.add(s.name);
      changes.push({
        kind: 'schema-dropped',
        schema: s.name,
        relations: members
          .filter((r) => r.kind !== 'sequence' && !afterByOid.has(r.oid))
          .map(refOf),
      });
    }
  }

  // Identifiers renamed by the migration, by relation, for comparing printed definitions.
  const renamesByOid = new Map<number, Map<string, string>>();
  const unchanged = new Set<number>();
  for (const b of beforeRels) {
    const a = afterByOid.get(b.oid);
    if (!a) continue;
    if (sameShape(b, a)) {
      unchanged.add(b.oid);
      continue;
    }
    const renames = columnRenames(b, a);
    if (a.name !== b.name) renames.set(b.name, a.name);
    if (a.schema !== b.schema) renames.set(b.schema, a.schema);
    if (renames.size > 0) renamesByOid.set(b.oid, renames);
  }
  const renamesSeenBy = (rel: RelationInfo): Map<string, string> => {
    const merged = new Map(renamesByOid.get(rel.oid) ?? []);
    for (const dep of rel.dependsOn ?? []) {
      const depRel = beforeByName.get(key(dep.schema, dep.name));
      for (const [from, to] of (depRel && renamesByOid.get(depRel.oid)) ?? []) merged.set(from, to);
    }
    return merged;
  };

  const droppedViewsOf = (table: RelationInfo, column?: string): RelationRef[] =>
    beforeRels
      .filter(
        (v) =>
          !afterByOid.has(v.oid) &&
          (v.dependsOn ?? []).some(
            (d) =>
              d.schema === table.schema &&
              d.name === table.name &&
              (column === undefined || d.columns.includes(column)),
          ),
      )
      .map(refOf);

  for (const b of beforeRels) {
    if (unchanged.has(b.oid)) continue;
    const a = afterByOid.get(b.oid);
    const ref = refOf(b);
    if (!a) {
      if (droppedSchemas.has(b.schema)) continue;
      const successor = afterByName.get(key(b.schema, b.name));
      if (successor && !beforeByOid.has(successor.oid)) {
        const lost = lostColumns(b, successor);
        if (ref.kind === 'view') {
          const same = sameDefinitionModuloRenames(
            b.viewDefinition ?? '',
            successor.viewDefinition ?? '',
            renamesSeenBy(b),
          );
          changes.push({
            kind: 'view-changed',
            relation: ref,
            lostColumns: lost,
            detail: same
              ? 'dropped and created again (grants must be re-applied)'
              : 'dropped and created with another definition',
          });
        } else {
          changes.push({ kind: 'table-recreated', relation: ref, lostColumns: lost });
        }
        continue;
      }
      const droppedViews = ref.kind === 'table' ? droppedViewsOf(b) : [];
      const dependsOn = (b.dependsOn ?? []).map((d) => `${d.schema}.${d.name}`);
      changes.push({
        kind: ref.kind === 'view' ? 'view-dropped' : 'table-dropped',
        relation: ref,
        ...(droppedViews.length > 0 ? { droppedViews } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
      });
      continue;
    }
    const movedWithSchema = schemaRenames.get(b.schema) === a.schema;
    if ((a.schema !== b.schema && !movedWithSchema) || a.name !== b.name) {
      changes.push({
        kind: ref.kind === 'view' ? 'view-renamed' : 'table-renamed',
        relation: ref,
        newName: `${a.schema}.${a.name}`,
      });
    }
    for (const change of diffRelation(b, a, renamesSeenBy(b))) {
      if (change.kind === 'column-dropped' && ref.kind === 'table') {
        const droppedViews = droppedViewsOf(b, change.column);
        if (droppedViews.length > 0) change.droppedViews = droppedViews;
      }
      changes.push(change);
    }
  }

  for (const a of afterRels) {
    if (beforeByOid.has(a.oid)) continue;
    const predecessor = beforeByName.get(key(a.schema, a.name));
    if (predecessor && !afterByOid.has(predecessor.oid)) continue; // reported as recreated
    const ref = refOf(a);
    changes.push({ kind: ref.kind === 'view' ? 'view-added' : 'table-added', relation: ref });
  }
  return changes;
}
