/**
 * pgpact as a library: `import { … } from 'pgpact'`. This module is the one public
 * surface; anything not exported here is internal and may change. Every function
 * returns data or throws a PgpactError (stable `code`); none prints or exits.
 */

// Errors and findings: what every function may throw, and what checks report.
export {
  type ErrorCode,
  PgpactError,
  PostgresError,
  type PostgresErrorFields,
  type Problem,
} from './errors.js';
export { type ConsumerRef, type Finding, reaches, type Severity } from './findings.js';

// The manifest: pgpact.yaml → a validated Manifest (every problem at once).
export { loadManifest, parseManifest } from './manifest/load.js';
export type {
  Contract,
  Enforcement,
  Limits,
  Manifest,
  Service,
  SourceLocation,
} from './manifest/types.js';
export { checkManifestAgainstCatalog } from './manifest/check-against-catalog.js';
// Who owns a relation: its schema owned whole, or a table pattern in a shared schema.
export { type Ownership, ownerOfTable, ownershipOf } from './manifest/ownership.js';

// Postgres: scoped connections, the catalog, the embedded server under .pgpact/.
export { type Queryable, withClient, withTransaction } from './postgres/client.js';
export { readCatalog } from './postgres/catalog.js';
export type {
  CatalogSnapshot,
  ColumnInfo,
  RelationInfo,
  RoleInfo,
  SchemaInfo,
} from './catalog-types.js';
export {
  defaultStateDir,
  embeddedStatus,
  ensureEmbeddedServer,
  stopEmbeddedServer,
} from './postgres/embedded.js';

// Provisioning: manifest + catalog → steps → one transaction.
export { planProvisioning } from './provision/plan.js';
export { type ApplyOptions, applyProvisioning } from './provision/apply.js';
export type {
  AppliedMigration,
  ApplyResult,
  PlanStep,
  ProvisionPlan,
  StepKind,
} from './provision/types.js';

// Statement analysis: the relations and columns each statement reads and writes.
export { loadParser } from './sql/parse.js';
export { type CatalogIndex, createCatalogIndex } from './sql/catalog-index.js';
export {
  type AnalyzeOptions,
  analyzeScript,
  analyzeStatement,
  type ScriptStatementAnalysis,
  type StatementAnalysis,
} from './sql/analyze.js';

// Observed usage: pg_stat_statements → usage per service → findings.
export { type ObserveOptions, type ObserveResult, observeUsage } from './usage/observe.js';
export { loadUsage, saveUsage } from './usage/store.js';
export type { UsageSnapshot } from './usage/types.js';

// The migration gate: shadow database → catalog diff → consumers → findings.
export {
  type CheckOptions,
  type CheckReport,
  type CheckTimings,
  runCheck,
} from './impact/run-check.js';
export type { ShadowBaseReuse } from './impact/shadow-cache.js';
export type { Change, ChangeKind } from './impact/change.js';
export {
  blocks,
  type CheckJson,
  formatMarkdown,
  formatText,
  type ReportInput,
  toCheckJson,
} from './impact/format-report.js';
export { type SarifLog, toSarif } from './impact/format-sarif.js';

// Expand/contract migrations.
export { loadMigration, parseMigration } from './migrate/parse.js';
export { type StartResult, startMigration } from './migrate/start.js';
export { type MigrationStatus, migrationStatus } from './migrate/status.js';
export {
  type CompleteOptions,
  type CompleteResult,
  completeMigration,
  MigrationBlockedError,
} from './migrate/complete.js';
export { type RollbackResult, rollbackMigration } from './migrate/rollback.js';
export type { Migration, Operation, Phase, RunOptions, TableBackfill } from './migrate/types.js';
export type { ConsumerAssessment } from './migrate/assess.js';
export type { OldShapeUse } from './migrate/consumers.js';

// Runtime attribution: samples of sessions, locks and statements per service.
export { RuntimeSampler, type SamplerOptions } from './runtime/sampler.js';
export { type MonitorOptions, RuntimeMonitor, type RuntimeReport } from './runtime/monitor.js';
export type { RuntimeSample, ServiceRuntime } from './runtime/types.js';
