/** `pgpact init` as a library call: read the database, propose the first manifest. */
import { PgpactError } from '../errors.js';
import { readCatalog, readPartitionRoots } from '../postgres/catalog.js';
import type { Queryable } from '../postgres/client.js';
import { readOwnRoles } from '../postgres/own-roles.js';
import { observeUsage } from '../usage/observe.js';
import { readStatementEvictions } from '../usage/statement-stats.js';
import { buildFirstManifest, type FirstManifest } from './first-manifest.js';

/** The first manifest plus why observed use is missing, if it is. */
export interface InitResult extends FirstManifest {
  usageUnavailable?: string;
}

/**
 * Reads the catalog and, where pg_stat_statements is present and readable, everything it
 * remembers since its last reset, and builds the first manifest. Without pg_stat_statements
 * the manifest comes from table owners alone (the reason is in the result and the file).
 */
export async function initManifest(client: Queryable, now = new Date()): Promise<InitResult> {
  try {
    const observed = await observeUsage({ client, sinceReset: true });
    const own = await readOwnRoles(client);
    const partitions = await readPartitionRoots(client);
    const evicted = await readStatementEvictions(client);
    return buildFirstManifest({
      catalog: observed.catalog,
      own,
      usage: observed.usage,
      partitions,
      now,
      ...(evicted && evicted.evictions > 0 ? { evicted } : {}),
    });
  } catch (error) {
    if (
      !(error instanceof PgpactError) ||
      (error.code !== 'PG_STAT_STATEMENTS_MISSING' && error.code !== 'INSUFFICIENT_PRIVILEGE')
    )
      throw error;
    const catalog = await readCatalog(client);
    const own = await readOwnRoles(client);
    const partitions = await readPartitionRoots(client);
    const usageUnavailable = error.message;
    return {
      ...buildFirstManifest({ catalog, own, usageUnavailable, partitions, now }),
      usageUnavailable,
    };
  }
}
