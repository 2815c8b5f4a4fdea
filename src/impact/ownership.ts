import type { Finding } from '../findings.js';
import { isSharedSchema, ownerOfSchema, ownershipOf } from '../manifest/ownership.js';
import type { Manifest } from '../manifest/types.js';
import type { AppliedStatement } from './apply-migration.js';
import { teamOf } from './describe-consumers.js';
import { statementLocation } from './statement-index.js';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);

function schemasOf(s: AppliedStatement): { schema: string; name?: string; object: string }[] {
  const found: { schema: string; name?: string; object: string }[] = [];
  s.facts.acts.forEach((act, i) => {
    const t = s.targets[i];
    if (t) found.push({ schema: t.schema, name: t.name, object: `${t.schema}.${t.name}` });
    else if (act.schema !== undefined) found.push({ schema: act.schema, object: act.schema });
    if ((act.verb === 'set-schema' || act.verb === 'rename-schema') && act.newName !== undefined) {
      found.push({ schema: act.newName, object: act.newName });
    }
  });
  return found;
}

/**
 * DDL on a schema (or, in a shared schema, a table) the migration's service does not own: an `ownership-violation`
 * (breaking, naming the owner), whether Postgres refused it or not; DDL in a schema
 * no service owns is a warning. Only statements of files that belong to a service count.
 */
export function assessOwnership(statements: AppliedStatement[], manifest: Manifest): Finding[] {
  const findings: Finding[] = [];
  const unowned = new Set<string>();
  for (const s of statements) {
    if (s.service === undefined || s.status === 'not-run') continue;
    const reported = new Set<string>();
    for (const { schema, name, object } of schemasOf(s)) {
      if (SYSTEM_SCHEMAS.has(schema) || reported.has(object)) continue;
      // Functions, types and other objects of a shared schema are nobody's data (what a
      // CASCADE takes from a service's table is judged by assessCascadeOwnership).
      if (name === undefined && isSharedSchema(manifest, schema)) continue;
      // In a shared schema each table has its own owner (owns: patterns).
      const found = name === undefined ? undefined : ownershipOf(manifest, schema, name);
      const owner =
        found === undefined
          ? ownerOfSchema(manifest, schema)
          : found.kind === 'schema' || found.kind === 'table'
            ? found.service
            : undefined;
      if (owner && owner.name !== s.service) {
        reported.add(object);
        const team = teamOf(manifest, owner.name);
        const refused =
          s.error && s.status === 'applied-as-admin'
            ? ` (Postgres refused it for role ${s.role}: ${s.error.message}; check ran it as the admin to see what the rest of the migration does, so the changes below include it)`
            : '';
        findings.push({
          severity: 'breaking',
          kind: 'ownership-violation',
          object,
          consumers: [{ service: owner.name, source: 'declared' }],
          location: statementLocation(s),
          message: `${s.service}'s migration changes ${object}, which belongs to ${owner.name}${team ? ` (${team})` : ''}${refused}`,
          suggestion: `ask ${owner.name} to make this change in their own migrations, or keep the object in a schema ${s.service} owns`,
        });
      } else if (found?.kind === 'unowned-table') {
        reported.add(object);
        findings.push({
          severity: 'warning',
          kind: 'unowned-table',
          object,
          consumers: [],
          location: statementLocation(s),
          message: `${s.service}'s migration changes ${object} in shared schema ${schema}, and no service's owns: matches it`,
          suggestion: `add ${object} (or a pattern matching it) to the owns: of ${s.service} if it is ${s.service}'s table`,
        });
      } else if (!owner && !unowned.has(schema)) {
        unowned.add(schema);
        reported.add(object);
        findings.push({
          severity: 'warning',
          kind: 'unowned-schema',
          object: schema,
          consumers: [],
          location: statementLocation(s),
          message: `${s.service}'s migration changes schema ${schema}, which no service owns in ${manifestName(manifest)}`,
          suggestion: `add ${schema} to the owns list of the service in charge of it, or create the object in a schema ${s.service} owns`,
        });
      }
    }
    if (s.status === 'applied-as-admin' && reported.size === 0) {
      findings.push({
        severity: 'breaking',
        kind: 'ownership-violation',
        object: schemasOf(s)[0]?.object ?? s.statement.type,
        consumers: [],
        location: statementLocation(s),
        message: `Postgres refused this statement for role ${s.role} (${s.error?.message ?? 'permission denied'}): ${s.service} does not own what it changes`,
        suggestion: 'make the change in the migrations of the service that owns the object',
      });
    }
  }
  return findings;
}

function manifestName(manifest: Manifest): string {
  return manifest.file.split(/[\\/]/).pop() ?? 'pgpact.yaml';
}
