import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';
import {
  embeddedBinaries,
  type LocalServer,
  type ServerBinaries,
  startThrowawayServer,
  systemBinaries,
} from '../../src/postgres/local-server.js';

/** A real Postgres server a test file started; destroyed after the file. */
export interface TestServer extends LocalServer {
  label: string;
  /** Creates a fresh database and returns its superuser URL. */
  createDatabase(prefix?: string): Promise<string>;
  destroy(): Promise<void>;
}

/** The servers tests run against: embedded PG 18 always, PG 15 where its binaries exist. */
export async function availableServers(): Promise<{ label: string; binaries: ServerBinaries }[]> {
  const list = [{ label: 'embedded PG 18', binaries: await embeddedBinaries() }];
  const pg15 = systemBinaries('/usr/lib/postgresql/15/bin');
  if (pg15 && process.env.PGPACT_TEST_SKIP_PG15 !== '1')
    list.push({ label: 'PG 15', binaries: pg15 });
  else if (PG15_REQUIRED)
    throw new Error(
      'CI=true: PostgreSQL 15 is required at /usr/lib/postgresql/15/bin (.ci/run installs postgresql-15)',
    );
  return list;
}

/** Under CI a missing PG 15 is a failure, never a silent skip. */
const PG15_REQUIRED = process.env.CI === 'true';

/** Labels of the servers, known synchronously for describe.each (PG 15 kept under CI, so its absence fails). */
export const SERVER_LABELS: string[] = [
  'embedded PG 18',
  ...((systemBinaries('/usr/lib/postgresql/15/bin') && process.env.PGPACT_TEST_SKIP_PG15 !== '1') ||
  PG15_REQUIRED
    ? ['PG 15']
    : []),
];

/** Starts a throwaway server (a real Postgres process) for one test file. */
export async function startTestServer(
  label = 'embedded PG 18',
  settings: Record<string, string> = {},
): Promise<TestServer> {
  const spec = (await availableServers()).find((s) => s.label === label);
  if (!spec) throw new Error(`no server ${label} on this machine`);
  const server = await startThrowawayServer({
    binaries: spec.binaries,
    settings,
    prefix: 'pgpact-test',
  });
  return {
    ...server,
    label,
    async createDatabase(prefix = 't') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await withClient(server.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
      const url = urlWith(server.url, { database: name });
      await withClient(url, (c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
      return url;
    },
  };
}

/**
 * Runs a describe block once per available server. The callback gets a getter
 * for the server started for that block (beforeAll) and destroyed after it.
 */
export function describeEachServer(title: string, body: (server: () => TestServer) => void): void {
  for (const label of SERVER_LABELS) {
    describe(`${title} [${label}]`, () => {
      let server: TestServer | undefined;
      beforeAll(async () => {
        server = await startTestServer(label);
      });
      afterAll(async () => {
        await server?.destroy();
      });
      body(() => {
        if (!server) throw new Error('server not started');
        return server;
      });
    });
  }
}
