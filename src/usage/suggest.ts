/**
 * The contract YAML that would declare what each role really used: how a brownfield
 * team adopts pgpact (observe in audit mode, paste the suggestion, narrow it later).
 */
import { Document, isSeq, visit } from 'yaml';
import { formatTableRef } from '../manifest/table-ref.js';
import type { Manifest } from '../manifest/types.js';
import { ownerOfTable, ownerRoleFromCatalog } from '../manifest/ownership.js';
import { serviceOfRole } from '../manifest/types.js';
import { describeOwnRole } from '../postgres/own-roles.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { RoleUsage, UsageSnapshot } from './types.js';

interface Access {
  /** relation → columns used (empty: the relation without a column). */
  reads: Map<string, Set<string>>;
  writes: Map<string, Set<string>>;
}

function relationParts(usage: UsageSnapshot, relation: string): { schema: string; table: string } {
  const known = usage.relations?.[relation];
  if (known) return known;
  const dot = relation.indexOf('.');
  return { schema: relation.slice(0, dot), table: relation.slice(dot + 1) };
}

function collect(
  usage: UsageSnapshot,
  role: RoleUsage,
  owns: (schema: string, table: string) => boolean,
): Access {
  const access: Access = { reads: new Map(), writes: new Map() };
  for (const [kind, columns, relations] of [
    ['reads', role.reads, role.relationsRead],
    ['writes', role.writes, role.relationsWritten],
  ] as const) {
    const target = access[kind];
    const keys = Object.keys(relations).sort((a, b) => b.length - a.length);
    for (const relation of Object.keys(relations)) {
      const { schema, table } = relationParts(usage, relation);
      if (!owns(schema, table)) target.set(relation, new Set());
    }
    for (const column of Object.keys(columns)) {
      const relation = keys.find((r) => column.startsWith(`${r}.`));
      if (relation && target.has(relation))
        target.get(relation)!.add(column.slice(relation.length + 1));
    }
  }
  return access;
}

/**
 * Renders `services:` with the `reads:` / `writes:` each role's observed use needs,
 * outside the schemas it owns (from the manifest, else from the catalog's owners).
 * Roles of no service become new services named after the role.
 */
export function suggestContracts(
  usage: UsageSnapshot,
  manifest: Manifest | undefined,
  catalog?: CatalogSnapshot,
): string {
  const services: Record<string, unknown> = {};
  const firstColumn = (relation: string) => {
    const { schema, table } = relationParts(usage, relation);
    return catalog?.relations.find((r) => r.schema === schema && r.name === table)?.columns[0]
      ?.name;
  };
  const notes: string[] = [];
  const own: string[] = [];
  const unowned = new Set<string>();
  const catalogOwnerRole = catalog ? ownerRoleFromCatalog(catalog, () => false) : undefined;
  for (const role of usage.roles) {
    if (role.pgpactRole !== undefined) {
      own.push(describeOwnRole(role.role, role.pgpactRole));
      continue;
    }
    const service = manifest ? serviceOfRole(manifest, role.role) : undefined;
    const catalogOwned = (catalog?.schemas ?? [])
      .filter((s) => s.owner === role.role)
      .map((s) => s.name);
    // Its tables in schemas it does not own (a shared `public`), as exact owns: entries.
    const catalogOwnedTables = (catalog?.relations ?? [])
      .filter(
        (r) => r.owner === role.role && r.kind !== 'sequence' && !catalogOwned.includes(r.schema),
      )
      .map((r) => formatTableRef(r.schema, r.name));
    // Its own tables need no contract: its schemas, and in a shared schema its owns: patterns
    // (without a manifest, the tables its role owns).
    const access = collect(usage, role, (schema, table) =>
      service && manifest
        ? ownerOfTable(manifest, schema, table)?.name === service.name
        : catalogOwnerRole?.(schema, table) === role.role,
    );
    if (access.reads.size === 0 && access.writes.size === 0) continue;
    const entry: Record<string, unknown> = {};
    if (!service && catalogOwned.length + catalogOwnedTables.length > 0)
      entry.owns = [...catalogOwned, ...catalogOwnedTables];
    for (const kind of ['reads', 'writes'] as const) {
      if (access[kind].size === 0) continue;
      const contracts: Record<string, string[]> = {};
      for (const [relation, columns] of [...access[kind]].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const { schema, table } = relationParts(usage, relation);
        // A contract on a table no service owns is refused by the manifest: claim it first.
        if (manifest && !ownerOfTable(manifest, schema, table)) {
          unowned.add(formatTableRef(schema, table));
          continue;
        }
        let names = [...columns].sort();
        if (names.length === 0) {
          const any = firstColumn(relation);
          if (!any) continue;
          names = [any];
          notes.push(
            `${service?.name ?? role.role}: ${relation} is used without a column (count(*), DELETE, TRUNCATE); one column declares the table`,
          );
        }
        contracts[formatTableRef(schema, table)] = names;
      }
      if (Object.keys(contracts).length > 0) entry[kind] = contracts;
    }
    if (service && Object.keys(entry).length === 0) continue;
    services[service?.name ?? role.role] = entry;
    if (!service)
      notes.push(
        `${role.role}: in no service of the manifest; suggested as a new service named after its role`,
      );
  }
  const doc = new Document({ services });
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node)) node.flow = true;
    },
  });
  const window = usage.windowStart
    ? `${usage.windowStart} to ${usage.takenAt}`
    : `until ${usage.takenAt}`;
  const header = [
    `# Contracts declaring what each role used in database ${usage.database} (${window}).`,
    '# Merge into pgpact.yaml under services:; own schemas and tables are left out.',
    ...notes.map((n) => `# - ${n}`),
    ...(unowned.size > 0
      ? [
          `# Left out, used but owned by no service of the manifest (a contract needs an owner: add each to the owns: of the service whose data it is, then run this again): ${[...unowned].sort().join(', ')}`,
        ]
      : []),
    ...(own.length > 0 ? [`# Left out, pgpact's own roles (not services): ${own.join(', ')}`] : []),
  ];
  return `${header.join('\n')}\n${Object.keys(services).length === 0 ? 'services: {}\n' : doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}
