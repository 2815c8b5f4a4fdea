/**
 * Access in use that a plan takes away: a view whose owner reads a column (a view checks
 * its owner's privileges, so every reader of the view loses it too), or a statement a role
 * ran (observed in .pgpact/usage.json). Each is compared before and after the plan; what is
 * lost marks the steps that take it and becomes a `revoke-in-use` finding naming the view
 * or statement and the service.
 */
import type { Finding } from '../findings.js';
import { escapeUnsafe } from '../manifest/names.js';
import { formatTableRef } from '../manifest/table-ref.js';
import type { RelationInfo } from '../catalog-types.js';
import type { UsageSnapshot } from '../usage/types.js';
import type { DesiredAccess } from './access.js';
import type { PlanContext } from './context.js';
import { keptInAudit } from './grants.js';
import type { PlanStep } from './types.js';

/** One use of a relation by a role: the columns it reads or writes ('any': the relation without a column). */
interface Use {
  role: string;
  relation: RelationInfo;
  columns: string[] | 'any';
  /** What the use needs: any one of these privileges (a write observed without its verb: INSERT or UPDATE). */
  privileges: string[];
  /** `reads` or `writes`, for messages. */
  verb: string;
  /** The view or the statement, in words. */
  by: string;
  source: 'declared' | 'observed';
}

/** Who a role is, in words: its service, or the role alone. */
function whose(ctx: PlanContext, role: string): string {
  const service = ctx.servicesByRole.get(role)?.[0];
  return service ? `service ${service.name}` : `role ${role} (no service)`;
}

function short(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

function viewUses(ctx: PlanContext): Use[] {
  const uses: Use[] = [];
  for (const view of ctx.catalog.relations) {
    if (!view.dependsOn) continue;
    const role = ctx.ownerAfter(view);
    for (const dep of view.dependsOn) {
      const relation = ctx.catalog.relations.find(
        (r) => r.schema === dep.schema && r.name === dep.name,
      );
      if (!relation || relation.oid === view.oid || !ctx.serviceOfRelation(relation)) continue;
      uses.push({
        role,
        relation,
        columns: dep.columns.length === 0 ? 'any' : dep.columns,
        privileges: ['SELECT'],
        verb: 'reads',
        by: `view ${formatTableRef(view.schema, view.name)} (owner ${role}, ${whose(ctx, role)})`,
        source: 'declared',
      });
    }
  }
  return uses;
}

function statementUses(ctx: PlanContext, usage: UsageSnapshot): Use[] {
  const relations = new Map<string, RelationInfo>();
  const columns = new Map<string, { relation: RelationInfo; column: string }>();
  for (const r of ctx.catalog.relations) {
    if (!ctx.serviceOfRelation(r)) continue;
    relations.set(`${r.schema}.${r.name}`, r);
    for (const c of r.columns)
      columns.set(`${r.schema}.${r.name}.${c.name}`, { relation: r, column: c.name });
  }
  const uses: Use[] = [];
  for (const role of usage.roles) {
    for (const statement of role.statements ?? []) {
      const read = new Map<RelationInfo, Set<string>>();
      for (const key of statement.reads ?? []) {
        const hit = columns.get(key);
        if (hit) read.set(hit.relation, (read.get(hit.relation) ?? new Set()).add(hit.column));
      }
      const by = `statement "${short(statement.query)}" (${whose(ctx, role.role)}, ${statement.calls} calls)`;
      const reads = { privileges: ['SELECT'], verb: 'reads', by, source: 'observed' as const };
      for (const [relation, cols] of read)
        uses.push({ role: role.role, relation, columns: [...cols], ...reads });
      for (const key of statement.relationsRead ?? []) {
        const relation = relations.get(key);
        if (relation && !read.has(relation))
          uses.push({ role: role.role, relation, columns: 'any', ...reads });
      }
      const verb = /^\s*(\w+)/.exec(statement.query)?.[1]?.toUpperCase();
      const written = new Map<RelationInfo, Set<string>>();
      for (const key of statement.writes ?? []) {
        const hit = columns.get(key);
        if (hit)
          written.set(hit.relation, (written.get(hit.relation) ?? new Set()).add(hit.column));
      }
      const writes = { verb: 'writes', by, source: 'observed' as const };
      for (const [relation, cols] of written) {
        const privileges = verb === 'INSERT' || verb === 'UPDATE' ? [verb] : ['INSERT', 'UPDATE'];
        uses.push({ role: role.role, relation, columns: [...cols], privileges, ...writes });
      }
      for (const key of statement.relationsWritten ?? []) {
        const relation = relations.get(key);
        if (relation && !written.has(relation) && (verb === 'DELETE' || verb === 'TRUNCATE'))
          uses.push({ role: role.role, relation, columns: 'any', privileges: [verb], ...writes });
      }
    }
  }
  return uses;
}

/**
 * Whether the role may do what the use does, before the plan (from the catalog): as owner,
 * superuser, member of pg_read_all_data / pg_write_all_data, or by a grant to it, to a
 * role it is a member of (unless `viaMemberships` is false), or (unless `viaPublic` is
 * false) to PUBLIC.
 */
function mayBefore(ctx: PlanContext, use: Use, viaPublic = true, viaMemberships = true): boolean {
  const { role, relation } = use;
  const info = ctx.catalog.roles.find((r) => r.name === role);
  if (info?.superuser || relation.owner === role) return true;
  const reading = use.privileges.includes('SELECT');
  const memberOf = viaMemberships ? (info?.memberOf ?? []) : [];
  if (memberOf.includes(reading ? 'pg_read_all_data' : 'pg_write_all_data')) return true;
  const as = new Set([role, ...memberOf, ...(viaPublic ? ['PUBLIC'] : [])]);
  const schema = ctx.catalog.schemas.find((s) => s.name === relation.schema);
  const holds = (grants: { grantee: string; privilege: string }[], privileges: string[]) =>
    grants.some((g) => as.has(g.grantee) && privileges.includes(g.privilege));
  if (schema && schema.owner !== role && !holds(schema.grants, ['USAGE'])) return false;
  if (holds(relation.grants, use.privileges)) return true;
  const columnHolds = (name: string) =>
    holds(relation.columns.find((c) => c.name === name)?.grants ?? [], use.privileges);
  return use.columns === 'any'
    ? relation.columns.some((c) => columnHolds(c.name))
    : use.columns.every(columnHolds);
}

/** Whether the role may do what the use does once the plan ran (from the desired access). */
function mayAfter(ctx: PlanContext, access: DesiredAccess, use: Use): boolean {
  const { role, relation } = use;
  const service = ctx.serviceOfRelation(relation);
  // Roles the plan leaves alone keep what they hold; so does every role but PUBLIC in audit
  // mode (service roles and outsiders alike), login roles what they had through PUBLIC too
  // (by their own grant, see deferAuditRevokes). What ownership or SUPERUSER gave still goes
  // with them: ownership changes and NOSUPERUSER run in audit mode too.
  if (ctx.ignored(role)) return mayBefore(ctx, use);
  const info = ctx.catalog.roles.find((r) => r.name === role);
  if (service?.enforcement === 'audit' && keptInAudit(role)) {
    const schemaService = ctx.managedSchemas.get(relation.schema);
    const lostOwnership =
      (relation.owner === role && ctx.ownerAfter(relation) !== role) ||
      (schemaService !== undefined &&
        schemaService.role !== role &&
        ctx.catalog.schemas.some((s) => s.name === relation.schema && s.owner === role));
    const services = ctx.servicesByRole.get(role);
    const lostSuperuser = info?.superuser === true && services !== undefined;
    // A service role keeps its memberships only when one of its services is in audit mode
    // (roles.ts); roles outside the manifest keep theirs.
    const keepsMemberships =
      services === undefined || services.some((s) => s.enforcement === 'audit');
    if (
      !lostOwnership &&
      !lostSuperuser &&
      mayBefore(ctx, use, info?.canLogin === true, keepsMemberships)
    )
      return true;
  }
  if (info?.superuser && !ctx.servicesByRole.has(role)) return true;
  if (ctx.ownerAfter(relation) === role) return true;
  const has = (
    acl: { has(grantee: string, privilege: string): boolean } | undefined,
    privileges: string[],
  ) => acl !== undefined && privileges.some((p) => acl.has(role, p) || acl.has('PUBLIC', p));
  // A shared schema's grants stay as they are: USAGE held today (or through PUBLIC) is kept.
  const keptUsage =
    ctx.sharedSchemas.has(relation.schema) &&
    ctx.catalog.schemas.some(
      (s) =>
        s.name === relation.schema &&
        (s.owner === role ||
          s.grants.some(
            (g) => (g.grantee === role || g.grantee === 'PUBLIC') && g.privilege === 'USAGE',
          )),
    );
  if (service?.role !== role && !keptUsage && !has(access.schemas.get(relation.schema), ['USAGE']))
    return false;
  const desired = access.relations.get(relation.oid);
  if (!desired) return false;
  if (has(desired.table, use.privileges)) return true;
  const columnHas = (name: string) => has(desired.columns.get(name), use.privileges);
  return use.columns === 'any'
    ? relation.columns.some((c) => columnHas(c.name))
    : use.columns.every(columnHas);
}

/** Whether a step takes something the use needs. */
function takesFrom(step: PlanStep, use: Use): boolean {
  const t = step.takes;
  if (!t || (t.grantee !== use.role && t.grantee !== 'PUBLIC')) return false;
  // A schema's USAGE serves every use; otherwise the step must take a privilege the use needs.
  const needed = t.relation === undefined && t.schema !== undefined ? ['USAGE'] : use.privileges;
  if (t.privileges !== undefined && !t.privileges.some((p) => needed.includes(p))) return false;
  if (t.schema === undefined) return true;
  if (t.schema !== use.relation.schema) return false;
  if (t.relation === undefined) return true;
  if (t.relation !== use.relation.name) return false;
  return (
    t.columns === undefined ||
    use.columns === 'any' ||
    t.columns.some((c) => use.columns.includes(c))
  );
}

/**
 * Marks the steps that take access in use (step.inUse) and returns one finding per use
 * lost. `usage` is the observed usage snapshot, when there is one (of this database).
 */
export function markAccessInUse(
  ctx: PlanContext,
  access: DesiredAccess,
  steps: PlanStep[],
  usage?: UsageSnapshot,
): Finding[] {
  // A snapshot of another database says nothing about this one's statements.
  const observed = usage !== undefined && usage.database === ctx.catalog.database;
  const uses = [...viewUses(ctx), ...(observed ? statementUses(ctx, usage) : [])];
  const findings: Finding[] = [];
  for (const use of uses) {
    if (!mayBefore(ctx, use) || mayAfter(ctx, access, use)) continue;
    const ref = formatTableRef(use.relation.schema, use.relation.name);
    const what = use.columns === 'any' ? ref : `${ref} (${use.columns.join(', ')})`;
    const note = `${use.role} ${use.verb} ${what}: ${use.by}`;
    const taking = steps.filter((s) => takesFrom(s, use));
    for (const step of taking) step.inUse = [...new Set([...(step.inUse ?? []), note])];
    const service = ctx.servicesByRole.get(use.role)?.[0]?.name ?? use.role;
    findings.push({
      severity: 'warning',
      kind: 'revoke-in-use',
      object: use.columns === 'any' || use.columns.length !== 1 ? ref : `${ref}.${use.columns[0]}`,
      consumers: [{ service, source: use.source }],
      message: escapeUnsafe(
        `the plan takes away access in use: ${note}${taking.length > 0 ? ` (step: ${taking.map((s) => s.sql).join('; ')})` : ''}`,
      ),
      suggestion: `declare what ${service} reads in its reads: (or fix a misspelt contract column), or apply with --allow-revoke if the access should go`,
    });
  }
  return findings;
}
