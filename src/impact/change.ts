/** A schema change found by diffing two catalog snapshots: the input of impact analysis. */

/** Every kind of change pgpact distinguishes; each one is also a finding kind. */
export type ChangeKind =
  | 'schema-dropped'
  | 'schema-renamed'
  | 'table-dropped'
  | 'table-renamed'
  | 'table-recreated'
  | 'column-dropped'
  | 'column-renamed'
  | 'column-recreated'
  | 'column-type-changed'
  | 'not-null-added'
  | 'default-removed'
  | 'constraint-added'
  | 'required-column-added'
  | 'view-changed'
  | 'view-dropped'
  | 'view-renamed'
  | 'column-added'
  | 'table-added'
  | 'view-added';

/** A relation as named before the change (and after, when it still exists). */
export interface RelationRef {
  schema: string;
  name: string;
  kind: 'table' | 'view';
}

export interface Change {
  kind: ChangeKind;
  /** The relation concerned, as named in the base catalog (after catalog for additions). */
  relation?: RelationRef;
  /** The schema, for schema changes. */
  schema?: string;
  /** The column concerned, as named in the base catalog. */
  column?: string;
  /** The new name of a renamed object (`schema.name` for relations, the column name for columns). */
  newName?: string;
  /** Type before and after, for type changes. */
  fromType?: string;
  toType?: string;
  /** For constraint-added: the constraint's name, type letter (c, u, f, x, p, or i for a unique index), definition, columns. */
  constraint?: { name: string; type: string; definition: string; columns: string[] };
  /** For view-changed: columns the view no longer returns, or returns with another type. */
  lostColumns?: string[];
  /** For schema-dropped: the relations that went with it. */
  relations?: RelationRef[];
  /** For table/view drops and column drops: dependent views dropped with them (CASCADE). */
  droppedViews?: RelationRef[];
  /** For views: the relations (`schema.name`) the view read in the base catalog. */
  dependsOn?: string[];
  /** Free detail for messages (e.g. the old default expression). */
  detail?: string;
}

/** `schema.table` or `schema.table.column` of a change, as the finding's object. */
export function changeObject(change: Change): string {
  if (change.relation) {
    const rel = `${change.relation.schema}.${change.relation.name}`;
    return change.column === undefined ? rel : `${rel}.${change.column}`;
  }
  return change.schema ?? '';
}

/** Whether a change can break a consumer at all (additions are informative only). */
export function isPotentiallyBreaking(kind: ChangeKind): boolean {
  return kind !== 'column-added' && kind !== 'table-added' && kind !== 'view-added';
}
