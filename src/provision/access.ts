/**
 * The access the manifest wants on every managed object: owners hold
 * everything, consumers exactly their contracts (enforce) or read everything
 * (audit), PUBLIC and everyone else nothing.
 */
import path from 'node:path';
import type { Finding } from '../findings.js';
import { closestName } from '../manifest/closest.js';
import { formatTableRef } from '../manifest/table-ref.js';
import type { RelationInfo } from '../catalog-types.js';
import { ownerOfTable } from '../manifest/ownership.js';
import type { Contract, Service, SourceLocation } from '../manifest/types.js';
import type { PlanContext } from './context.js';
import { DesiredAcl, ownerPrivileges } from './privileges.js';
import { sequencesOfColumn } from './sequences.js';

/** Desired privileges of one relation: table-level, and per column. */
export interface RelationAccess {
  table: DesiredAcl;
  columns: Map<string, DesiredAcl>;
}

export interface DesiredAccess {
  /** Managed schema → desired privileges on it. */
  schemas: Map<string, DesiredAcl>;
  /** Relation oid (managed schemas only) → desired privileges. */
  relations: Map<number, RelationAccess>;
  /** Managed schema → roles of audit services that read all of it (for default privileges). */
  auditReaders: Map<string, Set<string>>;
  findings: Finding[];
}

/** `file:line` of a manifest location, the file by its base name. */
export function where(location: SourceLocation): string {
  return `${path.basename(location.file)}:${location.line}`;
}

function relationAccess(access: DesiredAccess, relation: RelationInfo): RelationAccess {
  let entry = access.relations.get(relation.oid);
  if (!entry) {
    entry = { table: new DesiredAcl(), columns: new Map() };
    access.relations.set(relation.oid, entry);
  }
  return entry;
}

function columnAcl(entry: RelationAccess, column: string): DesiredAcl {
  let acl = entry.columns.get(column);
  if (!acl) {
    acl = new DesiredAcl();
    entry.columns.set(column, acl);
  }
  return acl;
}

/** Computes what every grantee should hold on managed schemas and their relations. */
export function desiredAccess(ctx: PlanContext): DesiredAccess {
  const { catalog, managedSchemas } = ctx;
  const access: DesiredAccess = {
    schemas: new Map(),
    relations: new Map(),
    auditReaders: new Map(),
    findings: [],
  };

  for (const [schema, owner] of managedSchemas) {
    const acl = new DesiredAcl();
    acl.add(
      owner.role,
      ownerPrivileges('schema', ctx.serverVersion),
      `service ${owner.name} owns schema ${schema}`,
    );
    const before = catalog.schemas.find((s) => s.name === schema)?.owner;
    if (before !== undefined && keepsOldAccess(ctx, owner, before, owner.role)) {
      acl.add(
        before,
        ownerPrivileges('schema', ctx.serverVersion),
        `audit mode: ${before} owned schema ${schema} and keeps its access until enforce mode`,
      );
    }
    const everyone = objectsForEveryone(ctx, schema);
    const publicUsage = catalog.schemas
      .find((s) => s.name === schema)
      ?.grants.some((g) => g.grantee === 'PUBLIC' && g.privilege === 'USAGE');
    if (everyone && publicUsage) {
      acl.add(
        'PUBLIC',
        ['USAGE'],
        `schema ${schema} holds ${everyone}: revoking USAGE from PUBLIC would change what other services' statements return or make them fail (table privileges still guard its data)`,
      );
    }
    access.schemas.set(schema, acl);
  }
  // A shared schema keeps its owner and grants: these only list the USAGE services need.
  for (const schema of ctx.sharedSchemas) access.schemas.set(schema, new DesiredAcl());
  for (const service of ctx.manifest.services) {
    for (const p of service.ownsTables) {
      if (!ctx.sharedSchemas.has(p.schema)) continue;
      access.schemas
        .get(p.schema)!
        .add(service.role, ['USAGE'], `${service.name} owns ${p.text} (${where(p.location)})`);
    }
  }
  for (const relation of catalog.relations) {
    const service = ctx.serviceOfRelation(relation);
    if (!service) continue;
    const owner = ctx.ownerAfter(relation);
    const kind = relation.kind === 'sequence' ? 'sequence' : 'table';
    const ref = formatTableRef(relation.schema, relation.name);
    relationAccess(access, relation).table.add(
      owner,
      ownerPrivileges(kind, ctx.serverVersion),
      `${owner} owns ${ref}`,
    );
    // Ownership moves to the service; in audit mode the old owner, a role outside the
    // manifest, keeps using the table as it did (enforce mode revokes it).
    if (keepsOldAccess(ctx, service, relation.owner, owner)) {
      relationAccess(access, relation).table.add(
        relation.owner,
        ownerPrivileges(kind, ctx.serverVersion),
        `audit mode: ${relation.owner} owned ${ref} and keeps its access until enforce mode`,
      );
    }
  }

  for (const service of ctx.manifest.services) {
    for (const contract of [...service.reads, ...service.writes])
      addContract(ctx, access, service, contract);
    if (service.enforcement === 'audit') addAuditReads(ctx, access, service);
  }
  return access;
}

/**
 * What in a schema statements on other schemas' tables use without naming it: an extension's
 * types and operators (citext's), types of columns elsewhere (enums, domains), functions called
 * by defaults, generated columns, views, triggers, checks or policies elsewhere. Undefined when none.
 */
export function objectsForEveryone(ctx: PlanContext, schema: string): string | undefined {
  const { catalog } = ctx;
  if (catalog.extensionSchemas?.includes(schema)) return "an extension's types or operators";
  const type = catalog.types?.find((t) => t.schema === schema && t.usedOutside);
  if (type) return `type ${formatTableRef(schema, type.name)}, used by columns in other schemas`;
  for (const fn of catalog.functions) {
    if (fn.schema !== schema) continue;
    const outside = fn.usedBy?.find((u) => u.schema !== undefined && u.schema !== schema);
    if (outside) return `function ${fn.schema}.${fn.name}, used by ${outside.what}`;
  }
  return undefined;
}

/** Whether an object's old owner, a role outside the manifest, keeps its access after the move (audit mode). */
function keepsOldAccess(
  ctx: PlanContext,
  service: Service,
  before: string,
  after: string,
): boolean {
  return (
    service.enforcement === 'audit' &&
    before !== after &&
    before !== 'PUBLIC' &&
    !ctx.servicesByRole.has(before) &&
    !ctx.ignored(before)
  );
}

function addContract(
  ctx: PlanContext,
  access: DesiredAccess,
  service: Service,
  contract: Contract,
): void {
  const owner = ownerOfTable(ctx.manifest, contract.schema, contract.table);
  if (!owner || owner.role === service.role) return;
  const ref = formatTableRef(contract.schema, contract.table);
  const consumers = [{ service: service.name, source: 'declared' as const }];
  const verb = contract.access === 'read' ? 'reads' : 'writes';
  access.schemas
    .get(contract.schema)!
    .add(service.role, ['USAGE'], `${service.name} ${verb} ${ref} (${where(contract.location)})`);
  if (contract.access === 'write') {
    access.findings.push({
      severity: 'info',
      kind: 'declared-write',
      object: ref,
      consumers,
      location: where(contract.location),
      message: `${service.name} writes ${ref}, a table of ${owner.name}: declared, so granted, but a cross-service write couples the two services tightly`,
      suggestion: `let ${owner.name} own the write (an API call or an event) and drop the writes: entry`,
    });
  }
  const relation = ctx.catalog.relations.find(
    (r) => r.schema === contract.schema && r.name === contract.table,
  );
  if (!relation) {
    const schemaHoldsTables = ctx.catalog.relations.some((r) => r.schema === contract.schema);
    access.findings.push({
      severity: schemaHoldsTables ? 'warning' : 'info',
      kind: 'contract-table-missing',
      object: ref,
      consumers,
      location: where(contract.location),
      message: `${service.name} declares ${verb} on ${ref}, which does not exist${schemaHoldsTables ? '' : ' yet'}: nothing granted for it`,
      suggestion: schemaHoldsTables
        ? `${closestHint(
            contract.table,
            ctx.catalog.relations
              .filter((r) => r.schema === contract.schema && r.kind !== 'sequence')
              .map((r) => r.name),
          )}fix the table name in the contract, or let ${owner.name} create the table (apply refuses until then)`
        : `if ${owner.name}'s migrations create it, apply grants it right after running them`,
    });
    return;
  }
  const entry = relationAccess(access, relation);
  const reason = `${service.name} ${verb} ${ref}${contract.columns === '*' ? '' : ` (${contract.columns.join(', ')})`} as declared at ${where(contract.location)}`;
  const existing = new Set(relation.columns.map((c) => c.name));
  const columns =
    contract.columns === '*'
      ? relation.columns.map((c) => c.name)
      : contract.columns.filter((c) => existing.has(c));
  if (contract.columns !== '*') {
    contract.columns.forEach((column, i) => {
      if (existing.has(column)) return;
      access.findings.push({
        severity: 'warning',
        kind: 'contract-column-missing',
        object: `${ref}.${column}`,
        consumers,
        location: where(contract.columnLocations[i] ?? contract.location),
        message: `${service.name} declares ${verb} on column ${column} of ${ref}, which has no such column: nothing granted for it`,
        suggestion: `${closestHint(column, [...existing])}fix the column name in the contract, or let ${owner.name} add the column (apply refuses until then)`,
      });
    });
  }

  if (contract.access === 'read') {
    if (contract.columns === '*') entry.table.add(service.role, ['SELECT'], reason);
    // An audit consumer reads the whole table anyway: a column grant would only duplicate it.
    else if (service.enforcement !== 'audit') {
      for (const column of columns) columnAcl(entry, column).add(service.role, ['SELECT'], reason);
    }
    return;
  }
  // UPDATE ... WHERE id = $1, DELETE ... WHERE id = $1 and INSERT ... RETURNING id read the
  // key: an ORM's ordinary writes fail without SELECT on it.
  // (An audit consumer reads the whole table anyway.)
  const key =
    service.enforcement === 'audit'
      ? []
      : (relation.constraints.find((c) => c.type === 'p')?.columns ?? []);
  for (const column of key) {
    columnAcl(entry, column).add(
      service.role,
      ['SELECT'],
      `${service.name} writes ${ref}: its writes find and return rows by the primary key ${column} (${where(contract.location)})`,
    );
  }
  if (contract.columns === '*')
    entry.table.add(service.role, ['INSERT', 'UPDATE', 'DELETE'], reason);
  else
    for (const column of columns)
      columnAcl(entry, column).add(service.role, ['INSERT', 'UPDATE'], reason);
  // An INSERT fills every column it does not name from its default: the writer needs
  // USAGE on each sequence a default of the table draws from, not only its own columns'.
  for (const column of relation.columns) {
    for (const sequence of sequencesOfColumn(ctx.catalog, relation, column)) {
      if (!ctx.serviceOfRelation(sequence)) continue;
      relationAccess(access, sequence).table.add(
        service.role,
        ['USAGE'],
        `${service.name} inserts into ${ref}, whose column ${column.name} defaults to nextval(${formatTableRef(sequence.schema, sequence.name)})`,
      );
    }
  }
}

/** "did you mean x? " when a name is close to one that exists, else nothing. */
function closestHint(name: string, existing: string[]): string {
  const closest = closestName(name, existing);
  return closest === undefined ? '' : `did you mean ${closest}? `;
}

function addAuditReads(ctx: PlanContext, access: DesiredAccess, service: Service): void {
  const reason = `${service.name} is in audit mode: it reads every table of other services (reported, not denied)`;
  for (const relation of ctx.catalog.relations) {
    if (!ctx.sharedSchemas.has(relation.schema) || relation.kind === 'sequence') continue;
    const owner = ctx.serviceOfRelation(relation);
    if (!owner || owner.role === service.role) continue;
    access.schemas.get(relation.schema)!.add(service.role, ['USAGE'], reason);
    relationAccess(access, relation).table.add(service.role, ['SELECT'], reason);
  }
  for (const [schema, owner] of ctx.managedSchemas) {
    if (owner.role === service.role) continue;
    access.schemas.get(schema)!.add(service.role, ['USAGE'], reason);
    const readers = access.auditReaders.get(schema) ?? new Set<string>();
    readers.add(service.role);
    access.auditReaders.set(schema, readers);
    for (const relation of ctx.catalog.relations) {
      if (relation.schema !== schema || relation.kind === 'sequence') continue;
      relationAccess(access, relation).table.add(service.role, ['SELECT'], reason);
    }
  }
}
