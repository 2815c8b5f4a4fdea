/** What every part of planning needs to know about a manifest and a catalog, computed once. */
import { ownerResolver } from '../manifest/ownership.js';
import type { Manifest, Service } from '../manifest/types.js';
import type { CatalogSnapshot, FunctionInfo, RelationInfo, TypeInfo } from '../catalog-types.js';
import { isPgpactOwnRole } from '../postgres/own-roles.js';
import { quoteQualified } from '../postgres/quote.js';

/** The schema pgpact keeps its own bookkeeping in (migration history): never managed, never reported. */
export const PGPACT_SCHEMA = 'pgpact';

export interface PlanContext {
  manifest: Manifest;
  catalog: CatalogSnapshot;
  /** server_version_num of the catalog's server. */
  serverVersion: number;
  /** The role running the plan; never altered, its grants left alone. */
  currentUser?: string;
  /**
   * Roles that administer the database rather than use it: the role running the plan, the
   * owner of pgpact's bookkeeping schema, the database's owner and superusers (unless a
   * service uses them), and pgpact's own roles.
   */
  isAdministrative(role: string): boolean;
  /** Every schema a service owns (the reserved pgpact schema excepted) → its owner. */
  managedSchemas: Map<string, Service>;
  /**
   * Schemas holding tables owned through `owns:` table patterns, owned whole by no service:
   * their owner, grants, routines and types are left as they are.
   */
  sharedSchemas: Set<string>;
  /**
   * The service owning a relation: its schema's owner, or in a shared schema the service
   * whose pattern matches it (a sequence linked to a column: its table's). Undefined: unmanaged.
   */
  serviceOfRelation(relation: RelationInfo): Service | undefined;
  /** Login role → the services using it, in manifest order. */
  servicesByRole: Map<string, Service[]>;
  /** Whether provisioning leaves a grantee's privileges alone: the administrative roles. */
  ignored(grantee: string): boolean;
  /** The role owning a relation once the plan ran. */
  ownerAfter(relation: RelationInfo): string;
  /** The role owning a managed schema's function or type once the plan ran (its current owner elsewhere). */
  ownerOfMember(object: FunctionInfo | TypeInfo): string;
}

/** Builds the planning context: which schemas are managed, who owns what after the plan, whom to leave alone. */
export function planContext(manifest: Manifest, catalog: CatalogSnapshot): PlanContext {
  const managedSchemas = new Map<string, Service>();
  const servicesByRole = new Map<string, Service[]>();
  for (const service of manifest.services) {
    servicesByRole.set(service.role, [...(servicesByRole.get(service.role) ?? []), service]);
    for (const schema of service.owns) {
      if (schema !== PGPACT_SCHEMA && !managedSchemas.has(schema))
        managedSchemas.set(schema, service);
    }
  }
  const sharedSchemas = new Set<string>();
  for (const service of manifest.services)
    for (const p of service.ownsTables)
      if (!managedSchemas.has(p.schema) && p.schema !== PGPACT_SCHEMA) sharedSchemas.add(p.schema);
  const ownerOf = ownerResolver(manifest);
  const ownerOfSharedTable = (schema: string, table: string): Service | undefined =>
    sharedSchemas.has(schema) ? ownerOf(schema, table) : undefined;
  const superusers = new Set(catalog.roles.filter((r) => r.superuser).map((r) => r.name));
  const currentUser = catalog.currentUser;
  // The role that ran apply and migrate before owns pgpact's bookkeeping schema.
  const bookkeeper = catalog.schemas.find((s) => s.name === PGPACT_SCHEMA)?.owner;
  const isAdministrative = (role: string) =>
    role !== 'PUBLIC' &&
    (role === currentUser ||
      isPgpactOwnRole(role) ||
      (role === bookkeeper && !servicesByRole.has(role)) ||
      ((superusers.has(role) || role === catalog.databaseOwner) && !servicesByRole.has(role)));
  const ignored = isAdministrative;

  const byName = new Map(catalog.relations.map((r) => [`${r.schema}\u0000${r.name}`, r]));
  const serviceOfRelation = (relation: RelationInfo): Service | undefined => {
    const whole = managedSchemas.get(relation.schema);
    if (whole || !sharedSchemas.has(relation.schema)) return whole;
    if (relation.kind !== 'sequence') return ownerOfSharedTable(relation.schema, relation.name);
    // In a shared schema a sequence belongs to the table whose column it feeds, if any.
    return relation.ownedBy
      ? ownerOfSharedTable(relation.ownedBy.schema, relation.ownedBy.table)
      : undefined;
  };
  const ownerAfter = (relation: RelationInfo, depth = 0): string => {
    // A sequence linked to a column (serial, identity) always has its table's owner.
    if (relation.kind === 'sequence' && relation.ownedBy && depth === 0) {
      const table = byName.get(`${relation.ownedBy.schema}\u0000${relation.ownedBy.table}`);
      if (table) return ownerAfter(table, 1);
    }
    return serviceOfRelation(relation)?.role ?? relation.owner;
  };
  return {
    manifest,
    catalog,
    serverVersion: catalog.serverVersion,
    currentUser,
    isAdministrative,
    managedSchemas,
    sharedSchemas,
    serviceOfRelation,
    servicesByRole,
    ignored,
    ownerAfter: (relation) => ownerAfter(relation),
    ownerOfMember: (object) => managedSchemas.get(object.schema)?.role ?? object.owner,
  };
}

/** The SQL name of a function for GRANT/ALTER: schema-qualified with its input argument types. */
export function functionSignature(fn: FunctionInfo): string {
  return `${quoteQualified(fn.schema, fn.name)}(${fn.argumentTypes ?? fn.arguments})`;
}

/** The keyword ALTER uses for a relation kind. */
export function relationKeyword(relation: RelationInfo): string {
  switch (relation.kind) {
    case 'view':
      return 'VIEW';
    case 'materialized_view':
      return 'MATERIALIZED VIEW';
    case 'foreign_table':
      return 'FOREIGN TABLE';
    case 'sequence':
      return 'SEQUENCE';
    default:
      return 'TABLE';
  }
}

/** A relation's GRANT target: `TABLE s.t` (views and the like included) or `SEQUENCE s.q`. */
export function relationTarget(relation: RelationInfo): string {
  return `${relation.kind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${quoteQualified(relation.schema, relation.name)}`;
}
