/**
 * manifest + catalog → the ordered SQL that reaches the manifest from any
 * starting point (empty, brownfield, or provisioned for another manifest).
 *
 * Ordering: roles exist before anything names them (create-role, alter-role,
 * limit); schemas exist and belong to their owners before objects move
 * (create-schema, alter-owner); revokes run after ownership moved (Postgres
 * hands the old owner's entries to the new owner) and before grants (a
 * table-level REVOKE also takes that grantee's column grants); default
 * privileges come last, when every role they name exists.
 */
import { sortFindings } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { UsageSnapshot } from '../usage/types.js';
import { desiredAccess } from './access.js';
import { markAccessInUse } from './access-in-use.js';
import { planContext } from './context.js';
import { planDefaultPrivileges } from './defaults.js';
import { planGrants } from './grants.js';
import { planLimits } from './limits.js';
import { ownershipFindings } from './ownership-findings.js';
import { planOwnership } from './ownership.js';
import { planRoles } from './roles.js';
import { type PlanStep, type ProvisionPlan, STEP_KINDS } from './types.js';

/** What planning may also take into account. */
export interface PlanOptions {
  /** Observed usage (.pgpact/usage.json): revokes of access a statement uses are marked. */
  usage?: UsageSnapshot;
}

/**
 * Plans provisioning: a pure function of the manifest and a catalog snapshot (and observed
 * usage). Steps that take away access in use (a view's, an observed statement's) carry
 * `inUse` and a `revoke-in-use` finding.
 */
export function planProvisioning(
  manifest: Manifest,
  catalog: CatalogSnapshot,
  options: PlanOptions = {},
): ProvisionPlan {
  const ctx = planContext(manifest, catalog);
  const access = desiredAccess(ctx);
  const limits = planLimits(ctx);
  const roles = planRoles(ctx);
  const steps: PlanStep[] = [
    ...roles.steps,
    ...limits.steps,
    ...planOwnership(ctx),
    ...planGrants(ctx, access),
    ...planDefaultPrivileges(ctx, access),
  ];
  const rank = (step: PlanStep) => STEP_KINDS.indexOf(step.kind);
  // Array.prototype.sort is stable: within a kind, steps keep the order they were planned in.
  steps.sort((a, b) => rank(a) - rank(b));
  const inUse = markAccessInUse(ctx, access, steps, options.usage);
  return {
    steps,
    findings: sortFindings([
      ...access.findings,
      ...roles.findings,
      ...limits.findings,
      ...inUse,
      ...ownershipFindings(ctx),
    ]),
  };
}

/** Counts steps per kind, in plan order (for summaries). */
export function countByKind(steps: PlanStep[]): { kind: string; count: number }[] {
  return STEP_KINDS.map((kind) => ({
    kind,
    count: steps.filter((s) => s.kind === kind).length,
  })).filter((c) => c.count > 0);
}
