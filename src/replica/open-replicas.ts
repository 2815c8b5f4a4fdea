import type pg from 'pg';
import { PgpactError } from '../errors.js';
import { connect } from '../postgres/client.js';
import { ServerLogSource } from '../runtime/log-source.js';
import type { ReplicaTarget } from './replica-watch.js';

/** The label of a replica's series: host:port of its URL (never the password). */
export function replicaLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}

/**
 * Connects to each replica URL (a monitoring role: superuser or pg_monitor) and, where the
 * role may read it over SQL, follows its log for recovery conflicts.
 */
export async function openReplicas(
  urls: string[],
  applicationName: string,
): Promise<{ targets: ReplicaTarget[]; close(): Promise<void> }> {
  const clients: pg.Client[] = [];
  const close = async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  };
  try {
    const targets: ReplicaTarget[] = [];
    for (const url of urls) {
      try {
        new URL(url);
      } catch {
        throw new PgpactError('USAGE', 'a --replica URL is not a valid URL', {
          hint: 'use the form postgresql://user:password@host:5432/dbname',
        });
      }
      const client = await connect(url, { applicationName }).catch((error: Error) => {
        throw new PgpactError(
          'REPLICA_UNREACHABLE',
          `cannot connect to replica ${replicaLabel(url)}: ${error.message}`,
          {
            hint: 'check the --replica URL: the same database as the primary, a role in pg_monitor',
            cause: error,
          },
        );
      });
      clients.push(client);
      const log = (await ServerLogSource.readable(client))
        ? new ServerLogSource(client)
        : undefined;
      targets.push({ server: replicaLabel(url), client, ...(log ? { log } : {}) });
    }
    return { targets, close };
  } catch (error) {
    await close();
    throw error;
  }
}
