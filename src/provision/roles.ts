/**
 * Login roles: one per service, least privilege, no inherited memberships.
 * The service's limits on the role are planned in limits.ts.
 */
import type { RoleInfo } from '../catalog-types.js';
import type { Finding } from '../findings.js';
import { quoteIdent } from '../postgres/quote.js';
import type { PlanContext } from './context.js';
import { deferredRevoke } from './grants.js';
import { labelGrantee } from './privileges.js';
import { type PlanStep, REDACTED_PASSWORD } from './types.js';

/** Role attributes of a least-privilege service role. */
const LEAST_PRIVILEGE = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
/** The same, leaving BYPASSRLS as it is (audit mode). */
const LEAST_PRIVILEGE_KEEPING_RLS_BYPASS =
  'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION';

function excessAttributes(role: RoleInfo): string[] {
  return [
    role.canLogin ? undefined : 'NOLOGIN',
    role.superuser ? 'SUPERUSER' : undefined,
    role.createdb ? 'CREATEDB' : undefined,
    role.createrole ? 'CREATEROLE' : undefined,
    role.replication ? 'REPLICATION' : undefined,
    role.bypassRls ? 'BYPASSRLS' : undefined,
  ].filter((a): a is string => a !== undefined);
}

/**
 * The memberships to revoke. From Postgres 16 on, a membership exists once per
 * grantor and REVOKE only removes the one granted by the named role.
 */
function membershipsToRevoke(
  role: RoleInfo,
  serverVersion: number,
): { group: string; grantor?: string }[] {
  if (serverVersion >= 160000 && role.memberships !== undefined) {
    return role.memberships.map((m) => ({ group: m.role, grantor: m.grantor }));
  }
  return role.memberOf.map((group) => ({ group }));
}

/**
 * create-role, alter-role and membership revoke steps for every service role. In audit mode
 * a role keeps its memberships and BYPASSRLS: both decide which rows and objects its
 * statements see (policies `TO authenticated` in a Supabase-style schema apply through a
 * membership), so taking them would change query results; `revoke-deferred` findings give
 * the statements enforce mode runs.
 */
export function planRoles(ctx: PlanContext): { steps: PlanStep[]; findings: Finding[] } {
  const steps: PlanStep[] = [];
  const findings: Finding[] = [];
  const defer = (object: string, what: string, sql: string) =>
    findings.push(
      deferredRevoke(object, `${what}: the rows and objects its statements see depend on it`, sql),
    );
  for (const [roleName, services] of ctx.servicesByRole) {
    const label = services.map((s) => s.name).join(', ');
    const audit = services.some((s) => s.enforcement === 'audit');
    if (roleName === ctx.currentUser) continue;
    const existing = ctx.catalog.roles.find((r) => r.name === roleName);
    const r = quoteIdent(roleName);
    if (!existing) {
      steps.push({
        kind: 'create-role',
        sql: `CREATE ROLE ${r} WITH ${LEAST_PRIVILEGE} ${REDACTED_PASSWORD}`,
        reason: `service ${label} connects with its own login role`,
        passwordFor: roleName,
      });
    } else {
      const excess = excessAttributes(existing);
      const keepBypass = audit && existing.bypassRls;
      if (keepBypass)
        defer(
          roleName,
          `role ${labelGrantee(roleName)} of service ${label} has BYPASSRLS`,
          `ALTER ROLE ${r} WITH NOBYPASSRLS`,
        );
      const taken = keepBypass ? excess.filter((a) => a !== 'BYPASSRLS') : excess;
      if (taken.length > 0) {
        steps.push({
          kind: 'alter-role',
          // NOSUPERUSER takes every access the role did not get by a grant.
          ...(existing.superuser ? { takes: { grantee: roleName } } : {}),
          sql: `ALTER ROLE ${r} WITH ${keepBypass ? LEAST_PRIVILEGE_KEEPING_RLS_BYPASS : LEAST_PRIVILEGE}`,
          reason: `role ${labelGrantee(roleName)} of service ${label} must be a least-privilege login role (it has ${taken.join(', ')})`,
        });
      }
      for (const { group, grantor } of membershipsToRevoke(existing, ctx.serverVersion)) {
        const sql = `REVOKE ${quoteIdent(group)} FROM ${r}${grantor === undefined ? '' : ` GRANTED BY ${quoteIdent(grantor)}`}`;
        const reason = `role ${labelGrantee(roleName)} of service ${label} would act with the privileges of ${labelGrantee(group)}`;
        if (audit) defer(roleName, `${reason}, and is a member of it today`, sql);
        else steps.push({ kind: 'revoke', takes: { grantee: roleName }, sql, reason });
      }
    }
  }
  return { steps, findings };
}
