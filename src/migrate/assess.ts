import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { ActiveMigration } from './bookkeeping.js';
import { saveBaseline, saveObservations } from './bookkeeping.js';
import { declaredUses, dependentObjects, type OldShapeUse, observedUses } from './consumers.js';
import { completeBlockers } from './drop-dependencies.js';
import {
  compatibilityViewDependents,
  declaredMoveUses,
  objectsFollowingMove,
  observedMoveUses,
} from './move-table-consumers.js';
import { liveMoveUses, statementsGroupByName, watchLiveMoveUses } from './live-move-use.js';
import { tableKey } from './names.js';
import { oldNameRelations } from './operations/rename-table.js';
import { notNullAtComplete, readStatementCounts, statementsUsingOldShape } from './observed.js';
import type { ReplicaAddress } from '../replica/open-replicas.js';
import { replicaOldShapeUses } from '../replica/replica-usage.js';

/** Who still uses the old shape of the migration in progress, declared and observed. */
export interface ConsumerAssessment {
  uses: OldShapeUse[];
  /** Services with a contract on a changed table that do not use its old shape. */
  unaffected: { service: string; table: string }[];
  /** Whether observed usage could be checked, and why not. */
  observation: { available: boolean; reason?: string };
  /** Whether declared usage was checked (a manifest was given). */
  declared: boolean;
}

/** What complete's DROPs would fail on: views and foreign keys (with their advice), and any other dependent object. */
export async function dependencyUses(
  client: Queryable,
  active: ActiveMigration,
  catalog: CatalogSnapshot,
  manifest: Manifest | undefined,
): Promise<OldShapeUse[]> {
  return [
    ...dependentObjects(catalog, active.plan, manifest),
    ...(await compatibilityViewDependents(client, active.plan)),
    ...(await completeBlockers(client, active)).map(
      (b): OldShapeUse => ({
        object: b.object,
        source: 'dependency',
        access: 'read',
        columns: [b.uses],
        blocking: true,
        change: `drop or change ${b.object}, which depends on ${b.uses} (complete would fail on it)`,
      }),
    ),
  ];
}

/** Checks the manifest's contracts and the statements run since start against the old shape; stores the counts seen. */
export async function assessConsumers(
  client: Queryable,
  active: ActiveMigration,
  manifest: Manifest | undefined,
  quietForMs: number,
  replicas: ReplicaAddress[] = [],
  liveWindowMs = 0,
): Promise<ConsumerAssessment> {
  const catalog = await readCatalog(client);
  const plan = active.plan;
  const uses: OldShapeUse[] = [
    ...(manifest ? declaredUses(manifest, plan, catalog) : []),
    ...(manifest ? declaredMoveUses(manifest, plan) : []),
    ...(await dependencyUses(client, active, catalog, manifest)),
    ...objectsFollowingMove(catalog, plan),
  ];
  const changedTables = new Set([
    ...plan.oldShape.map((o) => tableKey(o.table)),
    ...oldNameRelations(plan),
  ]);
  const unaffected: { service: string; table: string }[] = [];
  for (const service of manifest?.services ?? []) {
    for (const c of [...service.reads, ...service.writes]) {
      const table = `${c.schema}.${c.table}`;
      if (
        changedTables.has(table) &&
        !uses.some(
          (u) =>
            u.service === service.name &&
            u.source === 'declared' &&
            u.columns.some((k) => k.startsWith(`${table}.`)),
        )
      ) {
        unaffected.push({ service: service.name, table });
      }
    }
  }
  let observation: ConsumerAssessment['observation'] = { available: true };
  const read = await readStatementCounts(client);
  if (active.baseline === undefined) {
    let reason =
      'pg_stat_statements was not readable when the migration started, so there is no baseline';
    if (read.ok) {
      // Readable now: observe from now on, so a later status or complete has its evidence.
      const baseline = Object.fromEntries(read.counts.map((c) => [c.key, c.calls]));
      await saveBaseline(client, active.name, baseline);
      active.baseline = baseline;
      reason = `pg_stat_statements became readable only now; consumers are observed from ${new Date().toISOString()}: check again once they had time to run`;
    } else reason = `${reason}: ${read.reason}`;
    observation = { available: false, reason };
  } else if (!read.ok) observation = { available: false, reason: read.reason };
  else {
    const counts = read.counts;
    const columns = new Set(plan.oldShape.map((o) => `${tableKey(o.table)}.${o.column}`));
    const relations = oldNameRelations(plan);
    const statements = await statementsUsingOldShape(
      counts,
      active.baseline,
      catalog,
      columns,
      relations,
      notNullAtComplete(plan),
    );
    const observed = observedUses(statements, plan, manifest, active.observations, quietForMs);
    uses.push(...observed.uses);
    const throughViews = await observedMoveUses(
      counts,
      active.baseline,
      catalog,
      plan,
      manifest,
      active.observations,
      quietForMs,
      new Date(),
      await statementsGroupByName(client),
    );
    uses.push(...throughViews.uses);
    // Readers on replicas count like readers on the primary (their counts are kept alongside).
    const onReplicas = await replicaOldShapeUses(
      replicas,
      catalog,
      plan,
      manifest,
      active.observations,
      quietForMs,
    );
    uses.push(...onReplicas.uses);
    if (onReplicas.unavailable.length > 0)
      observation = { available: false, reason: onReplicas.unavailable.join('; ') };
    const observations = {
      ...observed.observations,
      ...throughViews.observations,
      ...onReplicas.observations,
    };
    await saveObservations(client, active.name, observations);
    active.observations = observations;
  }
  // Sessions using a compatibility view now (a lock on it, their last statement): seen on every version.
  const live = await watchLiveMoveUses(client, plan, catalog, manifest, liveWindowMs);
  uses.push(...liveMoveUses(live, plan, manifest));
  return { uses, unaffected, observation, declared: manifest !== undefined };
}
