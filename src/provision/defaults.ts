/**
 * Default privileges: what objects a service's role creates later get. Tables
 * stay private to the owner (audit readers excepted), routines are not
 * executable by PUBLIC, and no undeclared default survives in a managed schema.
 */
import type { Grant } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import type { DesiredAccess } from './access.js';
import type { PlanContext } from './context.js';
import { deferAuditRevokes } from './grants.js';
import {
  type AclDiff,
  DesiredAcl,
  diffAcl,
  labelGrantee,
  ownerPrivileges,
  sqlGrantee,
} from './privileges.js';
import type { PlanStep } from './types.js';

const OBJECT_WORDS: Record<string, string> = {
  r: 'TABLES',
  S: 'SEQUENCES',
  f: 'FUNCTIONS',
  T: 'TYPES',
  n: 'SCHEMAS',
  L: 'LARGE OBJECTS',
};

/** Postgres's built-in defaults when pg_default_acl has no database-wide row (acldefault()). */
function builtInDefaults(objectType: string, role: string, serverVersion: number): Grant[] {
  const own = (privileges: string[]) =>
    privileges.map((privilege) => ({ grantee: role, privilege, grantable: false }));
  switch (objectType) {
    case 'r':
      return own(ownerPrivileges('table', serverVersion));
    case 'S':
      return own(ownerPrivileges('sequence', serverVersion));
    case 'f':
      return [...own(['EXECUTE']), { grantee: 'PUBLIC', privilege: 'EXECUTE', grantable: false }];
    default:
      return [];
  }
}

interface DefaultsKey {
  role: string;
  schema?: string;
  objectType: string;
  desired: DesiredAcl;
}

function statement(key: DefaultsKey, action: string): string {
  const scope = `FOR ROLE ${quoteIdent(key.role)}${key.schema === undefined ? '' : ` IN SCHEMA ${quoteIdent(key.schema)}`}`;
  return `ALTER DEFAULT PRIVILEGES ${scope} ${action}`;
}

/** default-privileges steps for service roles (database-wide) and for every role within managed schemas. */
export function planDefaultPrivileges(ctx: PlanContext, access: DesiredAccess): PlanStep[] {
  const keys: DefaultsKey[] = [];
  for (const [role, services] of ctx.servicesByRole) {
    if (ctx.ignored(role)) continue;
    const name = services[0]!.name;
    const tables = new DesiredAcl();
    tables.add(
      role,
      ownerPrivileges('table', ctx.serverVersion),
      `${name} owns the tables it creates`,
    );
    const sequences = new DesiredAcl();
    sequences.add(
      role,
      ownerPrivileges('sequence', ctx.serverVersion),
      `${name} owns the sequences it creates`,
    );
    const routines = new DesiredAcl();
    routines.add(role, ['EXECUTE'], `routines ${name} creates later are not executable by PUBLIC`);
    keys.push(
      { role, objectType: 'r', desired: tables },
      { role, objectType: 'S', desired: sequences },
      { role, objectType: 'f', desired: routines },
    );
  }
  for (const [schema, owner] of ctx.managedSchemas) {
    const roles = new Set([
      owner.role,
      ...ctx.catalog.defaultPrivileges.filter((d) => d.schema === schema).map((d) => d.role),
    ]);
    for (const role of roles) {
      for (const objectType of ['r', 'S', 'f', 'T']) {
        const desired = new DesiredAcl();
        const readers =
          role === owner.role && objectType === 'r'
            ? (access.auditReaders.get(schema) ?? new Set())
            : [];
        for (const reader of readers) {
          desired.add(
            reader,
            ['SELECT'],
            `tables ${owner.name} creates in ${schema} later stay readable by ${reader} (audit mode)`,
          );
        }
        keys.push({ role, schema, objectType, desired });
      }
    }
  }

  const steps: PlanStep[] = [];
  for (const key of keys) {
    const row = ctx.catalog.defaultPrivileges.find(
      (d) => d.role === key.role && d.schema === key.schema && d.objectType === key.objectType,
    );
    const actual = row
      ? row.grants
      : key.schema === undefined
        ? builtInDefaults(key.objectType, key.role, ctx.serverVersion)
        : [];
    const objects = OBJECT_WORDS[key.objectType]!;
    const where = key.schema === undefined ? '' : ` in schema ${key.schema}`;
    const mode =
      (key.schema === undefined
        ? ctx.servicesByRole.get(key.role)?.[0]
        : ctx.managedSchemas.get(key.schema)
      )?.enforcement ?? 'enforce';
    const diff = deferAuditRevokes(
      ctx,
      mode,
      diffAcl(actual, key.desired, ctx.ignored, key.schema === undefined ? key.role : undefined),
      access.findings,
      key.schema ?? key.role,
      (d) => revokeSteps(key, d, objects, where),
    );
    steps.push(...revokeSteps(key, diff, objects, where));
    for (const g of diff.grant) {
      steps.push({
        kind: 'default-privileges',
        sql: statement(
          key,
          `GRANT ${g.privileges.join(', ')} ON ${objects} TO ${sqlGrantee(g.grantee)}`,
        ),
        reason: g.reasons.join('; '),
      });
    }
  }
  return steps;
}

/** The revoke steps of one default-privileges difference. */
function revokeSteps(key: DefaultsKey, diff: AclDiff, objects: string, where: string): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const r of diff.revoke) {
    steps.push({
      kind: 'default-privileges',
      sql: statement(
        key,
        `REVOKE ${r.privileges.join(', ')} ON ${objects} FROM ${sqlGrantee(r.grantee)}`,
      ),
      reason:
        r.grantee === 'PUBLIC' && key.objectType === 'f'
          ? `routines ${key.role} creates later are not executable by PUBLIC`
          : `${objects.toLowerCase()} ${key.role} creates${where} later would give ${labelGrantee(r.grantee)} ${r.privileges.join(', ')}, which the manifest does not declare`,
    });
  }
  for (const r of diff.revokeGrantOption) {
    steps.push({
      kind: 'default-privileges',
      sql: statement(
        key,
        `REVOKE GRANT OPTION FOR ${r.privileges.join(', ')} ON ${objects} FROM ${sqlGrantee(r.grantee)}`,
      ),
      reason: `${objects.toLowerCase()} ${key.role} creates${where} later would let ${labelGrantee(r.grantee)} grant on; only owners grant`,
    });
  }
  return steps;
}
