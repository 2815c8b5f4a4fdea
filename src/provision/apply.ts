/**
 * Applies provisioning: the plan in one transaction, then pending migrations,
 * then a second plan for what they created, then proof that nothing is left.
 */
import { isServerError, PgpactError, PostgresError } from '../errors.js';
import type { Problem } from '../errors.js';
import { checkManifestAgainstCatalog } from '../manifest/check-against-catalog.js';
import { escapeUnsafe } from '../manifest/names.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { UsageSnapshot } from '../usage/types.js';
import { readCatalog } from '../postgres/catalog.js';
import {
  type Queryable,
  withAdvisoryLock,
  withClient,
  withTransaction,
} from '../postgres/client.js';
import { quoteLiteral } from '../postgres/quote.js';
import { newRolePassword, saveRolePasswords } from './credentials.js';
import { printableSql } from './format-plan.js';
import { baselineMigrations } from './migration-baseline.js';
import {
  APPLY_LOCK_KEY,
  MigrationFailedError,
  pendingMigrations,
  runPendingMigrations,
} from './migration-folders.js';
import { planProvisioning } from './plan.js';
import { scramVerifier } from './scram.js';
import {
  type ApplyResult,
  type AppliedMigration,
  type PlanStep,
  type ProvisionPlan,
  REDACTED_PASSWORD,
} from './types.js';

export interface ApplyOptions {
  /** Where generated passwords are kept (default: the embedded server's state directory). */
  stateDir?: string;
  /** Called before each step runs; throwing aborts the apply (everything rolls back). */
  onStep?: (step: PlanStep) => void;
  /** How long a step may wait for a lock a running service holds (default 10 s). */
  lockTimeoutMs?: number;
  /** Observed usage (.pgpact/usage.json): a revoke of access a statement uses is refused. */
  usage?: UsageSnapshot;
  /** Apply even when a step takes away access in use (a view's or an observed statement's). */
  allowRevoke?: boolean;
  /**
   * Record the migration files the database already has (per another tool's history table,
   * else all of them) as applied without running them, for services pgpact recorded nothing of.
   */
  baseline?: boolean;
}

/** The statement a step runs: a create-role step gets a fresh SCRAM verifier in place of the redacted password. */
function executableSql(step: PlanStep, passwords: Record<string, string>): string {
  if (step.passwordFor === undefined) return step.sql;
  if (!step.sql.endsWith(REDACTED_PASSWORD))
    throw new Error(`create-role step without a password clause: ${step.sql}`);
  const { password, generated } = newRolePassword(step.passwordFor);
  if (generated) passwords[step.passwordFor] = password;
  return `${step.sql.slice(0, -REDACTED_PASSWORD.length)}PASSWORD ${quoteLiteral(scramVerifier(password))}`;
}

/**
 * Runs the steps in one transaction: all or nothing. Generated passwords are saved before
 * COMMIT. With `regrant`, the plan is made again inside the transaction after the steps and
 * its grant steps run too: a `REVOKE … CASCADE` also drops the grants its grantee passed on,
 * declared ones among them, and those are given back before anything commits. Returns
 * every step that ran.
 */
export async function applySteps(
  client: Queryable,
  adminUrl: string,
  steps: PlanStep[],
  options: ApplyOptions = {},
  regrant?: (tx: Queryable) => Promise<PlanStep[]>,
): Promise<PlanStep[]> {
  if (steps.length === 0) return [];
  const passwords: Record<string, string> = {};
  const ran = [...steps];
  await withTransaction(client, async (tx) => {
    await tx.query(
      `SET LOCAL lock_timeout = ${quoteLiteral(`${options.lockTimeoutMs ?? 10_000}ms`)}`,
    );
    await runSteps(tx, steps, passwords, options);
    if (regrant && steps.some((s) => s.kind === 'revoke' && s.sql.endsWith(' CASCADE'))) {
      const again = (await regrant(tx)).filter((s) => s.kind === 'grant');
      await runSteps(tx, again, passwords, options);
      ran.push(...again);
    }
    saveRolePasswords(adminUrl, passwords, options.stateDir);
  });
  return ran;
}

async function runSteps(
  tx: Queryable,
  steps: PlanStep[],
  passwords: Record<string, string>,
  options: ApplyOptions,
): Promise<void> {
  for (const [i, step] of steps.entries()) {
    options.onStep?.(step);
    try {
      await tx.query(executableSql(step, passwords));
    } catch (error) {
      if (!isServerError(error)) throw error;
      const { code, detail, hint, position, where, schema, table, column, constraint } = error;
      const waited =
        code === '55P03'
          ? ' (a running service holds a lock on it; try again when it is quieter)'
          : '';
      throw new PostgresError(
        `step ${i + 1} of ${steps.length} (${step.kind}: ${escapeUnsafe(step.reason)}) failed: ${error.message}${waited}; everything was rolled back`,
        { code, detail, hint, position, where, schema, table, column, constraint },
        step.sql,
        error,
      );
    }
  }
}

/**
 * Provisions the database for the manifest: plan from a fresh catalog → steps in one
 * transaction → pending migrations → plan and apply again if they ran → re-read and
 * fail with APPLY_INCOMPLETE if anything is left. Holds an advisory lock throughout.
 */
export async function applyProvisioning(
  adminUrl: string,
  manifest: Manifest,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return withClient(
    adminUrl,
    (client) =>
      withAdvisoryLock(
        client,
        APPLY_LOCK_KEY,
        () => applyLocked(client, adminUrl, manifest, options),
        () =>
          new PgpactError('APPLY_IN_PROGRESS', 'another pgpact apply is running on this database', {
            hint: 'wait for it to finish, then apply again',
          }),
      ),
    { applicationName: 'pgpact apply' },
  );
}

async function planFresh(
  client: Queryable,
  manifest: Manifest,
  options: ApplyOptions,
  catalog?: CatalogSnapshot,
): Promise<ProvisionPlan> {
  return planProvisioning(manifest, catalog ?? (await readCatalog(client)), {
    ...(options.usage === undefined ? {} : { usage: options.usage }),
  });
}

/**
 * Contracts naming a table or column the database does not have: an error, never a
 * revoke of the real column. Schemas whose owner has pending migrations are skipped
 * (`later`) until those ran: they may create what the contract names.
 */
function refuseMissingContracts(
  manifest: Manifest,
  catalog: CatalogSnapshot,
  later: Set<string> = new Set(),
): void {
  const checked: Manifest = {
    ...manifest,
    services: manifest.services.map((s) => ({
      ...s,
      reads: s.reads.filter((c) => !later.has(c.schema)),
      writes: s.writes.filter((c) => !later.has(c.schema)),
    })),
  };
  const problems: Problem[] = checkManifestAgainstCatalog(checked, catalog);
  if (problems.length === 0) return;
  throw new PgpactError(
    'CONTRACT_MISMATCH',
    `${problems.length === 1 ? 'a contract names' : `${problems.length} contracts name`} what the database does not have: nothing was changed`,
    {
      problems,
      hint: 'fix the names in pgpact.yaml (each problem says the closest existing one), or let the owner create them first',
    },
  );
}

/** Refuses (before anything changed) a plan that takes away access in use, unless allowed. */
function refuseRevokesInUse(plan: ProvisionPlan, options: ApplyOptions): void {
  const taking = plan.steps.filter((s) => s.inUse !== undefined && s.inUse.length > 0);
  if (taking.length === 0 || options.allowRevoke) return;
  throw new PgpactError(
    'REVOKE_IN_USE',
    `apply would take away access in use (${taking.length} step(s)); nothing was changed`,
    {
      detail: taking
        .map(
          (s) =>
            `${printableSql(s.sql)};\n${s.inUse!.map((u) => `  in use: ${escapeUnsafe(u)}`).join('\n')}`,
        )
        .join('\n'),
      hint: "declare the access in the consumer's reads: (or fix a misspelt contract), or run apply --allow-revoke when it should go",
    },
  );
}

async function applyLocked(
  client: Queryable,
  adminUrl: string,
  manifest: Manifest,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const ran: PlanStep[] = [];
  // Before anything changes: a folder another tool already ran is recorded, or refused.
  const baselined = await baselineMigrations(client, manifest, options.baseline === true);
  const catalog = await readCatalog(client);
  const pendingOwners = new Set(
    (await pendingMigrations(client, manifest)).flatMap(
      (m) => manifest.services.find((s) => s.name === m.service)?.owns ?? [],
    ),
  );
  refuseMissingContracts(manifest, catalog, pendingOwners);
  const first = await planFresh(client, manifest, options, catalog);
  refuseRevokesInUse(first, options);
  const regrant = async (tx: Queryable) => (await planFresh(tx, manifest, options)).steps;
  ran.push(...(await applySteps(client, adminUrl, first.steps, options, regrant)));

  let migrations: AppliedMigration[] = [];
  let migrationError: unknown;
  try {
    migrations = await runPendingMigrations(client, manifest);
  } catch (error) {
    migrationError = error;
    migrations = error instanceof MigrationFailedError ? error.applied : [];
  }
  let rounds = 1;
  if (migrations.length > 0 || migrationError !== undefined) {
    // What the migrations created needs its grants; do it even when a later file failed.
    rounds = 2;
    try {
      if (migrationError === undefined) refuseMissingContracts(manifest, await readCatalog(client));
      const second = await planFresh(client, manifest, options);
      ran.push(...(await applySteps(client, adminUrl, second.steps, options, regrant)));
    } catch (error) {
      throw migrationError ?? error;
    }
  }
  if (migrationError !== undefined) throw migrationError;

  const final = await planFresh(client, manifest, options);
  if (final.steps.length > 0) {
    throw new PgpactError(
      'APPLY_INCOMPLETE',
      `after apply, ${final.steps.length} step(s) are still planned: the database did not reach the manifest`,
      {
        detail: final.steps
          .map((s) => `${printableSql(s.sql)};  -- ${escapeUnsafe(`${s.kind}: ${s.reason}`)}`)
          .join('\n'),
        hint: 'another session may have changed privileges meanwhile, or pgpact cannot express this change; run pgpact plan to see it',
      },
    );
  }
  return { steps: ran, migrations, baselined, findings: final.findings, rounds };
}
