/**
 * What provisioning reports instead of granting: data no service owns (the
 * article's "neither seems to belong to A or B"), roles no service uses, and
 * manifests pgpact cannot honour as written.
 */
import type { Finding } from '../findings.js';
import { formatTableRef } from '../manifest/table-ref.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { type PlanContext, PGPACT_SCHEMA } from './context.js';

const RELATION_WORDS: Record<string, string> = {
  table: 'table',
  partitioned_table: 'partitioned table',
  view: 'view',
  materialized_view: 'materialized view',
  foreign_table: 'foreign table',
};

/** What a schema holds besides relations: its functions, types and extension objects, counted. */
function sharedObjects(catalog: CatalogSnapshot, schema: string): string[] {
  const count = (n: number, one: string, many: string) =>
    n === 0 ? [] : [`${n} ${n === 1 ? one : many}`];
  return [
    ...count(catalog.functions.filter((f) => f.schema === schema).length, 'function', 'functions'),
    ...count((catalog.types ?? []).filter((t) => t.schema === schema).length, 'type', 'types'),
    ...([...(catalog.extensionSchemas ?? []), ...(catalog.extensionHomes ?? [])].includes(schema)
      ? ['extension objects']
      : []),
  ];
}

/** The roles a role acts with: itself and every role it is a member of, transitively. */
function actingRoles(catalog: CatalogSnapshot, role: string): Set<string> {
  const acting = new Set([role]);
  for (const r of acting)
    for (const parent of catalog.roles.find((x) => x.name === r)?.memberOf ?? [])
      acting.add(parent);
  return acting;
}

/**
 * A service owning tables by pattern in a shared schema, running its own migrations, whose role
 * may not create there: apply leaves a shared schema's privileges as they are, so the first
 * migration creating a table or type there fails (check's shadow, which cannot see the live
 * grants, lets it pass).
 */
function migrationsWithoutCreate(ctx: PlanContext): Finding[] {
  const { catalog, manifest } = ctx;
  const findings: Finding[] = [];
  for (const service of manifest.services) {
    if (service.migrations === undefined) continue;
    const role = catalog.roles.find((r) => r.name === service.role);
    if (role?.superuser) continue;
    const acting = actingRoles(catalog, service.role);
    for (const name of new Set(service.ownsTables.map((p) => p.schema))) {
      if (!ctx.sharedSchemas.has(name)) continue;
      const schema = catalog.schemas.find((s) => s.name === name);
      if (!schema) continue;
      const creates =
        acting.has(schema.owner) ||
        schema.grants.some(
          (g) => g.privilege === 'CREATE' && (g.grantee === 'PUBLIC' || acting.has(g.grantee)),
        );
      if (creates) continue;
      findings.push({
        severity: 'warning',
        kind: 'migrations-cannot-create',
        object: name,
        consumers: [],
        message: `service ${service.name} runs its migrations as ${service.role}, which may not create in shared schema ${name}: a migration creating a table or type there fails, and pgpact leaves a shared schema's privileges as they are`,
        suggestion: `GRANT CREATE ON SCHEMA ${name} TO ${service.role} (or let ${service.name} own the schema: owns: [${name}])`,
      });
    }
  }
  return findings;
}

/** Findings about unowned schemas and tables, unused roles, and the role running apply. */
export function ownershipFindings(ctx: PlanContext): Finding[] {
  const { catalog, manifest } = ctx;
  const findings: Finding[] = [...migrationsWithoutCreate(ctx)];
  for (const schema of catalog.schemas) {
    if (!ctx.sharedSchemas.has(schema.name)) continue;
    for (const relation of catalog.relations) {
      if (relation.schema !== schema.name || relation.kind === 'sequence') continue;
      if (ctx.serviceOfRelation(relation)) continue;
      const ref = formatTableRef(relation.schema, relation.name);
      findings.push({
        severity: 'warning',
        kind: 'unowned-table',
        object: ref,
        consumers: [],
        message: `${RELATION_WORDS[relation.kind] ?? 'relation'} ${ref} (owner ${relation.owner}) is in shared schema ${schema.name} but no service's owns: matches it: pgpact grants nothing on it and leaves its privileges as they are`,
        suggestion: `add ${ref} (or a pattern matching it) to the owns: of the service whose data it is`,
      });
    }
  }
  for (const schema of catalog.schemas) {
    if (
      schema.name === PGPACT_SCHEMA ||
      ctx.managedSchemas.has(schema.name) ||
      ctx.sharedSchemas.has(schema.name)
    )
      continue;
    const relations = catalog.relations.filter(
      (r) => r.schema === schema.name && r.kind !== 'sequence',
    );
    const shared = relations.length === 0 ? sharedObjects(catalog, schema.name) : [];
    if (shared.length > 0) {
      // Functions, types and extension objects are nobody's data: nothing to own or drop.
      findings.push({
        severity: 'info',
        kind: 'unowned-schema',
        object: schema.name,
        consumers: [],
        message: `schema ${schema.name} belongs to no service and holds no table, only ${shared.join(', ')}: objects every service may use, which pgpact leaves as they are`,
        suggestion: `nothing to do; add ${schema.name} to a service's owns: only if what it holds is that service's`,
      });
      continue;
    }
    findings.push({
      severity: 'warning',
      kind: 'unowned-schema',
      object: schema.name,
      consumers: [],
      message: `schema ${schema.name} belongs to no service${relations.length > 0 ? ` and holds ${relations.length} ${relations.length === 1 ? 'relation' : 'relations'}` : ''}: pgpact grants nothing on it and leaves its privileges as they are`,
      suggestion:
        relations.length > 0
          ? `add ${schema.name} to the owns: of the service its data belongs to, or move its tables into an owned schema`
          : `drop the empty schema ${schema.name}, or add it to a service's owns:`,
    });
    for (const relation of relations) {
      const ref = formatTableRef(relation.schema, relation.name);
      findings.push({
        severity: 'warning',
        kind: 'unowned-table',
        object: ref,
        consumers: [],
        message: `${RELATION_WORDS[relation.kind] ?? 'relation'} ${ref} (owner ${relation.owner}) belongs to no service`,
        suggestion: `decide which service owns ${ref}: move it into that service's schema, or add ${schema.name} to its owns:`,
      });
    }
  }
  if (manifest.services.some((s) => s.owns.includes(PGPACT_SCHEMA))) {
    const owner = manifest.services.find((s) => s.owns.includes(PGPACT_SCHEMA))!;
    findings.push({
      severity: 'warning',
      kind: 'reserved-schema',
      object: PGPACT_SCHEMA,
      consumers: [{ service: owner.name, source: 'declared' }],
      message: `schema ${PGPACT_SCHEMA} holds pgpact's own migration history; pgpact does not give it to service ${owner.name}`,
      suggestion: `rename ${owner.name}'s schema`,
    });
  }
  if (ctx.currentUser !== undefined && ctx.servicesByRole.has(ctx.currentUser)) {
    const service = ctx.servicesByRole.get(ctx.currentUser)![0]!;
    findings.push({
      severity: 'warning',
      kind: 'service-role-is-admin',
      object: ctx.currentUser,
      consumers: [{ service: service.name, source: 'declared' }],
      message: `service ${service.name} uses role ${ctx.currentUser}, the role running pgpact: its attributes, limits and grants are left alone, so nothing is enforced for it`,
      suggestion: `give ${service.name} its own role (role: in the manifest), or run pgpact as another role`,
    });
  }
  for (const role of catalog.roles) {
    if (ctx.isAdministrative(role.name) || ctx.servicesByRole.has(role.name)) continue;
    for (const group of role.memberOf) {
      const service = ctx.servicesByRole.get(group)?.[0];
      if (!service) continue;
      findings.push({
        severity: 'warning',
        kind: 'service-role-member',
        object: role.name,
        consumers: [{ service: service.name, source: 'declared' }],
        message: `role ${role.name} is a member of ${group}, the role of service ${service.name}: it can act with everything ${service.name} may do`,
        suggestion: `REVOKE ${group} FROM ${role.name}, unless ${role.name} is how people administer ${service.name} on purpose`,
      });
    }
  }
  for (const role of rolesPresentInDatabase(catalog)) {
    // Administrators and pgpact's own roles hold what they hold on purpose: never "drop what it holds".
    if (ctx.servicesByRole.has(role) || ctx.isAdministrative(role)) continue;
    findings.push({
      severity: 'info',
      kind: 'unused-role',
      object: role,
      consumers: [],
      message: `role ${role} owns objects or holds privileges in database ${catalog.database}, but no service of the manifest uses it`,
      suggestion: `if an application connects as ${role}, declare it as a service; otherwise drop what it holds (REASSIGN OWNED / DROP OWNED)`,
    });
  }
  return findings;
}

/** Roles that own something or hold a privilege in this database (PUBLIC and pg_* roles excepted). */
function rolesPresentInDatabase(catalog: CatalogSnapshot): string[] {
  const names = new Set<string>();
  for (const s of catalog.schemas) {
    if (s.name === PGPACT_SCHEMA) continue;
    names.add(s.owner);
    for (const g of s.grants) names.add(g.grantee);
  }
  for (const r of catalog.relations) {
    if (r.schema === PGPACT_SCHEMA) continue;
    names.add(r.owner);
    for (const g of r.grants) names.add(g.grantee);
    for (const c of r.columns) for (const g of c.grants) names.add(g.grantee);
  }
  for (const f of catalog.functions) {
    names.add(f.owner);
    for (const g of f.grants ?? []) names.add(g.grantee);
  }
  for (const t of catalog.types ?? []) names.add(t.owner);
  for (const d of catalog.defaultPrivileges) {
    names.add(d.role);
    for (const g of d.grants) names.add(g.grantee);
  }
  for (const g of catalog.databaseGrants) names.add(g.grantee);
  return [...names].filter((n) => n !== 'PUBLIC' && !n.startsWith('pg_')).sort();
}
