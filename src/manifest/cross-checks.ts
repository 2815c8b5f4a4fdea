/** Checks across services: each schema has one owner, each role one service, contracts point at other services' schemas. */
import { closestName } from './closest.js';
import { printable } from './names.js';
import type { ServiceDraft } from './read-service.js';
import { ownershipOf } from './ownership.js';
import { commonTableName, type TablePattern } from './table-pattern.js';
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

  crossCheckTablePatterns(source, drafts);

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
      const found = ownershipOf(
        { services: drafts.map((d) => d.service) },
        contract.schema,
        contract.table,
      );
      const owner =
        found.kind === 'schema' || found.kind === 'table' ? found.service.name : undefined;
      if (found.kind === 'unowned-table') {
        source.report(
          'MANIFEST_CONTRACT_UNOWNED_TABLE',
          `service \`${printable(service.name)}\` ${key} \`${ref}\`, but no service owns table \`${ref}\` in shared schema \`${printable(contract.schema)}\``,
          contract.location,
          `add \`${ref}\` (or a pattern matching it) to \`owns\` of the service whose data it is`,
        );
      } else if (owner === undefined) {
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
          `service \`${printable(service.name)}\` ${key} \`${ref}\`, which it owns (schema \`${printable(contract.schema)}\`)`,
          contract.location,
          'a service reads and writes its own schemas without a contract: remove this entry',
        );
      }
    }
  }
}

/** `file:line:col` of a location. */
function at(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/**
 * Every table has at most one owner: two services' patterns that can match the same
 * table name, or a pattern in a schema another service owns whole, are reported at both places.
 */
function crossCheckTablePatterns(source: ManifestSource, drafts: ServiceDraft[]): void {
  const patterns: { service: string; pattern: TablePattern }[] = drafts.flatMap((d) =>
    d.service.ownsTables.map((pattern) => ({ service: d.service.name, pattern })),
  );
  for (const [i, a] of patterns.entries()) {
    for (const b of patterns.slice(i + 1)) {
      if (a.service === b.service || a.pattern.schema !== b.pattern.schema) continue;
      const name = commonTableName(a.pattern, b.pattern);
      if (name === undefined) continue;
      const ref = printable(formatTableRef(a.pattern.schema, name));
      for (const [here, other] of [
        [a, b],
        [b, a],
      ] as const) {
        source.report(
          'MANIFEST_TABLE_OWNED_TWICE',
          `\`${printable(here.pattern.text)}\` of service \`${printable(here.service)}\` and \`${printable(other.pattern.text)}\` of service \`${printable(other.service)}\` (${at(other.pattern.location)}) both match table \`${ref}\``,
          here.pattern.location,
          'a table has one owner: narrow one of the patterns (or list the tables by name) so that no table matches both',
        );
      }
    }
  }
  for (const { service, ownsLocations } of drafts) {
    service.owns.forEach((schema, i) => {
      for (const p of patterns) {
        if (p.pattern.schema !== schema || p.service === service.name) continue;
        const whole = ownsLocations[i]!;
        source.report(
          'MANIFEST_TABLE_OWNED_TWICE',
          `\`${printable(p.pattern.text)}\` of service \`${printable(p.service)}\` is in schema \`${printable(schema)}\`, which service \`${printable(service.name)}\` owns whole (${at(whole)})`,
          p.pattern.location,
          `a table has one owner: remove the pattern, or let \`${printable(service.name)}\` list its tables in \`${printable(schema)}\` as patterns instead of the whole schema`,
        );
        source.report(
          'MANIFEST_TABLE_OWNED_TWICE',
          `schema \`${printable(schema)}\` of service \`${printable(service.name)}\` holds tables \`${printable(p.pattern.text)}\` claims for service \`${printable(p.service)}\` (${at(p.pattern.location)})`,
          whole,
          `a table has one owner: list \`${printable(service.name)}\`'s tables in \`${printable(schema)}\` as patterns instead of the whole schema`,
        );
      }
    });
  }
}
