/**
 * Steps that give every managed schema, and every object in it, to its service's role; and
 * in a shared schema each table a pattern matches (its schema, routines and types stay).
 */
import { formatTableRef } from '../manifest/table-ref.js';
import { quoteIdent, quoteQualified } from '../postgres/quote.js';
import { functionSignature, type PlanContext, relationKeyword } from './context.js';
import type { PlanStep } from './types.js';

const FUNCTION_KEYWORD: Record<string, string> = { p: 'PROCEDURE', a: 'AGGREGATE' };

/** create-schema and alter-owner steps: schemas first, then relations, routines and types inside them. */
export function planOwnership(ctx: PlanContext): PlanStep[] {
  const steps: PlanStep[] = [];
  const { catalog } = ctx;
  for (const [schema, service] of ctx.managedSchemas) {
    const existing = catalog.schemas.find((s) => s.name === schema);
    if (!existing) {
      steps.push({
        kind: 'create-schema',
        sql: `CREATE SCHEMA ${quoteIdent(schema)} AUTHORIZATION ${quoteIdent(service.role)}`,
        reason: `service ${service.name} owns schema ${schema}`,
      });
    } else if (existing.owner !== service.role) {
      steps.push({
        kind: 'alter-owner',
        sql: `ALTER SCHEMA ${quoteIdent(schema)} OWNER TO ${quoteIdent(service.role)}`,
        reason: `service ${service.name} owns schema ${schema} (owned by ${existing.owner})`,
      });
    }
  }
  for (const relation of catalog.relations) {
    const service = ctx.serviceOfRelation(relation);
    if (!service) continue;
    const owner = ctx.ownerAfter(relation);
    // A sequence linked to a column follows its table: ALTER TABLE ... OWNER moves it too.
    if (relation.owner === owner || (relation.kind === 'sequence' && relation.ownedBy)) continue;
    const where = ctx.managedSchemas.has(relation.schema)
      ? `is in schema ${relation.schema} of service ${service.name}`
      : `is ${service.name}'s table in shared schema ${relation.schema}`;
    // An owner bypasses row-level security unless it is forced: force it first, so that
    // the policies keep applying to the role that becomes the owner.
    if (relation.rowSecurity && !relation.rowSecurity.forced) {
      steps.push({
        kind: 'alter-owner',
        sql: `ALTER TABLE ${quoteQualified(relation.schema, relation.name)} FORCE ROW LEVEL SECURITY`,
        reason: `${formatTableRef(relation.schema, relation.name)} has row-level security and its owner becomes ${owner}: forced, so its policies keep applying to ${owner} (an owner bypasses them otherwise)`,
      });
    }
    steps.push({
      kind: 'alter-owner',
      // The old owner's privileges go to the new owner: the old owner loses its access.
      takes: { grantee: relation.owner, schema: relation.schema, relation: relation.name },
      sql: `ALTER ${relationKeyword(relation)} ${quoteQualified(relation.schema, relation.name)} OWNER TO ${quoteIdent(owner)}`,
      reason: `${formatTableRef(relation.schema, relation.name)} ${where} (owned by ${relation.owner})`,
    });
  }
  for (const fn of catalog.functions) {
    const service = ctx.managedSchemas.get(fn.schema);
    if (!service || fn.owner === service.role) continue;
    steps.push({
      kind: 'alter-owner',
      sql: `ALTER ${FUNCTION_KEYWORD[fn.kind ?? 'f'] ?? 'FUNCTION'} ${functionSignature(fn)} OWNER TO ${quoteIdent(service.role)}`,
      reason: `routine ${fn.schema}.${fn.name}(${fn.arguments}) is in schema ${fn.schema} of service ${service.name} (owned by ${fn.owner})`,
    });
  }
  for (const type of catalog.types ?? []) {
    const service = ctx.managedSchemas.get(type.schema);
    if (!service || type.owner === service.role) continue;
    steps.push({
      kind: 'alter-owner',
      sql: `ALTER ${type.kind === 'd' ? 'DOMAIN' : 'TYPE'} ${quoteQualified(type.schema, type.name)} OWNER TO ${quoteIdent(service.role)}`,
      reason: `type ${formatTableRef(type.schema, type.name)} is in schema ${type.schema} of service ${service.name} (owned by ${type.owner})`,
    });
  }
  return steps;
}
