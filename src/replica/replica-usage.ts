import type { Manifest } from '../manifest/types.js';
import type { OldShapeUse } from '../migrate/consumers.js';
import { observedUses } from '../migrate/consumers.js';
import { tableKey } from '../migrate/names.js';
import { readStatementCounts, statementsUsingOldShape } from '../migrate/observed.js';
import { oldNameRelations } from '../migrate/operations/rename-table.js';
import type { MigrationPlan } from '../migrate/plan-types.js';
import type { StatementCounter } from '../migrate/types.js';
import { withClient } from '../postgres/client.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { type ReplicaAddress, replicaLabel } from './open-replicas.js';

/** Uses of the old shape observed on replicas, and the counts to remember for the next check. */
export interface ReplicaUses {
  uses: OldShapeUse[];
  observations: Record<string, StatementCounter>;
  /** Replicas whose statements could not be read, and why. */
  unavailable: string[];
}

/**
 * Statements run on replicas that read the old shape of a migration. A physical replica
 * has the primary's catalog but its own pg_stat_statements, with no baseline from the
 * start: each statement there blocks until its count stays the same for `quietForMs`
 * between two checks (its counts are kept with the primary's, keyed by replica).
 */
export async function replicaOldShapeUses(
  replicas: ReplicaAddress[],
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  manifest: Manifest | undefined,
  previous: Record<string, StatementCounter>,
  quietForMs: number,
): Promise<ReplicaUses> {
  const columns = new Set(plan.oldShape.map((o) => `${tableKey(o.table)}.${o.column}`));
  const relations = oldNameRelations(plan);
  const result: ReplicaUses = { uses: [], observations: {}, unavailable: [] };
  for (const replica of replicas) {
    const server = replica.label ?? replicaLabel(replica.url);
    let read: Awaited<ReturnType<typeof readStatementCounts>>;
    try {
      read = await withClient(replica.url, readStatementCounts, {
        applicationName: 'pgpact migrate',
        connectTimeoutMs: 5000,
      });
    } catch (error) {
      result.unavailable.push(`replica ${server}: ${(error as Error).message}`);
      continue;
    }
    if (!read.ok) {
      result.unavailable.push(`replica ${server}: ${read.reason}`);
      continue;
    }
    const counts = read.counts.map((c) => ({ ...c, key: `replica ${server}:${c.key}` }));
    const statements = await statementsUsingOldShape(counts, {}, catalog, columns, relations);
    const observed = observedUses(statements, plan, manifest, previous, quietForMs);
    Object.assign(result.observations, observed.observations);
    result.uses.push(
      ...observed.uses.map((u) => ({
        ...u,
        server,
        change: `${u.change} (it reads on replica ${server})`,
      })),
    );
  }
  return result;
}
