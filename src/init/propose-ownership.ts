/**
 * Who owns which table in a first manifest: the login role that owns it, or, for a table the
 * admin (or a role that cannot log in) owns, the one service role that writes it.
 */
import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import type { OwnRoles } from '../postgres/own-roles.js';

/** Relation kinds `owns:` gives an owner: rows a service keeps. */
export const TABLE_KINDS: ReadonlySet<string> = new Set([
  'table',
  'partitioned_table',
  'foreign_table',
]);

/** Views: a service role owning one keeps it; nobody writes them. */
const VIEW_KINDS: ReadonlySet<string> = new Set(['view', 'materialized_view']);

/** A table, by schema and name. */
export interface TableName {
  schema: string;
  table: string;
}

/** A table whose writers are not (only) its owner. */
export interface WriterDisagreement extends TableName {
  /** The service role owning it, or undefined when nobody does. */
  owner?: string;
  writers: string[];
}

/** A table no service owns, and why. */
export interface UnownedTable extends TableName {
  /** The role owning it in the database. */
  dbOwner: string;
  writers: string[];
}

/** The proposed owners. */
export interface OwnershipProposal {
  /** service role → its tables. */
  tables: Map<string, TableName[]>;
  /** service role → schemas it owns in the database (an empty one is owned whole). */
  schemas: Map<string, string[]>;
  disagreements: WriterDisagreement[];
  unowned: UnownedTable[];
  /** Views and materialized views no service role owns: apply leaves them as they are. */
  unownedViews: (TableName & { dbOwner: string })[];
  /** Tables exist and none is owned by a service role: owners came from writers. */
  adminOwnsAll: boolean;
  /** The roles owning every table when adminOwnsAll (usually the admin alone). */
  tableOwners: string[];
}

/** Schemas pgpact keeps for itself: never a service's. */
const PGPACT_SCHEMAS = new Set(['pgpact']);

/** The schema.table key writers are given by. */
export function tableKey(schema: string, table: string): string {
  return JSON.stringify([schema, table]);
}

/**
 * Proposes owners: login roles that are not pgpact's own and own a table keep it; a table owned
 * by anyone else goes to its one writer (writers: tableKey → roles that wrote it).
 */
export function proposeOwnership(
  catalog: CatalogSnapshot,
  own: OwnRoles,
  observedWriters: ReadonlyMap<string, ReadonlySet<string>>,
  /** tableKey of a partition → tableKey of its root: a partition follows its root. */
  partitionRoots: ReadonlyMap<string, string> = new Map(),
): OwnershipProposal {
  // A write into a partition is a write into its partitioned table.
  const writers = new Map<string, Set<string>>();
  for (const [key, roles] of observedWriters) {
    const root = partitionRoots.get(key) ?? key;
    if (!writers.has(root)) writers.set(root, new Set());
    for (const role of roles) writers.get(root)!.add(role);
  }
  const login = new Set(catalog.roles.filter((r) => r.canLogin).map((r) => r.name));
  const isServiceRole = (role: string) => login.has(role) && !own.has(role);
  const proposal: OwnershipProposal = {
    tables: new Map(),
    schemas: new Map(),
    disagreements: [],
    unowned: [],
    unownedViews: [],
    adminOwnsAll: false,
    tableOwners: [],
  };
  const give = (role: string, t: TableName) => {
    if (!proposal.tables.has(role)) proposal.tables.set(role, []);
    proposal.tables.get(role)!.push(t);
  };
  const tables = catalog.relations.filter(
    (r: RelationInfo) => TABLE_KINDS.has(r.kind) && !PGPACT_SCHEMAS.has(r.schema),
  );
  let ownedByService = 0;
  /** tableKey → the service role given it (for partitions to follow), or null for nobody. */
  const given = new Map<string, string | null>();
  const partitions: RelationInfo[] = [];
  for (const rel of tables) {
    const t = { schema: rel.schema, table: rel.name };
    const key = tableKey(rel.schema, rel.name);
    if (partitionRoots.has(key) && !isServiceRole(rel.owner)) {
      partitions.push(rel);
      continue;
    }
    const wrote = [...(writers.get(tableKey(rel.schema, rel.name)) ?? [])]
      .filter(isServiceRole)
      .sort();
    if (isServiceRole(rel.owner)) {
      ownedByService++;
      give(rel.owner, t);
      given.set(key, rel.owner);
      if (wrote.some((w) => w !== rel.owner))
        proposal.disagreements.push({ ...t, owner: rel.owner, writers: wrote });
    } else if (wrote.length === 1) {
      give(wrote[0]!, t);
      given.set(key, wrote[0]!);
    } else {
      given.set(key, null);
      proposal.unowned.push({ ...t, dbOwner: rel.owner, writers: wrote });
      if (wrote.length > 1) proposal.disagreements.push({ ...t, writers: wrote });
    }
  }
  // A partition nobody in particular owns goes with its root; when the root is nobody's, the
  // root's comment speaks for it.
  for (const rel of partitions) {
    const owner = given.get(partitionRoots.get(tableKey(rel.schema, rel.name))!);
    if (owner) give(owner, { schema: rel.schema, table: rel.name });
  }
  // A view is its owner's when a service role owns it (it may ALTER and DROP it); one the
  // admin owns is nobody's: no writer makes it anyone's, and apply leaves it as it is.
  for (const rel of catalog.relations) {
    if (!VIEW_KINDS.has(rel.kind) || PGPACT_SCHEMAS.has(rel.schema)) continue;
    if (isServiceRole(rel.owner)) give(rel.owner, { schema: rel.schema, table: rel.name });
    else proposal.unownedViews.push({ schema: rel.schema, table: rel.name, dbOwner: rel.owner });
  }
  for (const schema of catalog.schemas) {
    if (PGPACT_SCHEMAS.has(schema.name) || !isServiceRole(schema.owner)) continue;
    if (!proposal.schemas.has(schema.owner)) proposal.schemas.set(schema.owner, []);
    proposal.schemas.get(schema.owner)!.push(schema.name);
  }
  if (tables.length > 0 && ownedByService === 0) {
    proposal.adminOwnsAll = true;
    proposal.tableOwners = [...new Set(tables.map((t) => t.owner))].sort();
  }
  return proposal;
}
