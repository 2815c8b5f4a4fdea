import { PgpactError, PostgresError } from '../errors.js';
import { readCatalog } from '../postgres/catalog.js';
import { DEFAULT_BATCH_TIME_MS } from './adaptive-batch.js';
import { runBackfill } from './backfill.js';
import {
  type ActiveMigration,
  ensureBookkeeping,
  insertRecord,
  readActive,
  readHistory,
  setPhase,
} from './bookkeeping.js';
import { stopped } from './failure.js';
import { withMigrationLock } from './lock.js';
import { tableKey } from './names.js';
import { EVIDENCE_HINT, takeBaseline } from './observed.js';
import { planMigration } from './plan.js';
import { rollbackMigration } from './rollback.js';
import { DEFAULTS, retryPolicy, withMigrationSession } from './session.js';
import { runStep, type StepContext } from './steps.js';
import type { Migration, Phase, RunOptions, TableBackfill } from './types.js';

/** What `start` did. */
export interface StartResult {
  name: string;
  /** `started`: ran to the end now; `already-active`: it had been started before; `already-completed`. */
  outcome: 'started' | 'already-active' | 'already-completed';
  /** Whether this run resumed an interrupted one. */
  resumed: boolean;
  phase: Phase;
  backfill: TableBackfill[];
  notes: string[];
  /** Said when the migration began without pg_stat_statements: complete will need it. */
  warnings: string[];
}

const EXPANDING: Phase[] = ['expanding', 'backfilling', 'validating'];

/** The recorded backfill progress, in the order the plan backfills the tables. */
function inPlanOrder(active: ActiveMigration): TableBackfill[] {
  return active.plan.backfills.flatMap((b) => active.backfill[tableKey(b.table)] ?? []);
}

/**
 * Expands: adds the new shape, installs the sync triggers, backfills in batches
 * and validates constraints, so old and new code both work. Run it again after
 * a crash to resume; every step is idempotent and progress is kept in schema pgpact.
 */
export async function startMigration(
  url: string,
  migration: Migration,
  options: RunOptions = {},
): Promise<StartResult> {
  try {
    return await expand(url, migration, options);
  } catch (error) {
    if (!fileIsWrong(error)) throw error;
    // The file itself is wrong (a syntax error, an unknown function or column the parser could
    // not see): resuming cannot help and the file may not change, so undo the start at once.
    const rolledBack = await rollbackMigration(url, {
      ...options,
      name: migration.name,
    }).catch(() => undefined);
    if (rolledBack?.outcome !== 'rolled-back') throw error;
    const e = error as PgpactError;
    throw new PgpactError(e.code, `${e.message}; the start was rolled back`, {
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      hint: `fix ${migration.file} and run pgpact migrate start again`,
      cause: error,
    });
  }
}

/** Whether a start failed on what the file says (SQLSTATE class 42), not on the data or the server. */
function fileIsWrong(error: unknown): boolean {
  if (!(error instanceof PgpactError) || error.code !== 'MIGRATION_FAILED') return false;
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof PostgresError) return e.pg.code?.startsWith('42') === true;
  }
  return false;
}

async function expand(
  url: string,
  migration: Migration,
  options: RunOptions,
): Promise<StartResult> {
  return withMigrationSession(url, (client) =>
    withMigrationLock(
      client,
      options.lockWaitMs ?? DEFAULTS.lockWaitMs,
      async () => {
        await ensureBookkeeping(client);
        let active = await readActive(client);
        let resumed = false;
        const warnings: string[] = [];
        if (active && active.name !== migration.name) {
          throw new PgpactError(
            'MIGRATION_IN_PROGRESS',
            `the migration ${active.name} is in progress (phase ${active.phase}); one migration at a time`,
            {
              hint: `finish it first: pgpact migrate complete, or pgpact migrate rollback`,
            },
          );
        }
        if (active) {
          if (active.checksum !== migration.checksum) {
            throw new PgpactError(
              'MIGRATION_INVALID',
              `${migration.file} changed since the migration ${migration.name} started`,
              {
                hint: 'restore the file as it was, or roll the migration back and start the new version',
              },
            );
          }
          if (active.phase === 'completing') {
            throw new PgpactError(
              'MIGRATION_IN_PROGRESS',
              `the migration ${active.name} is being completed`,
              { hint: 'run pgpact migrate complete to finish it' },
            );
          }
          if (active.phase === 'rolling_back') {
            throw new PgpactError(
              'MIGRATION_IN_PROGRESS',
              `the migration ${active.name} is being rolled back`,
              { hint: 'run pgpact migrate rollback to finish it' },
            );
          }
          if (active.phase === 'active') {
            return {
              name: active.name,
              outcome: 'already-active',
              resumed: false,
              phase: active.phase,
              backfill: inPlanOrder(active),
              notes: active.plan.notes,
              warnings,
            };
          }
          resumed = true;
          options.onStep?.(`resuming ${active.name} (phase ${active.phase})`);
        } else {
          const history = await readHistory(client, migration.name);
          if (history?.outcome === 'completed') {
            return {
              name: migration.name,
              outcome: 'already-completed',
              resumed: false,
              phase: 'completed',
              backfill: [],
              notes: [],
              warnings,
            };
          }
          options.onStep?.(`plan ${migration.name} against the live catalog`);
          const plan = planMigration(migration, await readCatalog(client));
          const baseline = await takeBaseline(client);
          if (!baseline.ok)
            warnings.push(
              `observed consumers cannot be checked: ${baseline.reason}. complete will refuse without --force until they can: ${EVIDENCE_HINT}`,
            );
          await insertRecord(client, migration, plan, baseline.ok ? baseline.baseline : undefined);
          active = (await readActive(client))!;
        }
        const plan = active.plan;
        const ctx: StepContext = {
          client,
          migration: active.name,
          stepsDone: active.stepsDone,
          retry: retryPolicy(options),
          ...(options.onStep ? { onStep: options.onStep } : {}),
        };
        let phase = active.phase;
        try {
          if (phase === 'expanding') {
            for (const step of plan.expand) await runStep(ctx, step);
            phase = 'backfilling';
            await setPhase(client, active.name, phase);
          }
          const backfill: TableBackfill[] = [];
          if (phase === 'backfilling') {
            for (const b of plan.backfills) {
              const done = await runBackfill(ctx, b, active.backfill[tableKey(b.table)], {
                sizing:
                  options.batchSize === undefined
                    ? { targetMs: options.batchTimeMs ?? DEFAULT_BATCH_TIME_MS }
                    : { fixed: options.batchSize, targetMs: 0 },
                watchUrl: url,
                ...(options.throttle ? { throttle: options.throttle } : {}),
                ...(options.onProgress ? { onProgress: options.onProgress } : {}),
                ...(options.onThrottle ? { onThrottle: options.onThrottle } : {}),
              });
              backfill.push(done);
            }
            phase = 'validating';
            await setPhase(client, active.name, phase);
          }
          if (EXPANDING.includes(phase)) {
            for (const step of plan.validate) await runStep(ctx, step);
            phase = 'active';
            await setPhase(client, active.name, phase);
          }
        } catch (error) {
          throw stopped(
            error,
            `start of ${active.name} (phase ${phase})`,
            `the migration stays recorded where it stopped: fix the cause and rerun pgpact migrate start ${migration.file} to resume, or undo it with pgpact migrate rollback (the file must not change before either)`,
          );
        }
        const final = await readActive(client);
        return {
          name: active.name,
          outcome: 'started',
          resumed,
          phase,
          backfill: final ? inPlanOrder(final) : [],
          notes: plan.notes,
          warnings,
        };
      },
      options.signal,
    ),
  );
}
