import { PgpactError } from '../errors.js';
import type { Manifest } from '../manifest/types.js';
import { readCatalog } from '../postgres/catalog.js';
import { type ConsumerAssessment, assessConsumers, dependencyUses } from './assess.js';
import { finishRecord, readActive, readHistory, setPhase } from './bookkeeping.js';
import type { OldShapeUse } from './consumers.js';
import { stopped } from './failure.js';
import type { ReplicaAddress } from '../replica/open-replicas.js';
import { withMigrationLock } from './lock.js';
import { EVIDENCE_HINT } from './observed.js';
import { DEFAULTS, retryPolicy, withMigrationSession } from './session.js';
import { runStep, type StepContext } from './steps.js';
import type { RunOptions } from './types.js';

/** How long an observed statement must stay quiet before it stops blocking `complete` (default 15 minutes). */
export const DEFAULT_QUIET_FOR_MS = 15 * 60_000;

/** Options of complete: the manifest for declared consumers, --force, and the quiet period for observed ones. */
export interface CompleteOptions extends RunOptions {
  manifest?: Manifest;
  force?: boolean;
  quietForMs?: number;
  /** When set, the migration in progress must have this name. */
  name?: string;
  /** Replicas whose readers count as consumers too. */
  replicas?: ReplicaAddress[];
  /**
   * How long to watch sessions for use of move_table's compatibility views (locks on them,
   * last statements through them) before deciding; default the quiet period, at most 10 s.
   */
  liveWindowMs?: number;
}

/** The longest complete watches sessions for locks on compatibility views. */
export const LIVE_WINDOW_MAX_MS = 10_000;

/** What `complete` did. */
export interface CompleteResult {
  name: string;
  outcome: 'completed' | 'already-completed';
  resumed: boolean;
  /** With --force: the uses of the old shape that will now break. */
  forcedPast: OldShapeUse[];
  /** For already-completed: when it was completed. */
  finishedAt?: string;
  assessment?: ConsumerAssessment;
  /** With --force: why observed consumers could not be checked. */
  unverified?: string;
}

/** `complete` refused: consumers still use the old shape. */
export class MigrationBlockedError extends PgpactError {
  constructor(
    readonly migration: string,
    readonly uses: OldShapeUse[],
    readonly assessment: ConsumerAssessment,
  ) {
    const names = [
      ...new Set(
        uses.map(
          (u) =>
            `${u.service ?? u.object ?? `role ${u.role}`}${u.server ? ` (on replica ${u.server})` : ''}`,
        ),
      ),
    ];
    super(
      'MIGRATION_BLOCKED',
      `cannot complete ${migration}: ${names.join(', ')} still ${names.length === 1 ? 'uses' : 'use'} the old shape`,
      {
        detail: uses
          .map((u) => `${u.service ?? u.object ?? `role ${u.role}`} (${u.source}): ${u.change}`)
          .join('\n'),
        hint: uses.every((u) => u.source === 'dependency')
          ? 'make these changes and run complete again (--force cannot drop what they depend on: pgpact never cascades)'
          : 'make these changes and run complete again, or pass --force to drop the old shape anyway',
      },
    );
    this.name = 'MigrationBlockedError';
  }
}

/**
 * Contracts: drops the old columns, the sync triggers and the bookkeeping. Refuses
 * while a declared or observed consumer still uses the old shape, unless forced.
 * Once it has begun, a rerun finishes it without asking again.
 */
export async function completeMigration(
  url: string,
  options: CompleteOptions = {},
): Promise<CompleteResult> {
  return withMigrationSession(url, (client) =>
    withMigrationLock(
      client,
      options.lockWaitMs ?? DEFAULTS.lockWaitMs,
      async () => {
        const active = await readActive(client);
        if (!active || (options.name !== undefined && active.name !== options.name)) {
          // A run killed after it finished (or a rerun): the history tells.
          const history = active ? undefined : await readHistory(client, options.name);
          if (history?.outcome === 'completed') {
            return {
              name: history.name,
              outcome: 'already-completed',
              resumed: false,
              forcedPast: [],
              finishedAt: history.finishedAt,
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
        if (['expanding', 'backfilling', 'validating'].includes(active.phase)) {
          throw new PgpactError(
            'MIGRATION_IN_PROGRESS',
            `the start of ${active.name} has not finished (phase ${active.phase})`,
            {
              hint: `rerun pgpact migrate start ${active.file} to resume it first`,
            },
          );
        }
        if (active.phase === 'rolling_back') {
          throw new PgpactError('MIGRATION_IN_PROGRESS', `${active.name} is being rolled back`, {
            hint: 'run pgpact migrate rollback to finish it',
          });
        }
        let forcedPast: OldShapeUse[] = [];
        let assessment: ConsumerAssessment | undefined;
        let unverified: string | undefined;
        const resumed = active.phase === 'completing';
        if (resumed) {
          options.onStep?.(`resuming complete of ${active.name}`);
          // Something created since the check (a view on an old column) would make a DROP fail.
          const dependencies = await dependencyUses(
            client,
            active,
            await readCatalog(client),
            options.manifest,
          );
          if (dependencies.length > 0)
            throw new MigrationBlockedError(active.name, dependencies, {
              uses: dependencies,
              unaffected: [],
              observation: { available: true },
              declared: options.manifest !== undefined,
            });
        }
        if (active.phase === 'active') {
          // Locks on compatibility views are sampled over a window (capped: complete is interactive).
          const liveWindowMs = (active.plan.movedTables ?? []).length
            ? (options.liveWindowMs ??
              Math.min(options.quietForMs ?? DEFAULT_QUIET_FOR_MS, LIVE_WINDOW_MAX_MS))
            : 0;
          options.onStep?.(
            `check who still uses the old shape of ${active.name}${liveWindowMs > 0 ? ` (watching sessions on the old names for ${Math.round(liveWindowMs / 100) / 10}s)` : ''}`,
          );
          assessment = await assessConsumers(
            client,
            active,
            options.manifest,
            options.quietForMs ?? DEFAULT_QUIET_FOR_MS,
            options.replicas,
            liveWindowMs,
          );
          const blocking = assessment.uses.filter((u) => u.blocking);
          // A view on an old column, or a foreign key to it, makes the DROP fail: --force cannot get past it.
          const dependencies = blocking.filter((u) => u.source === 'dependency');
          if (dependencies.length > 0)
            throw new MigrationBlockedError(active.name, dependencies, assessment);
          if (blocking.length > 0 && !options.force)
            throw new MigrationBlockedError(active.name, blocking, assessment);
          // No evidence is not "nobody": an unseen reader would break silently.
          if (!assessment.observation.available && !options.force)
            throw new PgpactError(
              'MIGRATION_UNVERIFIED',
              `cannot complete ${active.name}: who still reads the old shape cannot be observed (${assessment.observation.reason})`,
              { hint: `${EVIDENCE_HINT}; or pass --force to drop the old shape unverified` },
            );
          forcedPast = blocking;
          if (!assessment.observation.available) unverified = assessment.observation.reason;
          await setPhase(client, active.name, 'completing');
        }
        const ctx: StepContext = {
          client,
          migration: active.name,
          stepsDone: active.stepsDone,
          retry: retryPolicy(options),
          ...(options.onStep ? { onStep: options.onStep } : {}),
        };
        try {
          for (const step of active.plan.complete) await runStep(ctx, step);
        } catch (error) {
          throw stopped(
            error,
            `complete of ${active.name}`,
            'the old shape may be partly gone, so it cannot be rolled back: fix the cause and rerun pgpact migrate complete, which resumes where it stopped',
          );
        }
        await finishRecord(
          client,
          active.name,
          'completed',
          forcedPast.length > 0 ? forcedPast : undefined,
        );
        return {
          name: active.name,
          outcome: 'completed',
          resumed,
          forcedPast,
          ...(assessment ? { assessment } : {}),
          ...(unverified === undefined ? {} : { unverified }),
        };
      },
      options.signal,
    ),
  );
}
