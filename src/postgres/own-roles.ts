/**
 * pgpact's own roles and the admin's: the role pgpact connects as (the --database-url role,
 * which runs migrations and backfills), the bootstrap superuser, and the dashboard's monitoring
 * role. They touch every table by design: never services, consumers or unknown roles.
 */
import type { Queryable } from './client.js';

/** The dashboard's read-only monitoring role. */
export const PGPACT_MONITOR_ROLE = 'pgpact_monitor';

/** Why a role is one of pgpact's own. */
export type OwnRoleKind = 'admin' | 'bootstrap-superuser' | 'monitor';

/** pgpact's own roles in one database, by name. */
export type OwnRoles = ReadonlyMap<string, OwnRoleKind>;

/**
 * Reads the connected (admin) role, the role that owns pgpact's bookkeeping schema (the one
 * apply and migrate ran as, when observe connects as another), the bootstrap superuser and
 * the monitoring role's name.
 */
export async function readOwnRoles(client: Queryable): Promise<OwnRoles> {
  const { rows } = await client.query<{
    current: string;
    session: string;
    bootstrap: string | null;
    bookkeeper: string | null;
  }>(
    `SELECT current_user AS current, session_user AS session,
            (SELECT rolname FROM pg_roles WHERE oid = 10) AS bootstrap,
            (SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
              WHERE n.nspname = 'pgpact') AS bookkeeper`,
  );
  const row = rows[0]!;
  const own = new Map<string, OwnRoleKind>([[PGPACT_MONITOR_ROLE, 'monitor']]);
  if (row.bootstrap !== null) own.set(row.bootstrap, 'bootstrap-superuser');
  if (row.bookkeeper !== null) own.set(row.bookkeeper, 'admin');
  own.set(row.session, 'admin');
  own.set(row.current, 'admin');
  return own;
}

/** Whether a role is pgpact's own (see readOwnRoles); without a list, only the monitoring role is known. */
export function isPgpactOwnRole(role: string, own?: OwnRoles): boolean {
  return role === PGPACT_MONITOR_ROLE || own?.has(role) === true;
}

/** How to name an own role in a note: `postgres (the admin pgpact runs as)`. */
export function describeOwnRole(role: string, kind: OwnRoleKind): string {
  const why = {
    admin: 'the admin role pgpact runs as',
    'bootstrap-superuser': 'the bootstrap superuser',
    monitor: "the dashboard's monitoring role",
  }[kind];
  return `${role} (${why})`;
}
