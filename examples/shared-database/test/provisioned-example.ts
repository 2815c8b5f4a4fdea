import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { loadManifest } from '../../../src/manifest/load.js';
import { withClient } from '../../../src/postgres/client.js';
import { applyProvisioning } from '../../../src/provision/apply.js';
import { serviceUrl } from '../../../src/provision/credentials.js';
import type { TestServer } from '../../../test/helpers/postgres.js';
import { createPool } from '../shared/database.js';
import { type ListeningServer, listen } from '../shared/service-process.js';

/** The example provisioned by pgpact on a fresh database of a test server. */
export interface ProvisionedExample {
  adminUrl: string;
  stateDir: string;
  /** Database URL of each service's own role. */
  urls: { users: string; invoicing: string; reporting: string };
  /** Runs SQL as the admin. */
  admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T>;
  /** Removes the state dir (the server is destroyed by its own helper). */
  cleanup(): void;
}

const manifestFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pgpact.yaml');

/** Applies examples/shared-database/pgpact.yaml (roles, schemas, grants, migrations) to a new database. */
export async function provisionExample(server: TestServer): Promise<ProvisionedExample> {
  const adminUrl = await server.createDatabase('example');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-test-example-'));
  await applyProvisioning(adminUrl, loadManifest(manifestFile), { stateDir });
  return {
    adminUrl,
    stateDir,
    urls: {
      users: serviceUrl(adminUrl, 'users', stateDir),
      invoicing: serviceUrl(adminUrl, 'invoicing', stateDir),
      reporting: serviceUrl(adminUrl, 'reporting', stateDir),
    },
    admin: (fn) => withClient(adminUrl, fn),
    cleanup: () => fs.rmSync(stateDir, { recursive: true, force: true }),
  };
}

/** A service started in-process on a free port with its own pool. */
export interface RunningApp {
  url: string;
  pool: pg.Pool;
  http: ListeningServer;
  stop(): Promise<void>;
}

/** Starts one service's request listener on a free port, connected with the given role URL. */
export async function startApp(
  name: string,
  databaseUrl: string,
  create: (pool: pg.Pool) => RequestListener,
): Promise<RunningApp> {
  const pool = createPool({ databaseUrl, applicationName: name, poolSize: 3 });
  const http = await listen(create(pool), 0);
  return {
    url: http.url,
    pool,
    http,
    async stop() {
      await http.close();
      await pool.end();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely.
export type TestBody = any;

/** Sends a request and returns status, headers and the parsed JSON body. */
export async function call(
  method: string,
  url: string,
  body?: unknown,
  raw?: string,
): Promise<{ status: number; body: TestBody; headers: Headers }> {
  const init: RequestInit = { method };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) init.body = JSON.stringify(body);
  if (init.body !== undefined) init.headers = { 'content-type': 'application/json' };
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : JSON.parse(text),
    headers: res.headers,
  };
}
