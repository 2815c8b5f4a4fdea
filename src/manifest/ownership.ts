/**
 * Who owns a relation: the one resolver check, observe, migrate, the dashboard and
 * provisioning ask. A service owns a schema whole (`owns: [users]`) or tables inside a
 * schema several services share (`owns: [public.batch_*]`); every table has at most one
 * owner (the manifest refuses two). Names are as Postgres stores them (no quoting, case
 * kept); a pattern's quoted table part is literal.
 */
import type { CatalogSnapshot } from '../catalog-types.js';
import { matchesTablePattern, type TablePattern } from './table-pattern.js';
import type { Manifest, Service } from './types.js';

/** What ownership is read from: the manifest's services (a manifest being read will do). */
type Owners = Pick<Manifest, 'services'>;

/** How a relation is owned, or why it is nobody's. */
export type Ownership =
  /** Its schema is owned whole by the service. */
  | { kind: 'schema'; service: Service }
  /** In a shared schema, the service's table pattern matches it. */
  | { kind: 'table'; service: Service; pattern: TablePattern }
  /** In a shared schema (other tables there are owned through patterns), no pattern matches it. */
  | { kind: 'unowned-table' }
  /** No service owns its schema or any table in it. */
  | { kind: 'unowned-schema' };

/** The service owning a schema whole, if any (table patterns do not own a schema). */
export function ownerOfSchema(manifest: Owners, schema: string): Service | undefined {
  return manifest.services.find((s) => s.owns.includes(schema));
}

/** Whether a schema holds tables owned through table patterns and no service owns it whole. */
export function isSharedSchema(manifest: Owners, schema: string): boolean {
  return (
    !ownerOfSchema(manifest, schema) &&
    manifest.services.some((s) => s.ownsTables.some((p) => p.schema === schema))
  );
}

/** Schemas holding tables owned through table patterns (shared schemas), unless a service owns them whole. */
export function sharedSchemas(manifest: Owners): string[] {
  const schemas = new Set(manifest.services.flatMap((s) => s.ownsTables.map((p) => p.schema)));
  return [...schemas].filter((schema) => !ownerOfSchema(manifest, schema));
}

/** How a relation (table, view, sequence...) of a schema is owned. */
export function ownershipOf(manifest: Owners, schema: string, table: string): Ownership {
  const whole = ownerOfSchema(manifest, schema);
  if (whole) return { kind: 'schema', service: whole };
  let inShared = false;
  for (const service of manifest.services) {
    for (const pattern of service.ownsTables) {
      if (pattern.schema !== schema) continue;
      inShared = true;
      if (matchesTablePattern(pattern, table)) return { kind: 'table', service, pattern };
    }
  }
  return { kind: inShared ? 'unowned-table' : 'unowned-schema' };
}

/** The service owning a relation: by owning its whole schema, or through a table pattern. */
export function ownerOfTable(manifest: Owners, schema: string, table: string): Service | undefined {
  const found = ownershipOf(manifest, schema, table);
  return found.kind === 'schema' || found.kind === 'table' ? found.service : undefined;
}

/** Whether a service owns a relation: its schema whole, or through one of its table patterns. */
export function serviceOwns(service: Service, schema: string, table: string): boolean {
  return ownerOfTable({ services: [service] }, schema, table) !== undefined;
}

/**
 * ownerOfTable with its answers remembered, for loops over a whole catalog or usage
 * snapshot (the manifest must not change while it is used).
 */
export function ownerResolver(
  manifest: Owners,
): (schema: string, table: string) => Service | undefined {
  const memo = new Map<string, Service | undefined>();
  return (schema, table) => {
    const key = `${schema}\u0000${table}`;
    if (!memo.has(key)) memo.set(key, ownerOfTable(manifest, schema, table));
    return memo.get(key);
  };
}

/**
 * Without a manifest: the role owning a relation in the catalog, else the role owning its
 * schema, skipping roles that are nobody's service (superusers, pgpact's own roles). In a
 * one-schema database each table keeps its own owner, not the owner of `public`.
 */
export function ownerRoleFromCatalog(
  catalog: CatalogSnapshot,
  skip: (role: string) => boolean,
): (schema: string, table: string) => string | undefined {
  const relations = new Map(catalog.relations.map((r) => [`${r.schema}\u0000${r.name}`, r.owner]));
  const schemas = new Map(catalog.schemas.map((s) => [s.name, s.owner]));
  return (schema, table) => {
    const role = relations.get(`${schema}\u0000${table}`);
    if (role !== undefined && !skip(role)) return role;
    const schemaRole = schemas.get(schema);
    return schemaRole !== undefined && !skip(schemaRole) ? schemaRole : undefined;
  };
}
