import pg from 'pg';
import { PgpactError, toPostgresError } from '../errors.js';

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

/** Opens one client to the URL; the caller ends it (prefer withClient). */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? 'pgpact',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.database === undefined ? {} : { database: options.database }),
  });
  // A server that goes away must not crash the process with an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const converted = toPostgresError(error);
    if (converted !== error) throw converted;
    throw new PgpactError('DATABASE_UNREACHABLE', `cannot connect to ${redactUrl(url)}: ${(error as Error).message}`, {
      hint: 'check --database-url / DATABASE_URL, or omit both to use the embedded Postgres',
      cause: error,
    });
  }
  return client;
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
export async function withTransaction<T>(client: Queryable, fn: (client: Queryable) => Promise<T>): Promise<T> {
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
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
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
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // libpq also takes the password as a parameter: ?password=... (and sslpassword=...).
    for (const key of [...parsed.searchParams.keys()])
      if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@').replace(/(pass[a-z]*=)[^&\s]*/gi, '$1***');
  }
}

/** The same server URL with another user, password and/or database. */
export function urlWith(url: string, change: { user?: string; password?: string; database?: string }): string {
  const parsed = new URL(url);
  if (change.user !== undefined) parsed.username = encodeURIComponent(change.user);
  if (change.password !== undefined) parsed.password = encodeURIComponent(change.password);
  if (change.database !== undefined) parsed.pathname = `/${encodeURIComponent(change.database)}`;
  return parsed.toString();
}
