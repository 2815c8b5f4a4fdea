/** The data provisioning works with: an ordered plan of SQL steps, and what applying it did. */
import type { Finding } from '../findings.js';

/** The kinds of plan steps, in the order a plan runs them. */
export const STEP_KINDS = [
  'create-role',
  'alter-role',
  'limit',
  'create-schema',
  'alter-owner',
  'revoke',
  'grant',
  'default-privileges',
] as const;

export type StepKind = (typeof STEP_KINDS)[number];

/** One SQL statement of a plan and why it is needed. */
export interface PlanStep {
  /** The statement as printed: a password appears as `PASSWORD '<redacted>'`. */
  sql: string;
  /** Why the step is needed, in words (for people reading a plan). */
  reason: string;
  kind: StepKind;
  /** Set on create-role steps: apply puts this role's password verifier in place of the redacted one. */
  passwordFor?: string;
  /**
   * Set on steps that take access away (revoke, alter-owner, alter-role): whose access, and
   * on what. `schema` absent: anything (a membership, superuser); `relation` absent: the
   * schema itself (USAGE); `columns` absent: the whole relation.
   */
  takes?: {
    grantee: string;
    schema?: string;
    relation?: string;
    columns?: string[];
    /** The privileges taken (absent: every one, as by an owner change or a membership). */
    privileges?: string[];
  };
  /** Access in use this step removes: each a view or an observed statement, naming its service. */
  inUse?: string[];
}

/** What planProvisioning returns: the steps that reach the manifest, and what it reports without granting. */
export interface ProvisionPlan {
  steps: PlanStep[];
  findings: Finding[];
}

/** One migration file that ran. */
export interface AppliedMigration {
  service: string;
  /** The file name inside the service's migrations folder. */
  file: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
  durationMs: number;
}

/** What applyProvisioning did. */
/** A service's migration files recorded as applied without running them (apply --baseline). */
export interface BaselinedFiles {
  service: string;
  files: string[];
  /** The other tool's history table that said which ones the database has (none: every file). */
  from?: string;
}

export interface ApplyResult {
  /** Every step that ran, over all rounds (a second round grants on tables new migrations created). */
  steps: PlanStep[];
  migrations: AppliedMigration[];
  /** Files recorded as applied without running them (apply --baseline). */
  baselined: BaselinedFiles[];
  /** Findings of the final plan (after migrations). */
  findings: Finding[];
  /** How many plan-and-apply rounds ran (1, or 2 when migrations ran). */
  rounds: number;
}

/** The literal a redacted password is printed as. */
export const REDACTED_PASSWORD = "PASSWORD '<redacted>'";
