import type { Manifest } from '../manifest/types.js';
import type { ReplicaAddress } from '../replica/open-replicas.js';
import { type ConsumerAssessment, assessConsumers } from './assess.js';
import { readActive } from './bookkeeping.js';
import { DEFAULT_QUIET_FOR_MS } from './complete.js';
import { type RollbackBlocker, rollbackBlockers } from './drop-dependencies.js';
import { tableKey } from './names.js';
import type { MovedTable } from './operations/move-table.js';
import type { OldShapeColumn } from './plan-types.js';
import { withMigrationSession } from './session.js';
import type { Phase, TableBackfill } from './types.js';

/** Where the migration in progress stands and who still uses its old shape. */
export interface MigrationStatus {
  name: string;
  file: string;
  phase: Phase;
  startedAt: string;
  updatedAt: string;
  /** Backfill progress per table (tables not reached yet have rowsDone 0). */
  backfill: TableBackfill[];
  oldShape: OldShapeColumn[];
  /** Tables move_table moves; a view keeps each old name until complete. */
  moved: MovedTable[];
  consumers: ConsumerAssessment;
  /** Whether complete would proceed now without --force. */
  canComplete: boolean;
  /** While rolling back: what the rollback's DROPs would fail on. */
  rollbackBlockers?: RollbackBlocker[];
  notes: string[];
}

/** Reads the migration in progress (undefined when there is none) and assesses its consumers. */
export async function migrationStatus(
  url: string,
  options: { manifest?: Manifest; quietForMs?: number; replicas?: ReplicaAddress[] } = {},
): Promise<MigrationStatus | undefined> {
  return withMigrationSession(url, async (client) => {
    const active = await readActive(client);
    if (!active) return undefined;
    const consumers = await assessConsumers(
      client,
      active,
      options.manifest,
      options.quietForMs ?? DEFAULT_QUIET_FOR_MS,
      options.replicas,
    );
    const backfill = active.plan.backfills.map(
      (b): TableBackfill =>
        active.backfill[tableKey(b.table)] ?? {
          table: b.table,
          strategy: b.strategy,
          lastKey: null,
          rowsDone: 0,
          rowsTotal: 0,
          done: false,
        },
    );
    const blockers =
      active.phase === 'rolling_back' ? await rollbackBlockers(client, active) : undefined;
    return {
      ...(blockers ? { rollbackBlockers: blockers } : {}),
      name: active.name,
      file: active.file,
      phase: active.phase,
      startedAt: active.startedAt,
      updatedAt: active.updatedAt,
      backfill,
      oldShape: active.plan.oldShape,
      moved: active.plan.movedTables ?? [],
      consumers,
      canComplete:
        active.phase === 'active' &&
        consumers.observation.available &&
        !consumers.uses.some((u) => u.blocking),
      notes: active.plan.notes,
    };
  });
}
