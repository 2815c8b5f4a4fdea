import type { ColumnInfo, RelationInfo } from '../catalog-types.js';
import type { Change, RelationRef } from './change.js';
import { sameDefinitionModuloRenames } from './sql-tokens.js';

/** The relation reference (before names) used in changes. */
export function refOf(rel: RelationInfo): RelationRef {
  return {
    schema: rel.schema,
    name: rel.name,
    kind: rel.kind === 'view' || rel.kind === 'materialized_view' ? 'view' : 'table',
  };
}

/** Whether inserting a row without naming the column fails: NOT NULL, no default, not generated. */
export function isRequired(col: ColumnInfo): boolean {
  return (
    col.notNull && col.default === undefined && col.identity === undefined && col.generated !== true
  );
}

const CONSTRAINT_KINDS = new Set(['c', 'u', 'f', 'x', 'p']);

/** Columns of a unique index, read from its printed definition; expressions yield no column. */
export function indexColumns(definition: string): string[] {
  const open = definition.indexOf('(', definition.indexOf(' USING '));
  if (open === -1) return [];
  let depth = 0;
  let current = '';
  const parts: string[] = [];
  for (let i = open + 1; i < definition.length; i += 1) {
    const ch = definition[i]!;
    if (ch === '(') depth += 1;
    if (ch === ')') {
      if (depth === 0) break;
      depth -= 1;
    }
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  const cols: string[] = [];
  for (const part of parts) {
    const word = part.split(/\s+(?=(?:ASC|DESC|NULLS|COLLATE)\b)/)[0]!.trim();
    if (/^"(?:[^"]|"")+"$/.test(word)) cols.push(word.slice(1, -1).replaceAll('""', '"'));
    else if (/^[\p{L}_][\p{L}\p{N}_$]*$/u.test(word)) cols.push(word);
  }
  return cols;
}

/** Column renames of one relation (old name → new name), matched by attnum. */
export function columnRenames(before: RelationInfo, after: RelationInfo): Map<string, string> {
  const afterByPos = new Map(after.columns.map((c) => [c.position, c]));
  const renames = new Map<string, string>();
  for (const bc of before.columns) {
    const ac = afterByPos.get(bc.position);
    if (ac && ac.name !== bc.name) renames.set(bc.name, ac.name);
  }
  return renames;
}

/**
 * Changes between two versions of one relation (same oid): columns matched by attnum,
 * so a renamed column is a rename, never a drop and an add.
 * `renames` maps identifiers renamed anywhere the relation's definitions may mention.
 */
export function diffRelation(
  before: RelationInfo,
  after: RelationInfo,
  renames: Map<string, string>,
): Change[] {
  const changes: Change[] = [];
  const relation = refOf(before);
  const afterByPos = new Map(after.columns.map((c) => [c.position, c]));
  const beforePositions = new Set(before.columns.map((c) => c.position));
  const afterNames = new Map(after.columns.map((c) => [c.name, c]));
  const isTable = relation.kind === 'table';
  const newPkColumns = new Set(
    after.constraints
      .filter((k) => k.type === 'p' && !before.constraints.some((b) => b.type === 'p'))
      .flatMap((k) => k.columns),
  );
  const recreated = new Set<string>();

  for (const bc of before.columns) {
    const ac = afterByPos.get(bc.position);
    if (!ac) {
      const same = afterNames.get(bc.name);
      if (same && !beforePositions.has(same.position)) {
        recreated.add(bc.name);
        changes.push({
          kind: 'column-recreated',
          relation,
          column: bc.name,
          fromType: bc.type,
          toType: same.type,
        });
      } else {
        changes.push({ kind: 'column-dropped', relation, column: bc.name, fromType: bc.type });
      }
      continue;
    }
    if (ac.name !== bc.name)
      changes.push({ kind: 'column-renamed', relation, column: bc.name, newName: ac.name });
    if (ac.type !== bc.type) {
      changes.push({
        kind: 'column-type-changed',
        relation,
        column: bc.name,
        fromType: bc.type,
        toType: ac.type,
      });
    }
    if (isTable && !bc.notNull && ac.notNull && !newPkColumns.has(ac.name)) {
      changes.push({
        kind: 'not-null-added',
        relation,
        column: bc.name,
        ...(ac.default === undefined ? {} : { detail: `default ${ac.default}` }),
      });
    }
    if (
      isTable &&
      bc.default !== undefined &&
      ac.default === undefined &&
      ac.identity === undefined &&
      ac.generated !== true
    ) {
      changes.push({ kind: 'default-removed', relation, column: bc.name, detail: bc.default });
    }
  }
  for (const ac of after.columns) {
    if (beforePositions.has(ac.position) || recreated.has(ac.name)) continue;
    changes.push({
      kind: isTable && isRequired(ac) ? 'required-column-added' : 'column-added',
      relation,
      column: ac.name,
      toType: ac.type,
    });
  }

  if (isTable) changes.push(...addedConstraints(before, after, relation));

  if (!isTable && before.viewDefinition !== undefined && after.viewDefinition !== undefined) {
    if (!sameDefinitionModuloRenames(before.viewDefinition, after.viewDefinition, renames)) {
      changes.push({
        kind: 'view-changed',
        relation,
        lostColumns: [],
        detail: 'definition changed',
      });
    }
  }
  return changes;
}

function addedConstraints(
  before: RelationInfo,
  after: RelationInfo,
  relation: RelationRef,
): Change[] {
  const changes: Change[] = [];
  const renames = columnRenames(before, after);
  const oldNameOf = new Map([...renames].map(([from, to]) => [to, from]));
  const back = (c: string) => oldNameOf.get(c) ?? c;
  const beforeByName = new Map(before.constraints.map((k) => [k.name, k]));
  const beforeDefs = new Set(before.constraints.map((k) => `${k.type}:${k.definition}`));
  for (const k of after.constraints) {
    if (!CONSTRAINT_KINDS.has(k.type)) continue;
    const old = beforeByName.get(k.name);
    if (
      old &&
      old.type === k.type &&
      sameDefinitionModuloRenames(old.definition, k.definition, renames)
    )
      continue;
    if (!old && beforeDefs.has(`${k.type}:${k.definition}`)) continue; // renamed constraint
    const beforeCols = k.columns.map(back);
    changes.push({
      kind: 'constraint-added',
      relation,
      constraint: { name: k.name, type: k.type, definition: k.definition, columns: beforeCols },
    });
  }
  const constraintNames = new Set(after.constraints.map((k) => k.name));
  const beforeIndexes = new Map(before.indexes.map((i) => [i.name, i]));
  const beforeIndexDefs = new Set(
    before.indexes.map((i) => i.definition.replace(/INDEX \S+ ON/, 'INDEX ON')),
  );
  for (const idx of after.indexes) {
    if (!idx.unique || constraintNames.has(idx.name)) continue;
    if (beforeIndexes.get(idx.name)?.unique) continue;
    if (beforeIndexDefs.has(idx.definition.replace(/INDEX \S+ ON/, 'INDEX ON'))) continue;
    changes.push({
      kind: 'constraint-added',
      relation,
      constraint: {
        name: idx.name,
        type: 'i',
        definition: idx.definition,
        columns: indexColumns(idx.definition).map(back),
      },
    });
  }
  return changes;
}
