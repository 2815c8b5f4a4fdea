/**
 * Observed usage compared with the manifest: undeclared reads and writes, contract
 * columns nobody used in the window, roles no service owns, statements not analyzed.
 */
import { type Finding, sortFindings } from '../findings.js';
import { formatTableRef } from '../manifest/table-ref.js';
import type { Contract, Manifest, Service } from '../manifest/types.js';
import { ownerOfTable } from '../manifest/ownership.js';
import { serviceOfRole } from '../manifest/types.js';
import type { AccessCount, RoleUsage, UsageSnapshot } from './types.js';

interface ColumnRef {
  relation: string;
  schema: string;
  table: string;
  column: string;
}

function relationParts(usage: UsageSnapshot, relation: string): { schema: string; table: string } {
  const known = usage.relations?.[relation];
  if (known) return known;
  const dot = relation.indexOf('.');
  return { schema: relation.slice(0, dot), table: relation.slice(dot + 1) };
}

/** Splits `schema.table.column` with the role's relation keys (names may hold dots). */
function splitColumn(usage: UsageSnapshot, role: RoleUsage, key: string): ColumnRef {
  let relation = '';
  for (const r of [...Object.keys(role.relationsRead), ...Object.keys(role.relationsWritten)]) {
    if (key.startsWith(`${r}.`) && r.length > relation.length) relation = r;
  }
  if (relation === '') relation = key.slice(0, key.lastIndexOf('.'));
  return { relation, ...relationParts(usage, relation), column: key.slice(relation.length + 1) };
}

const times = (c: AccessCount) => `${c.calls} call${c.calls === 1 ? '' : 's'}`;
const list = (items: string[], max = 4) =>
  items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;

function covers(
  contracts: readonly Contract[],
  schema: string,
  table: string,
  column?: string,
): boolean {
  return contracts.some(
    (c) =>
      c.schema === schema &&
      c.table === table &&
      (column === undefined || c.columns === '*' || c.columns.includes(column)),
  );
}

function accessFindings(
  usage: UsageSnapshot,
  manifest: Manifest,
  service: Service,
  role: RoleUsage,
): Finding[] {
  const findings: Finding[] = [];
  // Its own: tables of its schemas, and in a shared schema those its owns: patterns match.
  const ownsTable = (schema: string, table: string) =>
    ownerOfTable(manifest, schema, table)?.name === service.name;
  const consumers = [{ service: service.name, source: 'observed' as const }];
  const location = `${service.location.file}:${service.location.line}`;
  for (const [kind, access, columns, relations, contracts] of [
    ['undeclared-read', 'read', role.reads, role.relationsRead, service.reads],
    ['undeclared-write', 'write', role.writes, role.relationsWritten, service.writes],
  ] as const) {
    const key = access === 'read' ? 'reads' : 'writes';
    const withColumns = new Set<string>();
    for (const [name, count] of Object.entries(columns)) {
      const ref = splitColumn(usage, role, name);
      withColumns.add(ref.relation);
      if (ownsTable(ref.schema, ref.table) || covers(contracts, ref.schema, ref.table, ref.column))
        continue;
      const owner = ownerOfTable(manifest, ref.schema, ref.table);
      findings.push({
        severity: owner ? 'warning' : 'info',
        kind,
        object: name,
        consumers,
        location,
        message: `${service.name} ${access === 'read' ? 'reads' : 'writes'} ${name} (${times(count)}) without declaring it; ${owner ? `${formatTableRef(ref.schema, ref.table)} belongs to service ${owner.name}` : `no service owns ${formatTableRef(ref.schema, ref.table)}`}`,
        suggestion: owner
          ? `add ${ref.column} to ${key}: ${formatTableRef(ref.schema, ref.table)} of service ${service.name} (pgpact observe --suggest prints the whole list)`
          : claimFirst(ref.schema, ref.table, key, service.name),
      });
    }
    // Relations used without any column: count(*), DELETE, TRUNCATE.
    for (const [relation, count] of Object.entries(relations)) {
      if (withColumns.has(relation)) continue;
      const { schema, table } = relationParts(usage, relation);
      if (ownsTable(schema, table) || covers(contracts, schema, table)) continue;
      const owner = ownerOfTable(manifest, schema, table);
      findings.push({
        severity: owner ? 'warning' : 'info',
        kind,
        object: relation,
        consumers,
        location,
        message: `${service.name} ${access === 'read' ? 'reads' : 'writes'} ${relation} (${times(count)}, no column${access === 'write' ? ': DELETE or TRUNCATE' : ': e.g. count(*)'}) without declaring it; ${owner ? `${formatTableRef(schema, table)} belongs to service ${owner.name}` : `no service owns ${formatTableRef(schema, table)}`}`,
        suggestion: owner
          ? `declare ${key}: ${formatTableRef(schema, table)} for service ${service.name}`
          : claimFirst(schema, table, key, service.name),
      });
    }
  }
  return findings;
}

/** A contract needs an owner on the other side: a manifest declaring one on a table nobody owns is refused. */
function claimFirst(schema: string, table: string, key: string, service: string): string {
  const ref = formatTableRef(schema, table);
  return `add ${ref} (or a pattern matching it) to owns: of the service whose data it is (${service} if it is its own); then, if it is another's, declare ${key}: ${ref} for service ${service}`;
}

function unusedFindings(service: Service, role: RoleUsage): Finding[] {
  const findings: Finding[] = [];
  const consumers = [{ service: service.name, source: 'declared' as const }];
  for (const contract of [...service.reads, ...service.writes]) {
    const relation = `${contract.schema}.${contract.table}`;
    const used = contract.access === 'read' ? role.reads : role.writes;
    const usedRelations = contract.access === 'read' ? role.relationsRead : role.relationsWritten;
    const verb = contract.access === 'read' ? 'read' : 'written';
    if (contract.columns === '*') {
      if (usedRelations[relation]) continue;
      findings.push({
        severity: 'info',
        kind: 'unused-contract-column',
        object: relation,
        consumers,
        location: `${contract.location.file}:${contract.location.line}`,
        message: `${service.name} declares every column of ${relation} as ${verb}, but none was ${verb} in the observed window`,
        suggestion: 'remove the contract if it is no longer needed, or observe a longer window',
      });
      continue;
    }
    contract.columns.forEach((column, i) => {
      if (used[`${relation}.${column}`]) return;
      const at = contract.columnLocations[i] ?? contract.location;
      findings.push({
        severity: 'info',
        kind: 'unused-contract-column',
        object: `${relation}.${column}`,
        consumers,
        location: `${at.file}:${at.line}`,
        message: `${service.name} declares ${relation}.${column} as ${verb}, but it was not ${verb} in the observed window`,
        suggestion: `remove ${column} from the contract if ${service.name} no longer needs it (a narrower contract frees ${relation} to change)`,
      });
    });
  }
  return findings;
}

function unknownRole(role: RoleUsage): Finding | undefined {
  const read = Object.keys(role.relationsRead);
  const written = Object.keys(role.relationsWritten);
  if (read.length === 0 && written.length === 0) return undefined;
  const calls = role.statements.reduce((n, s) => n + s.calls, 0);
  return {
    severity: 'warning',
    kind: 'unknown-role',
    object: role.role,
    consumers: [],
    message: `role ${role.role} belongs to no service but ran ${calls} call${calls === 1 ? '' : 's'}: read ${read.length > 0 ? list(read) : 'nothing'}, wrote ${written.length > 0 ? list(written) : 'nothing'}`,
    suggestion: `add a service with role: ${role.role} to the manifest (pgpact observe --suggest prints its contracts), or revoke the role's access`,
  };
}

function unanalyzed(role: RoleUsage, service: string | undefined): Finding | undefined {
  const failed = role.statements.filter((s) => s.error !== undefined);
  if (failed.length === 0) return undefined;
  const examples = failed.slice(0, 3).map((s) => `query ${s.queryId}: ${s.error}`);
  return {
    severity: 'info',
    kind: 'unanalyzed-statement',
    object: role.role,
    consumers: service ? [{ service, source: 'observed' }] : [],
    message: `${failed.length} statement${failed.length === 1 ? '' : 's'} of role ${role.role} could not be analyzed, so what ${failed.length === 1 ? 'it reads' : 'they read'} is unknown: ${examples.join('; ')}`,
    suggestion: 'see the statements with an error in the usage snapshot',
  };
}

/** Findings from observed usage against the manifest (every role unknown without one). */
export function usageFindings(usage: UsageSnapshot, manifest: Manifest | undefined): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const role of usage.roles) {
    // pgpact's own roles and the admin's touch every table by design: never findings.
    if (role.pgpactRole !== undefined) continue;
    const service = manifest ? serviceOfRole(manifest, role.role) : undefined;
    if (service && manifest) {
      seen.add(service.name);
      findings.push(
        ...accessFindings(usage, manifest, service, role),
        ...unusedFindings(service, role),
      );
    } else {
      const f = unknownRole(role);
      if (f) findings.push(f);
    }
    const f = unanalyzed(role, service?.name);
    if (f) findings.push(f);
  }
  for (const service of manifest?.services ?? []) {
    if (seen.has(service.name) || service.reads.length + service.writes.length === 0) continue;
    findings.push({
      severity: 'info',
      kind: 'unobserved-service',
      object: service.role,
      consumers: [{ service: service.name, source: 'declared' }],
      location: `${service.location.file}:${service.location.line}`,
      message: `service ${service.name} (role ${service.role}) ran no statement in the observed window, so its contracts cannot be compared with its use`,
    });
  }
  return sortFindings(findings);
}
