/**
 * grant and revoke steps: the desired privileges of access.ts against the
 * catalog's, as they stand once the ownership steps ran.
 */
import type { Finding } from '../findings.js';
import { formatTableRef } from '../manifest/table-ref.js';
import type { Enforcement } from '../manifest/types.js';
import type { Grant, RelationInfo } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import type { DesiredAccess } from './access.js';
import { functionSignature, type PlanContext, relationTarget } from './context.js';
import {
  type AclDiff,
  afterOwnerChange,
  DesiredAcl,
  diffAcl,
  labelGrantee,
  ownerPrivileges,
  sqlGrantee,
} from './privileges.js';
import type { PlanStep } from './types.js';

/** Login roles that may be using what PUBLIC holds today: outsiders and service roles alike. */
function loginRoles(ctx: PlanContext): string[] {
  return ctx.catalog.roles
    .filter((r) => r.canLogin && !r.name.startsWith('pg_') && !ctx.ignored(r.name))
    .map((r) => r.name);
}

/** What audit mode leaves in place (`why`), with the statement enforce mode will run. */
export function deferredRevoke(object: string, why: string, sql: string): Finding {
  return {
    severity: 'info',
    kind: 'revoke-deferred',
    object,
    consumers: [],
    message: `audit mode leaves this in place (${why}); enforce mode will revoke it`,
    suggestion: `enforce mode runs: ${sql}`,
  };
}

/**
 * In audit mode nothing that works today stops working: no role but PUBLIC loses a
 * privilege it holds. Revokes from service roles of the manifest (store's INSERT on
 * catalog's tables) and from roles outside it (a BI tool, a backup job) are not planned but
 * reported with the statement enforce mode will run; what PUBLIC loses on an existing
 * object, each login role (service role or outsider) keeps by its own grant (`held`: the
 * grants on the object now), revoked in enforce mode like the others. Grants and ownership
 * changes are untouched. Returns the diff without the deferred revokes; their statements go
 * to `findings`.
 */
export function deferAuditRevokes(
  ctx: PlanContext,
  mode: Enforcement,
  diff: AclDiff,
  findings: Finding[],
  object: string,
  statements: (deferred: AclDiff) => PlanStep[],
  held?: Grant[],
): AclDiff {
  if (mode !== 'audit') return diff;
  const kept: AclDiff['grant'] = [];
  const fromPublic = diff.revoke.find((r) => r.grantee === 'PUBLIC');
  // Only for objects that exist (`held`): default privileges concern objects not yet created.
  for (const role of fromPublic && held ? loginRoles(ctx) : []) {
    const privileges = fromPublic!.privileges.filter(
      (p) => !held!.some((g) => g.grantee === role && g.privilege === p),
    );
    if (privileges.length === 0) continue;
    const granted = diff.grant.find((g) => g.grantee === role);
    const missing = privileges.filter((p) => !granted?.privileges.includes(p));
    if (missing.length === 0) continue;
    kept.push({
      grantee: role,
      privileges: missing,
      reasons: [
        `audit mode: ${role} may ${missing.join(', ')} ${object} through PUBLIC today, and keeps it until enforce mode`,
      ],
    });
  }
  const deferred: AclDiff = {
    revoke: diff.revoke.filter((r) => keptInAudit(r.grantee)),
    revokeGrantOption: diff.revokeGrantOption.filter((r) => keptInAudit(r.grantee)),
    grant: [],
  };
  // A service set to enforce keeps it all the same: the owner's audit mode decides, and the
  // operator who asked that service to be enforced is told so rather than left to believe it.
  const enforcedService = (grantee: string) =>
    (ctx.servicesByRole.get(grantee) ?? []).find((s) => s.enforcement === 'enforce');
  const only = (keep: (grantee: string) => boolean): AclDiff => ({
    revoke: deferred.revoke.filter((r) => keep(r.grantee)),
    revokeGrantOption: deferred.revokeGrantOption.filter((r) => keep(r.grantee)),
    grant: [],
  });
  for (const step of statements(only((g) => enforcedService(g) === undefined))) {
    findings.push(deferredRevoke(object, step.reason, step.sql));
  }
  const enforcedGrantees = new Set(
    [...deferred.revoke, ...deferred.revokeGrantOption]
      .map((r) => r.grantee)
      .filter((g) => enforcedService(g) !== undefined),
  );
  for (const grantee of enforcedGrantees) {
    for (const step of statements(only((g) => g === grantee))) {
      findings.push({
        severity: 'warning',
        kind: 'revoke-deferred',
        object,
        consumers: [],
        message: `${enforcedService(grantee)!.name} is in enforce mode, but the service owning ${object} is in audit mode, which leaves this in place (${step.reason})`,
        suggestion: `set the owner of ${object} to enforcement: enforce, then apply runs: ${step.sql}`,
      });
    }
  }
  return {
    revoke: diff.revoke.filter((r) => !keptInAudit(r.grantee)),
    revokeGrantOption: diff.revokeGrantOption.filter((r) => !keptInAudit(r.grantee)),
    grant: [...diff.grant, ...kept],
  };
}

/** Whether audit mode leaves a grantee's privileges in place: every role but PUBLIC. */
export function keptInAudit(grantee: string): boolean {
  return grantee !== 'PUBLIC';
}

/** What an object's revokes take: the schema itself, or a relation (and one column of it). */
interface Taken {
  schema: string;
  relation?: string;
}

function diffSteps(
  target: string,
  label: string,
  diff: AclDiff,
  columns?: string,
  on?: Taken,
): PlanStep[] {
  const cols = columns === undefined ? '' : ` (${quoteIdent(columns)})`;
  const steps: PlanStep[] = [];
  const takes = (grantee: string, privileges: string[]): Pick<PlanStep, 'takes'> =>
    on === undefined
      ? {}
      : {
          takes: {
            grantee,
            privileges,
            schema: on.schema,
            ...(on.relation === undefined ? {} : { relation: on.relation }),
            ...(columns === undefined ? {} : { columns: [columns] }),
          },
        };
  for (const r of diff.revoke) {
    steps.push({
      ...takes(r.grantee, r.privileges),
      kind: 'revoke',
      sql: `REVOKE ${r.privileges.map((p) => p + cols).join(', ')} ON ${target} FROM ${sqlGrantee(r.grantee)}${r.cascade ? ' CASCADE' : ''}`,
      reason: `${labelGrantee(r.grantee)} holds ${r.privileges.join(', ')} on ${label}${columns === undefined ? '' : `.${columns}`}, which the manifest does not declare${r.cascade ? ` (CASCADE also drops what ${labelGrantee(r.grantee)} granted on; apply grants the declared ones again in the same transaction)` : ''}`,
    });
  }
  for (const r of diff.revokeGrantOption) {
    steps.push({
      kind: 'revoke',
      sql: `REVOKE GRANT OPTION FOR ${r.privileges.map((p) => p + cols).join(', ')} ON ${target} FROM ${sqlGrantee(r.grantee)} CASCADE`,
      reason: `${labelGrantee(r.grantee)} may pass ${r.privileges.join(', ')} on ${label} on to others; only owners grant`,
    });
  }
  return steps;
}

function grantSteps(target: string, diff: AclDiff, columns?: string[]): PlanStep[] {
  return diff.grant.map((g) => ({
    kind: 'grant' as const,
    sql: `GRANT ${g.privileges.map((p) => (columns ? `${p} (${columns.map(quoteIdent).join(', ')})` : p)).join(', ')} ON ${target} TO ${sqlGrantee(g.grantee)}`,
    reason: g.reasons.join('; '),
  }));
}

/** The grants of a relation's columns once table-level revokes ran (they take column grants with them). */
function columnGrantsAfter(
  relation: RelationInfo,
  oldOwner: string,
  newOwner: string,
  tableRevokes: AclDiff['revoke'],
): Map<string, Grant[]> {
  const gone = new Set(
    tableRevokes.flatMap((r) => r.privileges.map((p) => `${r.grantee}\u0000${p}`)),
  );
  return new Map(
    relation.columns.map((c) => [
      c.name,
      afterOwnerChange(c.grants, oldOwner, newOwner).filter(
        (g) => !gone.has(`${g.grantee}\u0000${g.privilege}`),
      ),
    ]),
  );
}

/** Column-level grant steps, one statement per grantee and privilege set (columns grouped). */
function columnSteps(
  target: string,
  label: string,
  diffs: Map<string, AclDiff>,
  on: Taken,
): PlanStep[] {
  const revokes: PlanStep[] = [];
  const grants = new Map<string, { columns: string[]; reasons: Set<string> }>();
  for (const [column, diff] of diffs) {
    revokes.push(...diffSteps(target, label, diff, column, on));
    for (const g of diff.grant) {
      const key = `${g.grantee}\u0000${g.privileges.join(',')}`;
      const entry = grants.get(key) ?? { columns: [], reasons: new Set<string>() };
      entry.columns.push(column);
      for (const r of g.reasons) entry.reasons.add(r);
      grants.set(key, entry);
    }
  }
  const grantList: PlanStep[] = [...grants].map(([key, entry]) => {
    const [grantee, privileges] = key.split('\u0000') as [string, string];
    return {
      kind: 'grant',
      sql: `GRANT ${privileges
        .split(',')
        .map((p) => `${p} (${entry.columns.map(quoteIdent).join(', ')})`)
        .join(', ')} ON ${target} TO ${sqlGrantee(grantee)}`,
      reason: [...entry.reasons].join('; '),
    };
  });
  return [...revokes, ...grantList];
}

/** revoke and grant steps for managed schemas, their relations (down to columns) and routines, and the database. */
export function planGrants(ctx: PlanContext, access: DesiredAccess): PlanStep[] {
  const { catalog } = ctx;
  const steps: PlanStep[] = [];

  for (const [schema, service] of ctx.managedSchemas) {
    const existing = catalog.schemas.find((s) => s.name === schema);
    const grants: Grant[] = existing
      ? afterOwnerChange(existing.grants, existing.owner, service.role)
      : ownerPrivileges('schema', ctx.serverVersion).map((privilege) => ({
          grantee: service.role,
          privilege,
          grantable: false,
        }));
    const schemaTarget = `SCHEMA ${quoteIdent(schema)}`;
    const diff = deferAuditRevokes(
      ctx,
      service.enforcement,
      diffAcl(grants, access.schemas.get(schema)!, ctx.ignored, service.role),
      access.findings,
      schema,
      (d) => diffSteps(schemaTarget, `schema ${schema}`, d),
      grants,
    );
    steps.push(...diffSteps(schemaTarget, `schema ${schema}`, diff, undefined, { schema }));
    steps.push(...grantSteps(`SCHEMA ${quoteIdent(schema)}`, diff));
  }

  // A shared schema keeps its owner and grants: only the USAGE a service needs is added.
  for (const schema of ctx.sharedSchemas) {
    const existing = catalog.schemas.find((s) => s.name === schema);
    if (!existing) continue;
    const held = (role: string) =>
      role === existing.owner ||
      existing.grants.some((g) => g.grantee === role && g.privilege === 'USAGE');
    const diff: AclDiff = {
      revoke: [],
      revokeGrantOption: [],
      grant: access.schemas
        .get(schema)!
        .list()
        .filter((e) => e.privilege === 'USAGE' && !held(e.grantee) && !ctx.ignored(e.grantee))
        .map((e) => ({ grantee: e.grantee, privileges: ['USAGE'], reasons: [e.reason] })),
    };
    steps.push(...grantSteps(`SCHEMA ${quoteIdent(schema)}`, diff));
  }

  for (const relation of catalog.relations) {
    const desired = access.relations.get(relation.oid);
    if (!desired) continue;
    const owner = ctx.ownerAfter(relation);
    const target = relationTarget(relation);
    const label = formatTableRef(relation.schema, relation.name);
    const mode = ctx.serviceOfRelation(relation)?.enforcement ?? 'enforce';
    const tableGrants = afterOwnerChange(relation.grants, relation.owner, owner);
    const diff = deferAuditRevokes(
      ctx,
      mode,
      diffAcl(tableGrants, desired.table, ctx.ignored, owner),
      access.findings,
      label,
      (d) => diffSteps(target, label, d),
      tableGrants,
    );
    const on = { schema: relation.schema, relation: relation.name };
    steps.push(...diffSteps(target, label, diff, undefined, on), ...grantSteps(target, diff));
    const columnGrants = columnGrantsAfter(relation, relation.owner, owner, diff.revoke);
    const columnDiffs = new Map<string, AclDiff>();
    for (const column of relation.columns) {
      const held = columnGrants.get(column.name) ?? [];
      const d = deferAuditRevokes(
        ctx,
        mode,
        diffAcl(held, desired.columns.get(column.name) ?? new DesiredAcl(), ctx.ignored),
        access.findings,
        `${label}.${column.name}`,
        (deferred) => diffSteps(target, label, deferred, column.name),
        // A table-level grant covers the column already.
        [...held, ...tableGrants.filter((g) => !diff.revoke.some((r) => r.grantee === g.grantee))],
      );
      if (d.revoke.length + d.revokeGrantOption.length + d.grant.length > 0)
        columnDiffs.set(column.name, d);
    }
    steps.push(...columnSteps(target, label, columnDiffs, on));
  }

  for (const fn of catalog.functions) {
    const service = ctx.managedSchemas.get(fn.schema);
    if (!service) continue;
    const desired = new DesiredAcl();
    desired.add(service.role, ['EXECUTE'], `service ${service.name} owns ${fn.schema}.${fn.name}`);
    const actual = fn.grants ?? [
      { grantee: fn.owner, privilege: 'EXECUTE', grantable: false },
      { grantee: 'PUBLIC', privilege: 'EXECUTE', grantable: false },
    ];
    // A function a default, generated column, view, trigger, check or policy calls runs in
    // other roles' statements: taking EXECUTE from PUBLIC would make them fail.
    if (fn.usedBy && actual.some((g) => g.grantee === 'PUBLIC' && g.privilege === 'EXECUTE')) {
      desired.add(
        'PUBLIC',
        ['EXECUTE'],
        `${fn.schema}.${fn.name} is used by ${fn.usedBy.map((u) => u.what).join(', ')}`,
      );
    }
    const target = `${fn.kind === 'p' ? 'PROCEDURE' : 'FUNCTION'} ${functionSignature(fn)}`;
    const label = `routine ${fn.schema}.${fn.name}(${fn.arguments})`;
    const fnGrants = afterOwnerChange(actual, fn.owner, service.role);
    const diff = deferAuditRevokes(
      ctx,
      service.enforcement,
      diffAcl(fnGrants, desired, ctx.ignored, service.role),
      access.findings,
      `${fn.schema}.${fn.name}`,
      (d) => diffSteps(target, label, d),
      fnGrants,
    );
    steps.push(...diffSteps(target, label, diff), ...grantSteps(target, diff));
  }

  steps.push(...planDatabaseGrants(ctx, access.findings));
  return steps;
}

/**
 * On the database itself: services may connect, and neither they nor PUBLIC may create
 * schemas. In audit mode that CREATE stays, reported (revoke-deferred): tools run by the
 * services count on it (Prisma's `CREATE SCHEMA IF NOT EXISTS` on every deploy fails without it).
 */
function planDatabaseGrants(ctx: PlanContext, findings: Finding[]): PlanStep[] {
  const { catalog } = ctx;
  const target = `DATABASE ${quoteIdent(catalog.database)}`;
  const holds = (grantee: string, privilege: string) =>
    catalog.databaseGrants.some((g) => g.grantee === grantee && g.privilege === privilege);
  // PUBLIC's is audited as the manifest is; a role's as its services are (any in audit keeps it).
  const audited = (grantee: string) =>
    grantee === 'PUBLIC'
      ? ctx.manifest.enforcement === 'audit'
      : (ctx.servicesByRole.get(grantee) ?? []).some((s) => s.enforcement === 'audit');
  const steps: PlanStep[] = [];
  for (const grantee of ['PUBLIC', ...ctx.servicesByRole.keys()]) {
    if (ctx.ignored(grantee) || !holds(grantee, 'CREATE')) continue;
    const step: PlanStep = {
      kind: 'revoke',
      sql: `REVOKE CREATE ON ${target} FROM ${sqlGrantee(grantee)}`,
      reason: `${labelGrantee(grantee)} may create schemas in database ${catalog.database}; schemas belong to services through the manifest`,
    };
    if (!audited(grantee)) {
      steps.push(step);
      continue;
    }
    findings.push(deferredRevoke(`database ${catalog.database}`, step.reason, step.sql));
  }
  if (!holds('PUBLIC', 'CONNECT')) {
    for (const [role, services] of ctx.servicesByRole) {
      if (ctx.ignored(role) || holds(role, 'CONNECT')) continue;
      steps.push({
        kind: 'grant',
        sql: `GRANT CONNECT ON ${target} TO ${quoteIdent(role)}`,
        reason: `service ${services[0]!.name} connects to database ${catalog.database} (PUBLIC may not)`,
      });
    }
  }
  return steps;
}
