import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { quoteIdent, quoteLiteral } from '../../src/postgres/quote.js';

/** Creates a login role with a real password (and optional CONNECTION LIMIT); returns its URL to the database. */
export async function createLoginRole(
  adminUrl: string,
  role: string,
  options: { connectionLimit?: number } = {},
): Promise<string> {
  const password = randomBytes(12).toString('base64url');
  const limit =
    options.connectionLimit === undefined ? '' : ` CONNECTION LIMIT ${options.connectionLimit}`;
  await withClient(adminUrl, (c) =>
    c.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)}${limit}`),
  );
  return urlWith(adminUrl, { user: role, password });
}

/** Opens a client as a service would (its own role, its application_name); errors are kept, not thrown. */
export async function openAs(url: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Closes clients, ignoring ones already broken. */
export async function closeAll(clients: pg.Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/** Polls until fn returns a value that is not undefined, or fails after timeoutMs. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A manifest (parsed by the real loader) giving each service its role. */
export function manifestOf(services: Record<string, string>): Manifest {
  const lines = Object.entries(services).map(
    ([name, role]) => `  ${JSON.stringify(name)}:\n    role: ${JSON.stringify(role)}`,
  );
  return parseManifest(`version: 1\nservices:\n${lines.join('\n')}\n`, '/virtual/pgpact.yaml');
}

/**
 * Two services lock two rows of a table in opposite order: a real deadlock.
 * Returns both backends' pids and which of them Postgres aborted.
 */
export async function provokeDeadlock(
  first: { url: string; app: string },
  second: { url: string; app: string },
  table: string,
): Promise<{ firstPid: number; secondPid: number; victimPid: number }> {
  const a = await openAs(first.url, first.app);
  const b = await openAs(second.url, second.app);
  try {
    const pidOf = async (c: pg.Client) =>
      Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const firstPid = await pidOf(a);
    const secondPid = await pidOf(b);
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(`UPDATE ${table} SET v = v + 1 WHERE id = 1`);
    await b.query(`UPDATE ${table} SET v = v + 1 WHERE id = 2`);
    const aWaits = a.query(`UPDATE ${table} SET v = v + 1 WHERE id = 2`).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    // Let the first wait begin before closing the cycle, so the second is the one that detects it.
    await new Promise((r) => setTimeout(r, 300));
    const bWaits = b.query(`UPDATE ${table} SET v = v + 1 WHERE id = 1`).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    // Whichever Postgres aborts first rolls back, which lets the other one finish.
    const firstDone = await Promise.race([aWaits.then(() => a), bWaits.then(() => b)]);
    await firstDone.query('ROLLBACK');
    const [aError, bError] = await Promise.all([aWaits, bWaits]);
    const victimPid =
      bError?.code === '40P01' ? secondPid : aError?.code === '40P01' ? firstPid : 0;
    if (victimPid === 0) throw new Error('no deadlock happened');
    await a.query('ROLLBACK').catch(() => undefined);
    await b.query('ROLLBACK').catch(() => undefined);
    return { firstPid, secondPid, victimPid };
  } finally {
    await closeAll([a, b]);
  }
}
