import type pg from 'pg';
import { PgpactError } from '../errors.js';
import type { Manifest } from '../manifest/types.js';
import { connect } from '../postgres/client.js';
import { ServerLogSource } from '../runtime/log-source.js';
import type { ReplicaTarget } from './replica-watch.js';

/** The label of a replica's series: host:port of its URL (never the password). */
export function replicaLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}

/** A replica to open: its URL and, for replicas named in the manifest, its name as the label. */
export interface ReplicaAddress {
  url: string;
  label?: string;
}

/** The replicas the manifest names, their URLs read from the environment variables it names. */
export function manifestReplicas(manifest: Manifest | undefined): ReplicaAddress[] {
  return (manifest?.replicas ?? []).map((r) => {
    const url = process.env[r.urlEnv];
    if (url === undefined || url === '') {
      throw new PgpactError(
        'USAGE',
        `the environment variable ${r.urlEnv} (replica ${r.name} in ${manifest!.file}) is not set`,
        { hint: `export ${r.urlEnv}=postgresql://user:password@host:5432/dbname` },
      );
    }
    return { url, label: r.name };
  });
}

/**
 * Connects to each replica (a monitoring role: superuser or pg_monitor) and, where the
 * role may read it over SQL, follows its log for recovery conflicts.
 */
export async function openReplicas(
  addresses: ReplicaAddress[],
  applicationName: string,
): Promise<{ targets: ReplicaTarget[]; close(): Promise<void> }> {
  const clients: pg.Client[] = [];
  const close = async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  };
  try {
    const targets: ReplicaTarget[] = [];
    for (const { url, label } of addresses) {
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
      targets.push({ server: label ?? replicaLabel(url), client, ...(log ? { log } : {}) });
    }
    return { targets, close };
  } catch (error) {
    await close();
    throw error;
  }
}
