/**
 * Login roles: one per service, least privilege, no inherited memberships.
 * The service's limits on the role are planned in limits.ts.
 */
import type { RoleInfo } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import type { PlanContext } from './context.js';
import { labelGrantee } from './privileges.js';
import { type PlanStep, REDACTED_PASSWORD } from './types.js';

/** Role attributes of a least-privilege service role. */
const LEAST_PRIVILEGE = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';

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

/** create-role, alter-role and membership revoke steps for every service role. */
export function planRoles(ctx: PlanContext): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const [roleName, services] of ctx.servicesByRole) {
    const label = services.map((s) => s.name).join(', ');
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
      if (excess.length > 0) {
        steps.push({
          kind: 'alter-role',
          // NOSUPERUSER takes every access the role did not get by a grant.
          ...(existing.superuser ? { takes: { grantee: roleName } } : {}),
          sql: `ALTER ROLE ${r} WITH ${LEAST_PRIVILEGE}`,
          reason: `role ${labelGrantee(roleName)} of service ${label} must be a least-privilege login role (it has ${excess.join(', ')})`,
        });
      }
      for (const { group, grantor } of membershipsToRevoke(existing, ctx.serverVersion)) {
        steps.push({
          kind: 'revoke',
          takes: { grantee: roleName },
          sql: `REVOKE ${quoteIdent(group)} FROM ${r}${grantor === undefined ? '' : ` GRANTED BY ${quoteIdent(grantor)}`}`,
          reason: `role ${labelGrantee(roleName)} of service ${label} would act with the privileges of ${labelGrantee(group)}`,
        });
      }
    }
  }
  return steps;
}
