import { PgpactError, PostgresError } from '../errors.js';
import {
  type Queryable,
  redactUrl,
  run,
  urlWith,
  withClient,
  withTransaction,
} from '../postgres/client.js';
import { PGPACT_MONITOR_ROLE } from '../postgres/own-roles.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import { newRolePassword } from '../provision/credentials.js';
import { scramVerifier } from '../provision/scram.js';

/** The read-only role the dashboard connects as: never a service's role. */
export const MONITOR_ROLE = PGPACT_MONITOR_ROLE;

/** pgpact's bookkeeping schema (migrations state), readable by the monitor. */
export const PGPACT_SCHEMA = 'pgpact';

/** Settings held on the monitor role: it only reads, and never waits long. */
const MONITOR_SETTINGS: Record<string, string> = {
  default_transaction_read_only: 'on',
  statement_timeout: '10s',
  lock_timeout: '1s',
  idle_in_transaction_session_timeout: '30s',
};

/** What ensureMonitorRole did and how to connect as the role. */
export interface MonitorRole {
  role: string;
  /** URL logging in as the role (holds its password: never print it unredacted). */
  url: string;
  created: boolean;
}

/**
 * Creates or repairs the monitoring role with an admin connection: LOGIN, no other
 * attribute, member of pg_monitor (statistics of every role), SELECT on pgpact's schema,
 * read-only by default. Its password is PGPACT_PASSWORD_PGPACT_MONITOR when set, else a fresh
 * random one on every call (sent as a SCRAM verifier, so no statement log shows it).
 */
export async function ensureMonitorRole(
  adminUrl: string,
  role = MONITOR_ROLE,
): Promise<MonitorRole> {
  const { password } = newRolePassword(role);
  try {
    const created = await withClient(adminUrl, (client) =>
      withTransaction(client, (tx) => setUpRole(tx, role, password)),
    );
    return { role, url: urlWith(adminUrl, { user: role, password }), created };
  } catch (error) {
    if (error instanceof PostgresError && error.pg.code === '42501') {
      throw new PgpactError(
        'INSUFFICIENT_PRIVILEGE',
        `cannot create or update the monitoring role ${role}: ${error.message}`,
        {
          hint: `connect with a role that has CREATEROLE (via ${redactUrl(adminUrl)}), or create the role yourself and pass --monitor-url`,
          cause: error,
        },
      );
    }
    throw error;
  }
}

async function setUpRole(tx: Queryable, role: string, password: string): Promise<boolean> {
  const exists = await run(tx, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const attributes =
    'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 10';
  const created = exists.rowCount === 0;
  // Roles accept no parameters in utility statements: the password goes as a quoted literal.
  await run(
    tx,
    `${created ? 'CREATE' : 'ALTER'} ROLE ${quoteIdent(role)} ${attributes} PASSWORD ${quoteLiteral(scramVerifier(password))}`,
  );
  await run(tx, `GRANT pg_monitor TO ${quoteIdent(role)}`);
  const db = await run(tx, 'SELECT current_database() AS name');
  await run(
    tx,
    `GRANT CONNECT ON DATABASE ${quoteIdent(String(db.rows[0]!.name))} TO ${quoteIdent(role)}`,
  );
  for (const [name, value] of Object.entries(MONITOR_SETTINGS)) {
    await run(tx, `ALTER ROLE ${quoteIdent(role)} SET ${name} = ${quoteLiteral(value)}`);
  }
  await grantPgpactSchema(tx, role);
  return created;
}

/** Grants read access to pgpact's bookkeeping schema, when it exists (run again once it appears). */
export async function grantPgpactSchema(client: Queryable, role = MONITOR_ROLE): Promise<boolean> {
  const schema = await run(client, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [
    PGPACT_SCHEMA,
  ]);
  if (schema.rowCount === 0) return false;
  await run(client, `GRANT USAGE ON SCHEMA ${quoteIdent(PGPACT_SCHEMA)} TO ${quoteIdent(role)}`);
  await run(
    client,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${quoteIdent(PGPACT_SCHEMA)} TO ${quoteIdent(role)}`,
  );
  return true;
}

/** What a connection's role may do: checked before the dashboard uses a given --monitor-url. */
export interface RoleCheck {
  role: string;
  superuser: boolean;
  createRole: boolean;
  createDb: boolean;
  bypassRls: boolean;
  readsAllStats: boolean;
}

/** Reads the attributes of the connected role. */
export async function checkConnectedRole(client: Queryable): Promise<RoleCheck> {
  const { rows } = await run(
    client,
    `SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolcreaterole AS create_role, r.rolcreatedb AS create_db,
            r.rolbypassrls AS bypass_rls, pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS reads_all_stats
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const r = rows[0] as Record<string, unknown>;
  return {
    role: String(r.role),
    superuser: r.superuser === true,
    createRole: r.create_role === true,
    createDb: r.create_db === true,
    bypassRls: r.bypass_rls === true,
    readsAllStats: r.reads_all_stats === true,
  };
}
