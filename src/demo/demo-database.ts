import { PgpactError } from '../errors.js';
import { urlWith, withClient } from '../postgres/client.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';

/** The database the demo creates on its server, and the mark that says the demo made it. */
export const DEMO_DATABASE = 'pgpact_demo';
const MARKER = 'created by pgpact demo';
/** SQL: the role's comment has the marker as one of its lines (provisioning adds lines of its own); $2 is MARKER. */
const MARKED = `$2 = ANY(string_to_array(coalesce(shobj_description(oid, 'pg_authid'), ''), E'\\n'))`;

/**
 * Creates the demo database afresh on a server and returns its superuser URL. On a
 * server the user gave (--database-url), it refuses to touch a database or role of
 * the same name that the demo did not create.
 */
export async function createDemoDatabase(
  serverUrl: string,
  roles: string[],
  external: boolean,
): Promise<string> {
  await withClient(serverUrl, async (c) => {
    const existing = await c.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [DEMO_DATABASE],
    );
    if (external && existing.rows.length > 0 && existing.rows[0]!.comment !== MARKER) {
      throw new PgpactError(
        'DEMO_FAILED',
        `the server already has a database ${DEMO_DATABASE} the demo did not create`,
        {
          hint: 'point --database-url at a scratch server, or omit it to use a throwaway embedded Postgres',
        },
      );
    }
    if (external) {
      const clashes = await c.query<{ name: string }>(
        `SELECT rolname AS name FROM pg_roles
         WHERE rolname = ANY($1) AND NOT ${MARKED}`,
        [roles, MARKER],
      );
      if (clashes.rows.length > 0) {
        throw new PgpactError(
          'DEMO_FAILED',
          `the server already has role(s) ${clashes.rows.map((r) => r.name).join(', ')} the demo did not create`,
          {
            hint: 'roles are server-wide: use a scratch server, or omit --database-url to use a throwaway embedded Postgres',
          },
        );
      }
    }
    if (existing.rows.length > 0)
      await c.query(`DROP DATABASE ${quoteIdent(DEMO_DATABASE)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quoteIdent(DEMO_DATABASE)}`);
    await c.query(`COMMENT ON DATABASE ${quoteIdent(DEMO_DATABASE)} IS ${quoteLiteral(MARKER)}`);
  });
  const url = urlWith(serverUrl, { database: DEMO_DATABASE });
  // Later chapters (observe, top) read pg_stat_statements; a server without it still runs the demo.
  await withClient(url, (c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')).catch(
    () => undefined,
  );
  return url;
}

/** Marks the roles provisioning created, so a later run or the cleanup knows they are the demo's. */
export async function markDemoRoles(adminUrl: string, roles: string[]): Promise<void> {
  await withClient(adminUrl, async (c) => {
    for (const role of roles) {
      // Keep what provisioning recorded in the comment (the database that set the connection limit).
      const { rows } = await c.query<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`,
        [role],
      );
      const lines = (rows[0]?.comment ?? '').split('\n').filter((l) => l !== '' && l !== MARKER);
      const comment = [MARKER, ...lines].join('\n');
      await c.query(`COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(comment)}`);
    }
  });
}

/** Drops the demo database and the roles the demo marked as its own; returns what it could not drop. */
export async function dropDemoDatabase(serverUrl: string, roles: string[]): Promise<string[]> {
  const left: string[] = [];
  await withClient(serverUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(DEMO_DATABASE)} WITH (FORCE)`);
    const mine = await c.query<{ name: string }>(
      `SELECT rolname AS name FROM pg_roles WHERE rolname = ANY($1) AND ${MARKED}`,
      [roles, MARKER],
    );
    for (const { name } of mine.rows) {
      await c
        .query(`DROP ROLE ${quoteIdent(name)}`)
        .catch((error: Error) => left.push(`role ${name}: ${error.message}`));
    }
  });
  return left;
}
