import type pg from 'pg';
import { connect } from '../postgres/client.js';
import { readPoolState } from './pool-files.js';
import { poolConsoleUrl, poolStatus } from './pool-process.js';

/** An open connection to PgBouncer's admin console and what to call it. */
export interface PoolConsole {
  client: pg.Client;
  target: string;
}

/**
 * Connects to PgBouncer's admin console: the URL given (its `pgbouncer` database, a stats
 * or admin user), else the PgBouncer `pgpact pool start` runs in front of the database
 * monitored; undefined when there is none.
 */
export async function openPoolConsole(
  stateDir: string,
  url: string | undefined,
  applicationName: string,
  databaseUrl?: string,
): Promise<PoolConsole | undefined> {
  let consoleUrl = url;
  if (consoleUrl === undefined) {
    if (!poolStatus(stateDir).running) return undefined;
    const fronted = readPoolState(stateDir)?.server;
    if (databaseUrl !== undefined && fronted !== undefined) {
      const monitored = new URL(databaseUrl);
      if (Number(monitored.port || '5432') !== fronted.port) return undefined;
    }
    consoleUrl = poolConsoleUrl(stateDir);
    if (consoleUrl === undefined) return undefined;
  }
  const client = await connect(consoleUrl, { applicationName });
  const parsed = new URL(consoleUrl);
  return { client, target: `${parsed.hostname}:${parsed.port || 6432}` };
}
