import type { CatalogSnapshot, RelationInfo, RelationKind } from '../catalog-types.js';

/** One stored column a reference reaches: `schema.table.column` and its `schema.table`. */
export interface ColumnSource {
  key: string;
  relation: string;
}

/** A column as a range item exposes it: its name and the stored columns reading it reads. */
export interface RangeColumn {
  name: string;
  sources: readonly ColumnSource[];
}

/** A catalog relation prepared for fast lookups during analysis (built once per catalog). */
export interface IndexedRelation {
  schema: string;
  name: string;
  kind: RelationKind;
  /** `schema.table` as stored. */
  key: string;
  columns: readonly RangeColumn[];
  byName: ReadonlyMap<string, RangeColumn>;
  /** Constraint name → its columns (ON CONFLICT ON CONSTRAINT reads them). */
  constraints: ReadonlyMap<string, readonly string[]>;
  /** For views: the relations and columns the view reads (REFRESH MATERIALIZED VIEW reads them). */
  dependsOn: readonly { schema: string; name: string; columns: string[] }[];
}

/** The lookup structure the analyzer works on: relations and functions by schema and name. */
export interface CatalogIndex {
  database: string;
  /** schema → relation name → relation. */
  relations: ReadonlyMap<string, ReadonlyMap<string, IndexedRelation>>;
  /** relation name → the relations of that name in every schema. */
  relationsNamed: ReadonlyMap<string, readonly IndexedRelation[]>;
  /** schema → names of user-defined functions and procedures in it. */
  functions: ReadonlyMap<string, ReadonlySet<string>>;
  /** Role name → its `search_path` setting (ALTER ROLE ... SET), when it has one. */
  roleSearchPaths: ReadonlyMap<string, string>;
}

function indexRelation(r: RelationInfo): IndexedRelation {
  const key = `${r.schema}.${r.name}`;
  const columns: RangeColumn[] = r.columns.map((c) => ({
    name: c.name,
    sources: [{ key: `${key}.${c.name}`, relation: key }],
  }));
  return {
    schema: r.schema,
    name: r.name,
    kind: r.kind,
    key,
    columns,
    byName: new Map(columns.map((c) => [c.name, c])),
    constraints: new Map(r.constraints.map((c) => [c.name, c.columns])),
    dependsOn: r.dependsOn ?? [],
  };
}

/** Builds the analyzer's lookup index from a catalog snapshot (do it once, reuse it for every statement). */
export function createCatalogIndex(catalog: CatalogSnapshot): CatalogIndex {
  const relations = new Map<string, Map<string, IndexedRelation>>();
  const relationsNamed = new Map<string, IndexedRelation[]>();
  for (const s of catalog.schemas) relations.set(s.name, new Map());
  for (const r of catalog.relations) {
    let bySchema = relations.get(r.schema);
    if (!bySchema) {
      bySchema = new Map();
      relations.set(r.schema, bySchema);
    }
    const indexed = indexRelation(r);
    bySchema.set(r.name, indexed);
    const named = relationsNamed.get(r.name);
    if (named) named.push(indexed);
    else relationsNamed.set(r.name, [indexed]);
  }
  const functions = new Map<string, Set<string>>();
  for (const f of catalog.functions) {
    let names = functions.get(f.schema);
    if (!names) {
      names = new Set();
      functions.set(f.schema, names);
    }
    names.add(f.name);
  }
  const roleSearchPaths = new Map<string, string>();
  for (const role of catalog.roles) {
    const value = role.settings.search_path;
    if (value !== undefined) roleSearchPaths.set(role.name, value);
  }
  return { database: catalog.database, relations, relationsNamed, functions, roleSearchPaths };
}

/** Schemas Postgres keeps for itself: their relations are not in the snapshot and not tracked. */
export function isSystemSchema(schema: string): boolean {
  return schema === 'information_schema' || schema.startsWith('pg_');
}

/** Finds a relation, qualified or through the search path (already resolved: no `$user`). */
export function lookupRelation(
  index: CatalogIndex,
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): IndexedRelation | undefined {
  if (schema !== undefined) return index.relations.get(schema)?.get(name);
  for (const s of searchPath) {
    const found = index.relations.get(s)?.get(name);
    if (found) return found;
  }
  return undefined;
}

/** The schema of a user-defined function the name reaches, or undefined for a built-in one. */
export function lookupFunctionSchema(
  index: CatalogIndex,
  schema: string | undefined,
  name: string,
  searchPath: readonly string[],
): string | undefined {
  if (schema !== undefined) return index.functions.get(schema)?.has(name) ? schema : undefined;
  for (const s of searchPath) {
    if (index.functions.get(s)?.has(name)) return s;
  }
  return undefined;
}
