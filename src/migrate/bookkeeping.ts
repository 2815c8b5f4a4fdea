import type { Queryable } from '../postgres/client.js';
import { MARKER } from './sql-run.js';
import type { MigrationPlan } from './plan-types.js';
import type {
  Migration,
  MigrationRecord,
  Phase,
  StatementCounter,
  TableBackfill,
} from './types.js';

/**
 * Progress of the migration in progress, kept in the database itself (schema
 * `pgpact`) so that a run killed at any point resumes where it stopped. Every
 * change to this row commits in the same transaction as the work it records.
 */

/** Creates the bookkeeping schema and tables if needed. */
export async function ensureBookkeeping(client: Queryable): Promise<void> {
  await client.query(`${MARKER}
    CREATE SCHEMA IF NOT EXISTS pgpact;
    CREATE TABLE IF NOT EXISTS pgpact.migrations (
      name text PRIMARY KEY,
      file text NOT NULL,
      checksum text NOT NULL,
      migration jsonb NOT NULL,
      plan jsonb NOT NULL,
      phase text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      backfill jsonb NOT NULL DEFAULT '{}',
      steps_done text[] NOT NULL DEFAULT '{}',
      baseline jsonb,
      observations jsonb NOT NULL DEFAULT '{}',
      started_by text NOT NULL DEFAULT current_user
    );
    CREATE TABLE IF NOT EXISTS pgpact.migration_history (
      name text NOT NULL,
      checksum text NOT NULL,
      outcome text NOT NULL,
      file text NOT NULL,
      migration jsonb NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL DEFAULT now(),
      forced_past jsonb
    );`);
}

interface Row extends Record<string, unknown> {
  name: string;
  file: string;
  checksum: string;
  migration: Migration;
  plan: MigrationPlan;
  phase: Phase;
  started_at: Date;
  updated_at: Date;
  backfill: Record<string, TableBackfill>;
  steps_done: string[];
  baseline: Record<string, number> | null;
  observations: Record<string, StatementCounter>;
}

/** A migration in progress with its plan. */
export interface ActiveMigration extends MigrationRecord {
  plan: MigrationPlan;
}

/** The migration in progress, if any (there is at most one). */
export async function readActive(client: Queryable): Promise<ActiveMigration | undefined> {
  const exists = await client.query<{ ok: boolean }>(
    `${MARKER} SELECT to_regclass('pgpact.migrations') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return undefined;
  const { rows } = await client.query<Row>(
    `${MARKER} SELECT * FROM pgpact.migrations ORDER BY started_at LIMIT 1`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    name: r.name,
    file: r.file,
    checksum: r.checksum,
    migration: r.migration,
    plan: r.plan,
    phase: r.phase,
    startedAt: r.started_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    backfill: r.backfill,
    stepsDone: r.steps_done,
    ...(r.baseline === null ? {} : { baseline: r.baseline }),
    observations: r.observations,
  };
}

/** A finished migration in the history. */
export interface HistoryEntry {
  name: string;
  outcome: string;
  finishedAt: string;
  checksum: string;
}

/** The last outcome of a migration by name (or of the last migration at all) in the history. */
export async function readHistory(
  client: Queryable,
  name?: string,
): Promise<HistoryEntry | undefined> {
  const exists = await client.query<{ ok: boolean }>(
    `${MARKER} SELECT to_regclass('pgpact.migration_history') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return undefined;
  const { rows } = await client.query<{
    name: string;
    outcome: string;
    finished_at: Date;
    checksum: string;
  }>(
    `${MARKER} SELECT name, outcome, finished_at, checksum FROM pgpact.migration_history
     WHERE $1::text IS NULL OR name = $1 ORDER BY finished_at DESC LIMIT 1`,
    [name ?? null],
  );
  const r = rows[0];
  return r
    ? {
        name: r.name,
        outcome: r.outcome,
        finishedAt: r.finished_at.toISOString(),
        checksum: r.checksum,
      }
    : undefined;
}

/** Records a new migration in phase `expanding`, with the statement baseline taken now. */
export async function insertRecord(
  client: Queryable,
  migration: Migration,
  plan: MigrationPlan,
  baseline: Record<string, number> | undefined,
): Promise<void> {
  await client.query(
    `${MARKER} INSERT INTO pgpact.migrations (name, file, checksum, migration, plan, phase, baseline)
     VALUES ($1, $2, $3, $4, $5, 'expanding', $6)`,
    [
      migration.name,
      migration.file,
      migration.checksum,
      JSON.stringify(migration),
      JSON.stringify(plan),
      baseline === undefined ? null : JSON.stringify(baseline),
    ],
  );
}

/** Moves the migration to another phase. */
export async function setPhase(client: Queryable, name: string, phase: Phase): Promise<void> {
  await client.query(
    `${MARKER} UPDATE pgpact.migrations SET phase = $2, updated_at = now() WHERE name = $1`,
    [name, phase],
  );
}

/** Records a one-time step as done (call inside the step's transaction). */
export async function markStepDone(client: Queryable, name: string, stepId: string): Promise<void> {
  await client.query(
    `${MARKER} UPDATE pgpact.migrations SET steps_done = array_append(steps_done, $2), updated_at = now() WHERE name = $1 AND NOT ($2 = ANY (steps_done))`,
    [name, stepId],
  );
}

/** Records the backfill progress of one table (call inside the batch's transaction). */
export async function saveBackfill(
  client: Queryable,
  name: string,
  key: string,
  progress: TableBackfill,
): Promise<void> {
  await client.query(
    `${MARKER} UPDATE pgpact.migrations SET backfill = jsonb_set(backfill, ARRAY[$2], $3::jsonb), updated_at = now() WHERE name = $1`,
    [name, key, JSON.stringify(progress)],
  );
}

/** Records a baseline taken after start (pg_stat_statements became readable only later). */
export async function saveBaseline(
  client: Queryable,
  name: string,
  baseline: Record<string, number>,
): Promise<void> {
  await client.query(`${MARKER} UPDATE pgpact.migrations SET baseline = $2 WHERE name = $1`, [
    name,
    JSON.stringify(baseline),
  ]);
}

/** Saves the statement counts seen by the last status or complete. */
export async function saveObservations(
  client: Queryable,
  name: string,
  observations: Record<string, StatementCounter>,
): Promise<void> {
  await client.query(`${MARKER} UPDATE pgpact.migrations SET observations = $2 WHERE name = $1`, [
    name,
    JSON.stringify(observations),
  ]);
}

/** Ends the migration: its row moves to the history (call inside the last step's transaction). */
export async function finishRecord(
  client: Queryable,
  name: string,
  outcome: 'completed' | 'rolled_back',
  forcedPast?: unknown,
): Promise<void> {
  await client.query(
    `${MARKER} WITH done AS (DELETE FROM pgpact.migrations WHERE name = $1 RETURNING *)
     INSERT INTO pgpact.migration_history (name, checksum, outcome, file, migration, started_at, forced_past)
     SELECT name, checksum, $2, file, migration, started_at, $3 FROM done`,
    [name, outcome, forcedPast === undefined ? null : JSON.stringify(forcedPast)],
  );
}
