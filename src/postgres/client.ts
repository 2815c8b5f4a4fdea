import pg from 'pg';
import { PgpactError, toPostgresError } from '../errors.js';
import {
  type ConnectionTarget,
  checkDatabaseUrl,
  describeConnectFailure,
  maskUrl,
  type ProbeAnswer,
  probePostgres,
} from './connection-failure.js';
import { passwordFilePath, passwordFromFile } from './pgpass.js';

/** The minimal structural interface pgpact needs from a connection (pg.Client and pg.PoolClient fit). */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Options for a new connection. */
export interface ConnectOptions {
  applicationName?: string;
  /** Connect as another user with another password on the same server. */
  user?: string;
  password?: string;
  database?: string;
  connectTimeoutMs?: number;
}

function noPassword(target: ConnectionTarget): never {
  throw new PgpactError(
    'AUTHENTICATION_FAILED',
    `the server at ${target.host}:${target.port} asks for a password for user "${target.user}" and none was given (${target.shown})`,
    {
      hint: `set PGPASSWORD, or add a line ${target.host}:${target.port}:${target.database}:${target.user}:PASSWORD to ${passwordFilePath()} (mode 0600), or use a URL from an environment variable (DATABASE_URL, --database-url-env NAME)`,
    },
  );
}

/**
 * Opens one client to the URL; the caller ends it (prefer withClient). Without a password in
 * the URL, PGPASSWORD and then ~/.pgpass (PGPASSFILE) give it, as for psql. A failure names
 * its cause and the fix (wrong password, missing database, a port that does not speak
 * Postgres, ...), the URL always masked.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  checkDatabaseUrl(url);
  let target: ConnectionTarget | undefined;
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? 'pgpact',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.database === undefined ? {} : { database: options.database }),
  });
  // No password in the URL, the options or PGPASSWORD (which pg reads): the password file, asked
  // only when the server wants a password. (pg's own lookup is deprecated and warns.)
  if (!(client as { password?: unknown }).password) {
    (client as { password?: unknown }).password = () =>
      passwordFromFile(target!) ?? noPassword(target!);
  }
  // A server that goes away must not crash the process with an unhandled 'error' event.
  client.on('error', () => undefined);
  target = {
    shown: redactUrl(url),
    host: client.host,
    port: client.port,
    database: client.database ?? client.user ?? '',
    user: client.user ?? '',
  };
  let answer: Promise<ProbeAnswer> | undefined;
  const probe = () => {
    answer ??= probePostgres(target.host, target.port, 2_000);
    return answer;
  };
  // A port that speaks another protocol (SSH, MySQL) may keep quiet until the timeout: ask early.
  let foreign = false;
  const early = setTimeout(() => {
    void probe().then((a) => {
      if (a.kind !== 'other') return;
      foreign = true;
      (
        client as unknown as { connection: { stream: { destroy(e: Error): void } } }
      ).connection.stream.destroy(new Error('received invalid response: not PostgreSQL'));
    });
  }, 1_000);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw await describeConnectFailure(
      foreign ? new Error('received invalid response') : error,
      target,
      {
        passwordGiven:
          options.password !== undefined ||
          new URL(url).password !== '' ||
          new URL(url).searchParams.has('password') ||
          Boolean(process.env.PGPASSWORD),
        probe,
        listDatabases: () => listDatabases(url, target, options),
      },
    );
  } finally {
    clearTimeout(early);
  }
  return client;
}

/** The databases a role may connect to, read through the maintenance database (for a "does not exist" hint). */
async function listDatabases(
  url: string,
  target: ConnectionTarget,
  options: ConnectOptions,
): Promise<string[] | undefined> {
  const maintenance = target.database === 'postgres' ? 'template1' : 'postgres';
  // The URL's database wins over options.database in pg: change the URL itself.
  const client = await connect(urlWith(url, { database: maintenance }), {
    ...options,
    connectTimeoutMs: 3_000,
  }).catch(() => undefined);
  if (!client) return undefined;
  try {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs fn with a fresh client that is always closed afterwards. */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs fn inside BEGIN/COMMIT; any error rolls back and is rethrown with Postgres fields kept. */
export async function withTransaction<T>(
  client: Queryable,
  fn: (client: Queryable) => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw toPostgresError(error);
  }
}

/** Runs fn while holding a session-level advisory lock; fails fast when another holder has it. */
export async function withAdvisoryLock<T>(
  client: Queryable,
  key: string,
  fn: () => Promise<T>,
  onBusy: () => Error,
): Promise<T> {
  const { rows } = await client.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
    [key],
  );
  if (!rows[0]?.locked) throw onBusy();
  try {
    return await fn();
  } finally {
    await client
      .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
      .catch(() => undefined);
  }
}

/** Runs one statement, turning server errors into PostgresError with the SQL attached. */
export async function run(client: Queryable, sql: string, params?: unknown[]) {
  try {
    return await client.query(sql, params);
  } catch (error) {
    throw toPostgresError(error, sql);
  }
}

/** A connection URL with its password replaced, safe to print. */
export function redactUrl(url: string): string {
  return maskUrl(url);
}

/** The same server URL with another user, password and/or database. */
export function urlWith(
  url: string,
  change: { user?: string; password?: string; database?: string },
): string {
  const parsed = new URL(url);
  if (change.user !== undefined) parsed.username = encodeURIComponent(change.user);
  if (change.password !== undefined) parsed.password = encodeURIComponent(change.password);
  if (change.database !== undefined) parsed.pathname = `/${encodeURIComponent(change.database)}`;
  return parsed.toString();
}
