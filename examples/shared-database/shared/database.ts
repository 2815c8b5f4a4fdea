import pg from 'pg';
import { HttpError } from './http.js';

// Postgres returns bigint and numeric as strings; the services convert explicitly where they need numbers.

/** Opens a pool for one service: its own role's URL, its own application_name, a bounded size. */
export function createPool(options: {
  databaseUrl: string;
  applicationName: string;
  poolSize: number;
}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    application_name: options.applicationName,
    max: options.poolSize,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection the server closes (restart, terminate) must not crash the service.
  pool.on('error', (error) => logEvent('pool_error', { message: error.message }));
  return pool;
}

/** Runs fn inside one transaction on a pooled client, rolling back on any error. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const STATUS_BY_SQLSTATE: Record<string, [number, string]> = {
  '42501': [500, 'permission_denied'],
  '57014': [503, 'statement_timeout'],
  '55P03': [503, 'lock_timeout'],
  '53300': [503, 'too_many_connections'],
  '57P01': [503, 'database_shutting_down'],
  '40001': [409, 'serialization_failure'],
  '40P01': [409, 'deadlock_detected'],
};

/** Maps a database (or unexpected) error to an HTTP error; the message names the SQLSTATE, never the SQL. */
export function toHttpError(error: unknown): HttpError {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const known = STATUS_BY_SQLSTATE[code];
    const message = `database error ${code}: ${(error as Error).message}`;
    if (known) return new HttpError(known[0], known[1], message);
    if (code.startsWith('22')) return new HttpError(400, 'invalid_value', message);
    if (code.startsWith('23')) return new HttpError(409, 'constraint_violation', message);
    if (code.startsWith('08') || code.startsWith('57'))
      return new HttpError(503, 'database_unavailable', message);
    return new HttpError(500, 'database_error', message);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new HttpError(503, 'database_unavailable', `cannot reach the database: ${message}`);
  }
  if (/timeout|terminat|Connection/i.test(message))
    return new HttpError(503, 'database_unavailable', message);
  return new HttpError(500, 'internal', 'internal error');
}

/** Writes one structured log line to stderr. */
export function logEvent(event: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}
