/**
 * Login roles: one per service, least privilege, no inherited memberships,
 * and the service's limits set on the role so they hold at login.
 */
import { parseDuration, parseWorkMem } from '../manifest/units.js';
import type { Limits } from '../manifest/types.js';
import type { RoleInfo } from '../postgres/catalog-types.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import type { PlanContext } from './context.js';
import { labelGrantee } from './privileges.js';
import { type PlanStep, REDACTED_PASSWORD } from './types.js';

/** Role attributes of a least-privilege service role. */
const LEAST_PRIVILEGE = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';

/** The role settings pgpact manages, with how to render and read them. */
const SETTINGS: {
  name: string;
  key: keyof Limits;
  /** The key in `limits:` when it differs from the setting's name. */
  manifestKey?: string;
  render(v: number): string;
  read(text: string): number | undefined;
}[] = [
  { name: 'statement_timeout', key: 'statementTimeoutMs', render: (v) => `${v}ms`, read: readMs },
  { name: 'lock_timeout', key: 'lockTimeoutMs', render: (v) => `${v}ms`, read: readMs },
  {
    name: 'idle_in_transaction_session_timeout',
    key: 'idleInTransactionSessionTimeoutMs',
    render: (v) => `${v}ms`,
    read: readMs,
  },
  { name: 'work_mem', key: 'workMemKb', render: (v) => `${v}kB`, read: readKb },
  {
    name: 'max_parallel_workers_per_gather',
    key: 'parallelWorkers',
    manifestKey: 'parallel_workers',
    render: (v) => String(v),
    read: (text) => (/^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : undefined),
  },
];

function readMs(text: string): number | undefined {
  const r = parseDuration(text);
  return r.ok ? r.value : undefined;
}

function readKb(text: string): number | undefined {
  const r = parseWorkMem(text);
  return r.ok ? r.value : undefined;
}

/** The names of the role settings provisioning manages (others are left alone). */
export const MANAGED_SETTINGS = SETTINGS.map((s) => s.name);

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

/** create-role, alter-role, membership revoke and limit steps for every service role. */
export function planRoles(ctx: PlanContext): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const [roleName, services] of ctx.servicesByRole) {
    const service = services[0]!;
    const label = services.map((s) => s.name).join(', ');
    if (roleName === ctx.currentUser) continue;
    const existing = ctx.catalog.roles.find((r) => r.name === roleName);
    const role = {
      connectionLimit: existing?.connectionLimit ?? -1,
      settings: existing?.settings ?? {},
    };
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
          sql: `ALTER ROLE ${r} WITH ${LEAST_PRIVILEGE}`,
          reason: `role ${labelGrantee(roleName)} of service ${label} must be a least-privilege login role (it has ${excess.join(', ')})`,
        });
      }
      for (const { group, grantor } of membershipsToRevoke(existing, ctx.serverVersion)) {
        steps.push({
          kind: 'revoke',
          sql: `REVOKE ${quoteIdent(group)} FROM ${r}${grantor === undefined ? '' : ` GRANTED BY ${quoteIdent(grantor)}`}`,
          reason: `role ${labelGrantee(roleName)} of service ${label} would act with the privileges of ${labelGrantee(group)}`,
        });
      }
    }

    const connections = service.limits.connections ?? -1;
    if (role.connectionLimit !== connections) {
      steps.push({
        kind: 'limit',
        sql: `ALTER ROLE ${r} CONNECTION LIMIT ${connections}`,
        reason:
          connections === -1
            ? `service ${label} declares no connection limit (was ${role.connectionLimit})`
            : `limits.connections of service ${label}`,
      });
    }
    for (const setting of SETTINGS) {
      const want = service.limits[setting.key];
      const have = role.settings[setting.name];
      if (want === undefined) {
        if (have === undefined) continue;
        steps.push({
          kind: 'limit',
          sql: `ALTER ROLE ${r} RESET ${setting.name}`,
          reason: `service ${label} no longer declares ${setting.manifestKey ?? setting.name} (was ${have})`,
        });
      } else if (have === undefined || setting.read(have) !== want) {
        steps.push({
          kind: 'limit',
          sql: `ALTER ROLE ${r} SET ${setting.name} = ${quoteLiteral(setting.render(want))}`,
          reason: `limits.${setting.manifestKey ?? setting.name} of service ${label}${have === undefined ? '' : ` (was ${have})`}`,
        });
      }
    }
  }
  return steps;
}
