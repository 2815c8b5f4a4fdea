import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import type { CatalogIndex } from '../sql/catalog-index.js';
import { computeUsage } from '../usage/compute.js';
import { countersOf, observationWindow } from '../usage/delta.js';
import { readStatementStats } from '../usage/statement-stats.js';
import type { AccessCount, RoleUsage, UsageSnapshot } from '../usage/types.js';

/** A replica `observe` reads: its label and a connection to the same database on it. */
export interface ObservedReplica {
  server: string;
  client: Queryable;
}

function add(into: Record<string, AccessCount>, from: Record<string, AccessCount>): void {
  for (const [key, count] of Object.entries(from)) {
    const sum = into[key] ?? { calls: 0, rows: 0, totalTimeMs: 0 };
    sum.calls += count.calls;
    sum.rows += count.rows;
    sum.totalTimeMs += count.totalTimeMs;
    into[key] = sum;
  }
}

/**
 * Adds what ran on each replica to the primary's usage: the same analysis against the
 * primary's catalog (a physical replica has it), each statement marked with the server it
 * ran on, counts summed per role. The window on a replica is the delta since the previous
 * snapshot's counters of that replica, kept in `usage.replicas`.
 */
export async function mergeReplicaUsage(
  usage: UsageSnapshot,
  replicas: ObservedReplica[],
  index: CatalogIndex,
  manifest: Manifest | undefined,
  previous: UsageSnapshot | undefined,
): Promise<void> {
  for (const replica of replicas) {
    const current = await readStatementStats(replica.client);
    const before = previous?.replicas?.find((r) => r.server === replica.server);
    const window = observationWindow(
      current,
      previous && before ? { ...previous, counters: before.counters } : undefined,
    );
    const seen = computeUsage(window.stats, index, manifest, { mode: window.mode });
    for (const role of seen.roles) {
      let target = usage.roles.find((r) => r.role === role.role);
      if (!target) {
        target = {
          role: role.role,
          ...(role.service === undefined ? {} : { service: role.service }),
          reads: {},
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [],
        } satisfies RoleUsage;
        usage.roles.push(target);
      }
      add(target.reads, role.reads);
      add(target.writes, role.writes);
      add(target.relationsRead, role.relationsRead);
      add(target.relationsWritten, role.relationsWritten);
      target.statements.push(...role.statements.map((s) => ({ ...s, server: replica.server })));
    }
    usage.relations = { ...seen.relations, ...usage.relations };
    usage.replicas = [
      ...(usage.replicas ?? []).filter((r) => r.server !== replica.server),
      {
        server: replica.server,
        counters: {
          ...(current.statsReset ? { statsReset: current.statsReset } : {}),
          entries: countersOf(current),
        },
      },
    ];
  }
  usage.roles.sort((a, b) => a.role.localeCompare(b.role));
}
