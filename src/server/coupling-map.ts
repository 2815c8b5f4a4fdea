import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import { ownerOfSchema, ownerRoleFromCatalog, ownerResolver } from '../manifest/ownership.js';
import type { Manifest } from '../manifest/types.js';
import type { UsageSnapshot } from '../usage/types.js';
import type {
  CheckReport,
  ColumnAccess,
  CouplingMap,
  EdgeStatus,
  MapColumn,
  MapEdge,
  MapSchema,
  MapService,
  MapTable,
} from './api-types.js';
import { objectResolver } from './object-names.js';

/** What the coupling map is built from; only the catalog is required. */
export interface CouplingMapInput {
  catalog: CatalogSnapshot;
  manifest?: Manifest;
  usage?: { snapshot: UsageSnapshot; origin: string };
  checkReport?: CheckReport;
  /** Roles never shown as consumers (the dashboard's own monitoring role). */
  hiddenRoles?: readonly string[];
  /** Schemas left out of the map (pgpact's own bookkeeping schema). */
  hiddenSchemas?: readonly string[];
}

const TABLE_KINDS = new Set([
  'table',
  'partitioned_table',
  'view',
  'materialized_view',
  'foreign_table',
]);

interface EdgeDraft {
  service: string;
  table: string;
  access: 'read' | 'write';
  declaredColumns?: '*' | string[];
  observedColumns: Set<string>;
  observed: boolean;
  calls: number;
}

function sortByName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds the coupling map: services, schemas, tables, declared and observed edges, check-report marks. */
export function buildCouplingMap(input: CouplingMapInput): CouplingMap {
  const { catalog, manifest, usage, checkReport } = input;
  const hiddenRoles = new Set(input.hiddenRoles ?? []);
  const hiddenSchemas = new Set(input.hiddenSchemas ?? ['pgpact']);
  const notes: string[] = [];
  const superusers = new Set(catalog.roles.filter((r) => r.superuser).map((r) => r.name));

  // Services: the manifest's, else the roles owning tables (or the schemas holding them).
  const services = new Map<string, MapService>();
  const serviceOfRole = new Map<string, string>();
  const relations = catalog.relations.filter(
    (r) => TABLE_KINDS.has(r.kind) && !hiddenSchemas.has(r.schema),
  );
  // Every table's owner comes from one resolver: the manifest's (schemas owned whole, table
  // patterns in shared schemas), else the catalog's table owners: in one shared `public`,
  // each table keeps its own service instead of all going to the schema's owner.
  let ownerOf: (schema: string, table: string) => string | undefined;
  let schemaOwner: (schema: string) => string | undefined;
  if (manifest) {
    for (const s of manifest.services) {
      services.set(s.name, {
        name: s.name,
        role: s.role,
        ...(s.team === undefined ? {} : { team: s.team }),
        ...(s.contact === undefined ? {} : { contact: s.contact }),
        enforcement: s.enforcement,
        owns: [...s.owns],
        inManifest: true,
      });
      serviceOfRole.set(s.role, s.name);
    }
    const owner = ownerResolver(manifest);
    ownerOf = (schema, table) => owner(schema, table)?.name;
    schemaOwner = (schema) => ownerOfSchema(manifest, schema)?.name;
  } else {
    // Superusers, hidden roles and Postgres's predefined roles (pg_database_owner owns
    // public since PG 15) are nobody's service.
    const roleOf = ownerRoleFromCatalog(
      catalog,
      (role) => superusers.has(role) || hiddenRoles.has(role) || role.startsWith('pg_'),
    );
    const addService = (role: string) => {
      if (!services.has(role))
        services.set(role, { name: role, role, owns: [], inManifest: false });
      serviceOfRole.set(role, role);
    };
    const tableOwners = new Map<string, Set<string | undefined>>();
    for (const r of relations) {
      const role = roleOf(r.schema, r.name);
      if (role !== undefined) addService(role);
      tableOwners.set(r.schema, (tableOwners.get(r.schema) ?? new Set()).add(role));
    }
    // A schema is a role's when it owns it and every table in it; else it is shared.
    const schemaRoles = new Map<string, string>();
    for (const [schema, owners] of tableOwners) {
      const role = catalog.schemas.find((x) => x.name === schema)?.owner;
      if (role === undefined || !services.has(role)) continue;
      if ([...owners].every((o) => o === role)) {
        schemaRoles.set(schema, role);
        services.get(role)!.owns.push(schema);
      }
    }
    ownerOf = roleOf;
    schemaOwner = (schema) => schemaRoles.get(schema);
    notes.push(
      'no manifest loaded: ownership is taken from table and schema owners and no read is declared',
    );
  }

  // Tables: every table of a user schema; tables only named by contracts are added as missing.
  const tables = new Map<string, MapTable>();
  const tableId = (schema: string, name: string) => `${schema}.${name}`;
  const addTable = (schema: string, name: string, relation?: RelationInfo): MapTable => {
    const id = tableId(schema, name);
    const existing = tables.get(id);
    if (existing) return existing;
    const owner = ownerOf(schema, name);
    const table: MapTable = {
      id,
      schema,
      name,
      kind: relation?.kind ?? 'table',
      ...(owner === undefined ? {} : { ownerService: owner }),
      estimatedRows: relation?.estimatedRows ?? -1,
      missing: relation === undefined,
      columns: (relation?.columns ?? []).map((c) => emptyColumn(c.name, c.type, false)),
      findings: [],
    };
    tables.set(id, table);
    return table;
  };
  for (const r of relations) addTable(r.schema, r.name, r);
  const resolver = objectResolver(
    relations.map((r) => ({
      schema: r.schema,
      name: r.name,
      columns: r.columns.map((c) => c.name),
    })),
  );

  // Edges: declared contracts first, then observed usage on top.
  const drafts = new Map<string, EdgeDraft>();
  const draftFor = (service: string, table: string, access: 'read' | 'write'): EdgeDraft => {
    const key = `${access}:${service}\u2192${table}`;
    let draft = drafts.get(key);
    if (!draft) {
      draft = { service, table, access, observedColumns: new Set(), observed: false, calls: 0 };
      drafts.set(key, draft);
    }
    return draft;
  };
  for (const s of manifest?.services ?? []) {
    for (const contract of [...s.reads, ...s.writes]) {
      const table = addTable(contract.schema, contract.table, undefined);
      const draft = draftFor(s.name, table.id, contract.access);
      draft.declaredColumns = mergeColumns(draft.declaredColumns, contract.columns);
    }
  }

  if (usage) {
    const leftOut = new Set<string>();
    for (const roleUsage of usage.snapshot.roles) {
      const role = roleUsage.role;
      if (hiddenRoles.has(role)) continue;
      let service =
        serviceOfRole.get(role) ??
        (roleUsage.service && services.has(roleUsage.service) ? roleUsage.service : undefined);
      if (service === undefined) {
        if (superusers.has(role) || roleUsage.pgpactRole !== undefined) {
          leftOut.add(role);
          continue;
        }
        service = role;
        services.set(role, { name: role, role, owns: [], inManifest: false });
        serviceOfRole.set(role, role);
      }
      const observe = (
        access: 'read' | 'write',
        columnKeys: Record<string, { calls: number }>,
        relationKeys: Record<string, { calls: number }>,
      ) => {
        for (const [key, count] of Object.entries(columnKeys)) {
          const found = resolver.resolve(key);
          if (!found || found.column === undefined) continue;
          const table = tables.get(tableId(found.schema, found.table))!;
          if (table.ownerService === service) continue;
          const draft = draftFor(service!, table.id, access);
          draft.observed = true;
          draft.observedColumns.add(found.column);
          draft.calls = Math.max(draft.calls, count.calls);
          const column = table.columns.find((c) => c.name === found.column);
          if (column)
            addAccess(
              access === 'read' ? column.readers : column.writers,
              service!,
              'observed',
              count.calls,
            );
        }
        for (const [key, count] of Object.entries(relationKeys)) {
          const found = resolver.resolve(key);
          if (!found || found.column !== undefined) continue;
          const table = tables.get(tableId(found.schema, found.table))!;
          if (table.ownerService === service) continue;
          const draft = draftFor(service!, table.id, access);
          draft.observed = true;
          draft.calls = Math.max(draft.calls, count.calls);
        }
      };
      observe('read', roleUsage.reads, roleUsage.relationsRead);
      observe('write', roleUsage.writes, roleUsage.relationsWritten);
    }
    if (leftOut.size > 0) {
      notes.push(
        `superuser roles not in the manifest are left out: ${[...leftOut].sort().join(', ')}`,
      );
    }
  } else {
    notes.push('no observed usage yet: run `pgpact observe` (edges show declared contracts only)');
  }

  // Declared columns become readers/writers of the columns they name.
  for (const draft of drafts.values()) {
    if (draft.declaredColumns === undefined) continue;
    const table = tables.get(draft.table)!;
    const names =
      draft.declaredColumns === '*' ? table.columns.map((c) => c.name) : draft.declaredColumns;
    for (const name of names) {
      let column = table.columns.find((c) => c.name === name);
      if (!column) {
        column = emptyColumn(name, '', true);
        table.columns.push(column);
      }
      addAccess(
        draft.access === 'read' ? column.readers : column.writers,
        draft.service,
        'declared',
        0,
      );
    }
  }

  const edges = [...drafts.values()].map((d) => toEdge(d, manifest !== undefined));
  if (checkReport) markReport(checkReport, tables, edges, resolver, manifest !== undefined);

  const schemas = new Map<string, MapSchema>();
  const schemaOwnerRole = new Map(catalog.schemas.map((s) => [s.name, s.owner]));
  for (const t of tables.values()) {
    if (schemas.has(t.schema)) continue;
    const ownerService = schemaOwner(t.schema);
    schemas.set(t.schema, {
      name: t.schema,
      ...(ownerService === undefined ? {} : { ownerService }),
      ownerRole: schemaOwnerRole.get(t.schema) ?? '',
    });
  }
  for (const s of services.values()) {
    for (const schema of s.owns) {
      if (!schemas.has(schema))
        schemas.set(schema, {
          name: schema,
          ownerService: s.name,
          ownerRole: schemaOwnerRole.get(schema) ?? '',
        });
    }
  }
  for (const t of [...tables.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const owner = t.ownerService === undefined ? undefined : services.get(t.ownerService);
    if (!owner || owner.owns.includes(t.schema)) continue;
    owner.ownsTables = [...(owner.ownsTables ?? []), t.id];
  }
  for (const t of tables.values()) {
    for (const c of t.columns) {
      c.readers.sort((a, b) => a.service.localeCompare(b.service));
      c.writers.sort((a, b) => a.service.localeCompare(b.service));
    }
  }

  return {
    generatedAt: new Date().toISOString(),
    database: catalog.database,
    sources: {
      ...(manifest ? { manifest: manifest.file } : {}),
      ...(usage ? { usage: { takenAt: usage.snapshot.takenAt, origin: usage.origin } } : {}),
      ...(checkReport ? { checkReport: checkReport.source } : {}),
    },
    services: sortByName([...services.values()]),
    schemas: sortByName([...schemas.values()]),
    tables: [...tables.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: edges.sort((a, b) => a.id.localeCompare(b.id)),
    notes,
  };
}

function emptyColumn(name: string, type: string, missing: boolean): MapColumn {
  return { name, type, missing, readers: [], writers: [], findings: [] };
}

function mergeColumns(a: '*' | string[] | undefined, b: '*' | string[]): '*' | string[] {
  if (a === '*' || b === '*') return '*';
  return [...new Set([...(a ?? []), ...b])];
}

function addAccess(
  list: ColumnAccess[],
  service: string,
  source: 'declared' | 'observed',
  calls: number,
): void {
  let access = list.find((a) => a.service === service);
  if (!access) {
    access = { service, declared: false, observed: false, calls: 0, broken: false };
    list.push(access);
  }
  access[source] = true;
  access.calls = Math.max(access.calls, calls);
}

function edgeStatus(
  declared: boolean,
  observed: boolean,
  undeclaredColumns: number,
  hasManifest: boolean,
): EdgeStatus {
  if (!hasManifest) return 'observed';
  if (!declared) return 'undeclared';
  if (!observed) return 'unused';
  return undeclaredColumns > 0 ? 'beyond-contract' : 'ok';
}

function toEdge(d: EdgeDraft, hasManifest: boolean): MapEdge {
  const declared = d.declaredColumns !== undefined;
  const observedColumns = [...d.observedColumns].sort();
  const declaredColumns = d.declaredColumns ?? [];
  const undeclaredColumns =
    declared && declaredColumns !== '*'
      ? observedColumns.filter((c) => !declaredColumns.includes(c))
      : [];
  return {
    id: `${d.access}:${d.service}\u2192${d.table}`,
    service: d.service,
    table: d.table,
    access: d.access,
    declared,
    observed: d.observed,
    status: edgeStatus(declared, d.observed, undeclaredColumns.length, hasManifest),
    broken: false,
    declaredColumns,
    observedColumns,
    undeclaredColumns,
    calls: d.calls,
    findings: [],
  };
}

/** Attaches check-report findings to tables, columns and edges; breaking ones mark edges broken. */
function markReport(
  report: CheckReport,
  tables: Map<string, MapTable>,
  edges: MapEdge[],
  resolver: ReturnType<typeof objectResolver>,
  hasManifest: boolean,
): void {
  for (const finding of report.findings) {
    const found = resolver.resolve(finding.object);
    if (!found) continue;
    const table = tables.get(`${found.schema}.${found.table}`);
    if (!table) continue;
    table.findings.push(finding);
    const column =
      found.column === undefined ? undefined : table.columns.find((c) => c.name === found.column);
    column?.findings.push(finding);
    const breaking = finding.severity === 'breaking';
    for (const consumer of finding.consumers) {
      let edge = edges.find(
        (e) => e.service === consumer.service && e.table === table.id && e.access === 'read',
      );
      edge ??= edges.find((e) => e.service === consumer.service && e.table === table.id);
      if (!edge && consumer.service !== table.ownerService) {
        const declared = consumer.source === 'declared';
        edge = toEdge(
          {
            service: consumer.service,
            table: table.id,
            access: 'read',
            ...(declared
              ? { declaredColumns: found.column === undefined ? [] : [found.column] }
              : {}),
            observedColumns: new Set(!declared && found.column !== undefined ? [found.column] : []),
            observed: !declared,
            calls: 0,
          },
          hasManifest,
        );
        edges.push(edge);
      }
      if (!edge) continue;
      if (!edge.findings.includes(finding)) edge.findings.push(finding);
      if (breaking) edge.broken = true;
      if (column && breaking) {
        const access = column.readers.find((a) => a.service === consumer.service);
        if (access) access.broken = true;
        else
          column.readers.push({
            service: consumer.service,
            declared: consumer.source === 'declared',
            observed: consumer.source === 'observed',
            calls: 0,
            broken: true,
          });
      }
    }
  }
}
