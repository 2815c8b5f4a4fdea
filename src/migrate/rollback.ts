import { PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import {
  type ActiveMigration,
  finishRecord,
  readActive,
  readHistory,
  setPhase,
} from './bookkeeping.js';
import { rollbackBlockers } from './drop-dependencies.js';
import { stopped } from './failure.js';
import { withMigrationLock } from './lock.js';
import { DEFAULTS, retryPolicy, withMigrationSession } from './session.js';
import { runStep, type StepContext } from './steps.js';
import type { Phase, RunOptions } from './types.js';

/** What `rollback` did. */
export interface RollbackResult {
  name: string;
  outcome: 'rolled-back' | 'already-rolled-back';
  /** The phase the migration was in when the rollback began. */
  from: Phase;
  resumed: boolean;
}

/**
 * Whether all complete does is drop move_table's compatibility views (one step per moved
 * table): then nothing is lost once it began, and a rollback can still move the tables back.
 */
function completeDropsOnlyViews(active: ActiveMigration): boolean {
  const moved = active.plan.movedTables ?? [];
  return moved.length > 0 && active.plan.complete.length === moved.length;
}

/** A rollback refused: objects outside the migration depend on what it would drop. */
async function refuseIfBlocked(
  client: Queryable,
  active: ActiveMigration,
  untouched: boolean,
): Promise<void> {
  const blockers = await rollbackBlockers(client, active);
  if (blockers.length === 0) return;
  throw new PgpactError(
    'MIGRATION_BLOCKED',
    `cannot roll back ${active.name}: ${blockers.length === 1 ? 'an object depends' : 'objects depend'} on what the rollback drops (pgpact never cascades)`,
    {
      detail: blockers.map((b) => `${b.object} depends on ${b.uses}`).join('\n'),
      hint: `drop or redefine ${[...new Set(blockers.map((b) => b.object))].join(', ')} first, then run pgpact migrate rollback again${untouched ? ' (nothing was changed; the migration stays where it was)' : ''}`,
    },
  );
}

/**
 * Undoes the expand at any point before complete began: drops the sync triggers,
 * the new columns, indexes, constraints and tables, runs raw SQL `down`s. Resumable.
 */
export async function rollbackMigration(
  url: string,
  options: RunOptions & { name?: string } = {},
): Promise<RollbackResult> {
  return withMigrationSession(url, (client) =>
    withMigrationLock(
      client,
      options.lockWaitMs ?? DEFAULTS.lockWaitMs,
      async () => {
        const active = await readActive(client);
        if (!active || (options.name !== undefined && active.name !== options.name)) {
          const history = active ? undefined : await readHistory(client, options.name);
          if (history?.outcome === 'rolled_back') {
            return {
              name: history.name,
              outcome: 'already-rolled-back',
              from: 'rolled_back',
              resumed: false,
            };
          }
          throw new PgpactError(
            'MIGRATION_NOT_FOUND',
            active
              ? `the migration in progress is ${active.name}, not ${options.name}`
              : 'no migration is in progress',
            {
              hint: 'pgpact migrate status shows the migration in progress',
            },
          );
        }
        if (active.phase === 'completing' && !completeDropsOnlyViews(active)) {
          throw new PgpactError(
            'MIGRATION_IN_PROGRESS',
            `${active.name} is being completed: old columns may already be gone, so it cannot be rolled back`,
            {
              hint: 'run pgpact migrate complete to finish it',
            },
          );
        }
        const from = active.phase;
        options.onStep?.(`roll back ${active.name} (phase ${from})`);
        // Raw SQL downs run first and may drop what depends on the new shape (a view of the
        // migration's own): with none left to run, check before anything changes.
        const downsPending = active.plan.rollback.some(
          (s) =>
            s.kind === 'once' &&
            !active.stepsDone.includes(s.id) &&
            (s.onlyIfDone === undefined || active.stepsDone.includes(s.onlyIfDone)),
        );
        if (!downsPending) await refuseIfBlocked(client, active, from !== 'rolling_back');
        if (from !== 'rolling_back') await setPhase(client, active.name, 'rolling_back');
        const ctx: StepContext = {
          client,
          migration: active.name,
          stepsDone: active.stepsDone,
          retry: retryPolicy(options),
          ...(options.onStep ? { onStep: options.onStep } : {}),
        };
        let checked = !downsPending;
        try {
          for (const step of active.plan.rollback) {
            if (!checked && step.kind !== 'once') {
              await refuseIfBlocked(client, active, false);
              checked = true;
            }
            await runStep(ctx, step);
          }
        } catch (error) {
          throw stopped(
            error,
            `rollback of ${active.name}`,
            'fix the cause and rerun pgpact migrate rollback, which resumes where it stopped (start and complete wait for it)',
          );
        }
        await finishRecord(client, active.name, 'rolled_back');
        return {
          name: active.name,
          outcome: 'rolled-back',
          from,
          resumed: from === 'rolling_back',
        };
      },
      options.signal,
    ),
  );
}
