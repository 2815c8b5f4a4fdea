/**
 * Privileges as sets: what an owner holds by default, what the manifest wants
 * each grantee to hold, and the difference to the catalog as grant/revoke lists.
 */
import type { Grant } from '../catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';

/** The kinds of objects whose privileges provisioning manages. */
export type AclObjectKind = 'table' | 'sequence' | 'schema' | 'function' | 'database';

/** Everything an owner holds on an object of a kind (what acldefault() gives the owner). */
export function ownerPrivileges(kind: AclObjectKind, serverVersion: number): string[] {
  switch (kind) {
    case 'table':
      return [
        'SELECT',
        'INSERT',
        'UPDATE',
        'DELETE',
        'TRUNCATE',
        'REFERENCES',
        'TRIGGER',
        // MAINTAIN exists from Postgres 17 on.
        ...(serverVersion >= 170000 ? ['MAINTAIN'] : []),
      ];
    case 'sequence':
      return ['SELECT', 'UPDATE', 'USAGE'];
    case 'schema':
      return ['CREATE', 'USAGE'];
    case 'function':
      return ['EXECUTE'];
    case 'database':
      return ['CONNECT', 'CREATE', 'TEMPORARY'];
  }
}

/** A grantee as SQL: the PUBLIC keyword, or a quoted role name. */
export function sqlGrantee(grantee: string): string {
  return grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdent(grantee);
}

/** A grantee for messages: PUBLIC as is, a role quoted only when it needs to be. */
export function labelGrantee(grantee: string): string {
  return grantee === 'PUBLIC'
    ? 'PUBLIC'
    : /^[a-z_][a-z0-9_]*$/.test(grantee)
      ? grantee
      : quoteIdent(grantee);
}

/** The grants as they stand after `ALTER ... OWNER`: Postgres hands the old owner's entries to the new owner. */
export function afterOwnerChange(grants: Grant[], oldOwner: string, newOwner: string): Grant[] {
  if (oldOwner === newOwner) return grants;
  const seen = new Set<string>();
  const result: Grant[] = [];
  for (const g of grants) {
    const grantee = g.grantee === oldOwner ? newOwner : g.grantee;
    const key = `${grantee}\u0000${g.privilege}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ ...g, grantee });
  }
  return result;
}

/** What the manifest wants: grantee → privilege → why. */
export class DesiredAcl {
  private readonly entries = new Map<string, Map<string, string>>();

  /** Wants grantee to hold the privileges, for the given reason (the first reason given is kept). */
  add(grantee: string, privileges: string[], reason: string): void {
    const privs = this.entries.get(grantee) ?? new Map<string, string>();
    for (const p of privileges) if (!privs.has(p)) privs.set(p, reason);
    this.entries.set(grantee, privs);
  }

  has(grantee: string, privilege: string): boolean {
    return this.entries.get(grantee)?.has(privilege) === true;
  }

  /** Every wanted (grantee, privilege, reason). */
  list(): { grantee: string; privilege: string; reason: string }[] {
    return [...this.entries].flatMap(([grantee, privs]) =>
      [...privs].map(([privilege, reason]) => ({ grantee, privilege, reason })),
    );
  }
}

/** Differences between actual grants and desired ones on one object (or one column). */
export interface AclDiff {
  /** grantee → privileges to revoke; `cascade` when a grant option was held (dependent grants go too). */
  revoke: { grantee: string; privileges: string[]; cascade: boolean }[];
  /** grantee → privileges held WITH GRANT OPTION that should be held without it. */
  revokeGrantOption: { grantee: string; privileges: string[] }[];
  /** grantee → privileges to grant, with the reasons. */
  grant: { grantee: string; privileges: string[]; reasons: string[] }[];
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}

/**
 * Compares actual grants with desired ones. Grantees for which `ignored` is true
 * (the role running apply, superusers the manifest does not name) are left alone.
 */
export function diffAcl(
  actual: Grant[],
  desired: DesiredAcl,
  ignored: (grantee: string) => boolean,
  owner?: string,
): AclDiff {
  const held = new Set(actual.map((g) => `${g.grantee}\u0000${g.privilege}`));
  const toRevoke = actual.filter(
    (g) => !ignored(g.grantee) && !desired.has(g.grantee, g.privilege),
  );
  const toDropOption = actual.filter(
    (g) =>
      !ignored(g.grantee) &&
      g.grantable &&
      g.grantee !== owner &&
      desired.has(g.grantee, g.privilege),
  );
  const toGrant = desired
    .list()
    .filter((d) => !ignored(d.grantee) && !held.has(`${d.grantee}\u0000${d.privilege}`));
  return {
    revoke: [...groupBy(toRevoke, (g) => g.grantee)].map(([grantee, gs]) => ({
      grantee,
      privileges: gs.map((g) => g.privilege),
      cascade: gs.some((g) => g.grantable),
    })),
    revokeGrantOption: [...groupBy(toDropOption, (g) => g.grantee)].map(([grantee, gs]) => ({
      grantee,
      privileges: gs.map((g) => g.privilege),
    })),
    grant: [...groupBy(toGrant, (d) => d.grantee)].map(([grantee, ds]) => ({
      grantee,
      privileges: ds.map((d) => d.privilege),
      reasons: [...new Set(ds.map((d) => d.reason))],
    })),
  };
}

/** Whether a diff has nothing to do. */
export function emptyDiff(diff: AclDiff): boolean {
  return diff.revoke.length === 0 && diff.revokeGrantOption.length === 0 && diff.grant.length === 0;
}
