import { PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';

/** One line of PgBouncer's auth_file: a user and its SCRAM verifier (never a password). */
export interface PoolAuthEntry {
  user: string;
  verifier: string;
}

const SCRAM = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/;

/** The auth_file text: `"user" "SCRAM-SHA-256$..."` per line, double quotes doubled. */
export function formatAuthFile(entries: PoolAuthEntry[]): string {
  return entries
    .map((e) => {
      if (!SCRAM.test(e.verifier)) throw new Error(`not a SCRAM verifier for ${e.user}`);
      if (/[\n\r]/.test(e.user)) throw new Error('user name contains a line break');
      return `"${e.user.replaceAll('"', '""')}" "${e.verifier}"\n`;
    })
    .join('');
}

/**
 * The SCRAM verifiers Postgres stores for the service roles (pg_authid: superuser only).
 * PgBouncer needs the very same verifier to log in to Postgres with a client's SCRAM proof,
 * so no password has to be written anywhere.
 */
export async function readRoleVerifiers(
  client: Queryable,
  roles: string[],
): Promise<PoolAuthEntry[]> {
  let rows: { role: string; verifier: string | null; can_login: boolean }[];
  try {
    ({ rows } = await client.query<{ role: string; verifier: string | null; can_login: boolean }>(
      `SELECT rolname AS role, rolpassword AS verifier, rolcanlogin AS can_login
       FROM pg_catalog.pg_authid WHERE rolname = ANY($1::text[])`,
      [roles],
    ));
  } catch (error) {
    throw new PgpactError(
      'INSUFFICIENT_PRIVILEGE',
      `cannot read the service roles' SCRAM verifiers: ${(error as Error).message}`,
      {
        hint: 'run pgpact pool with a superuser --database-url (the one pgpact apply uses)',
        cause: error,
      },
    );
  }
  const found = new Map(rows.map((r) => [r.role, r]));
  const problems: string[] = [];
  for (const role of roles) {
    const row = found.get(role);
    if (!row) problems.push(`role ${role} does not exist (run pgpact apply)`);
    else if (!row.can_login) problems.push(`role ${role} cannot log in`);
    else if (row.verifier === null || !SCRAM.test(row.verifier))
      problems.push(`role ${role} has no SCRAM-SHA-256 password`);
  }
  if (problems.length > 0) {
    throw new PgpactError(
      'POOL_FAILED',
      `cannot write the PgBouncer auth file: ${problems.join('; ')}`,
      {
        hint: 'pgpact apply creates each service role with a SCRAM password; run it first',
      },
    );
  }
  return roles.map((role) => ({ user: role, verifier: found.get(role)!.verifier! }));
}
