/** Checks across services: each schema has one owner, each role one service, contracts point at other services' schemas. */
import { closestName } from './closest.js';
import { printable } from './names.js';
import type { ServiceDraft } from './read-service.js';
import { formatTableRef } from './table-ref.js';
import type { SourceLocation } from './types.js';
import type { ManifestSource } from './yaml-source.js';

function lineList(others: { service: string; location: SourceLocation }[]): string {
  return others.map((o) => `\`${printable(o.service)}\` (line ${o.location.line})`).join(', ');
}

/** Reports schemas owned twice (at every place), roles used twice, and contracts on unowned or own schemas. */
export function crossCheckServices(source: ManifestSource, drafts: ServiceDraft[]): void {
  const owners = new Map<string, { service: string; location: SourceLocation }[]>();
  for (const { service, ownsLocations } of drafts) {
    service.owns.forEach((schema, i) => {
      owners.set(schema, [
        ...(owners.get(schema) ?? []),
        { service: service.name, location: ownsLocations[i]! },
      ]);
    });
  }
  for (const [schema, list] of owners) {
    if (list.length < 2) continue;
    for (const here of list) {
      const others = list.filter((o) => o !== here);
      const sameService = others.every((o) => o.service === here.service);
      source.report(
        'MANIFEST_SCHEMA_OWNED_TWICE',
        sameService
          ? `schema \`${printable(schema)}\` is listed more than once in \`owns\` of service \`${printable(here.service)}\``
          : `schema \`${printable(schema)}\` is owned by \`${printable(here.service)}\` and also by ${lineList(others.filter((o) => o.service !== here.service))}`,
        here.location,
        sameService
          ? 'list each schema once'
          : 'a schema has exactly one owner: keep it in one service and let the others declare `reads:` contracts',
      );
    }
  }

  const roles = new Map<string, { service: string; location: SourceLocation }[]>();
  for (const { service, roleLocation } of drafts) {
    roles.set(service.role, [
      ...(roles.get(service.role) ?? []),
      { service: service.name, location: roleLocation },
    ]);
  }
  for (const [role, list] of roles) {
    if (list.length < 2) continue;
    for (const here of list) {
      source.report(
        'MANIFEST_DUPLICATE_ROLE',
        `role \`${printable(role)}\` of service \`${printable(here.service)}\` is also the role of ${lineList(list.filter((o) => o !== here))}`,
        here.location,
        "each service needs its own login role (a service's role defaults to its name): set a distinct `role:`",
      );
    }
  }

  const ownedSchemas = [...owners.keys()];
  for (const { service } of drafts) {
    for (const contract of [...service.reads, ...service.writes]) {
      const ref = printable(formatTableRef(contract.schema, contract.table));
      const key = contract.access === 'read' ? 'reads' : 'writes';
      const owner = owners.get(contract.schema)?.[0]?.service;
      if (owner === undefined) {
        const suggestion = closestName(contract.schema, ownedSchemas);
        source.report(
          'MANIFEST_CONTRACT_UNOWNED_SCHEMA',
          `service \`${printable(service.name)}\` ${key} \`${ref}\`, but no service owns schema \`${printable(contract.schema)}\``,
          contract.location,
          suggestion
            ? `did you mean schema \`${printable(suggestion)}\`?`
            : `add \`${printable(contract.schema)}\` to \`owns\` of the service that owns it; contracts are between services`,
        );
      } else if (owner === service.name) {
        source.report(
          contract.access === 'read' ? 'MANIFEST_READS_OWN_SCHEMA' : 'MANIFEST_WRITES_OWN_SCHEMA',
          `service \`${printable(service.name)}\` ${key} \`${ref}\` in its own schema \`${printable(contract.schema)}\``,
          contract.location,
          'a service reads and writes its own schemas without a contract: remove this entry',
        );
      }
    }
  }
}
