import type { Finding } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import type { AppliedStatement, ResolvedTarget } from './apply-migration.js';
import { type ConsumerIndex, toConsumerRefs } from './consumers.js';
import type { Act, ActVerb } from '../sql/ddl-facts.js';
import { statementLocation } from './statement-index.js';

/** Verbs that lock an existing relation (ACCESS EXCLUSIVE for most ALTERs, SHARE for CREATE INDEX). */
const LOCKING: Set<ActVerb> = new Set([
  'add-column',
  'drop-column',
  'rename-column',
  'rename-relation',
  'set-schema',
  'alter-type',
  'set-not-null',
  'drop-not-null',
  'drop-default',
  'set-default',
  'add-constraint',
  'drop-constraint',
  'validate-constraint',
  'alter-table',
  'drop-relation',
  'replace-view',
  'create-index',
  'truncate',
]);

function humanBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** The table's size as the message shows it, or why it is unknown. */
export function sizeText(rel: RelationInfo | undefined, sizesKnown: boolean): string {
  if (!rel || !sizesKnown) return 'size unknown: the shadow database has the schema, not the data';
  const rows =
    rel.estimatedRows < 0 ? 'never analyzed' : `≈${rel.estimatedRows.toLocaleString('en-US')} rows`;
  return `${rows}, ${humanBytes(rel.sizeBytes)}`;
}

function hasValidatedNotNullCheck(rel: RelationInfo | undefined, column: string): boolean {
  if (!rel) return false;
  const patterns = [`(${column} IS NOT NULL)`, `("${column.replaceAll('"', '""')}" IS NOT NULL)`];
  return rel.constraints.some(
    (k) => k.type === 'c' && k.validated && patterns.some((p) => k.definition.includes(p)),
  );
}

export interface LockRiskContext {
  base: CatalogSnapshot;
  /** Whether the base catalog's sizes describe real data (a live database), not an empty shadow. */
  sizesKnown: boolean;
  manifest: Manifest;
  consumers: ConsumerIndex;
}

/** Whether a lock_timeout / statement_timeout value is set to something other than 0. */
function nonZero(value: string | undefined): boolean {
  return value !== undefined && !/^0\s*(ms|s|min)?$/.test(value.trim());
}

/**
 * The relations a statement that did not run names, resolved by name in the base catalog
 * (its schema, else the schema unqualified names went to before, else public).
 */
function staticTargets(
  s: AppliedStatement,
  base: CatalogSnapshot,
  schema: string | undefined,
): (ResolvedTarget | undefined)[] {
  return s.facts.acts.map((a) => {
    if (!a.rel) return undefined;
    const wanted = a.rel.schema ?? schema ?? 'public';
    const r = base.relations.find((x) => x.name === a.rel!.name && x.schema === wanted);
    return r ? { schema: r.schema, name: r.name, oid: r.oid } : undefined;
  });
}

/** Why a statement that did not run would rewrite its table, read from its parse tree. */
function predictedRewrite(acts: Act[]): string | undefined {
  if (acts.some((a) => a.verb === 'alter-type')) return 'alter-type';
  if (acts.some((a) => a.verb === 'add-column' && a.rewritesTable)) return 'add-column';
  return undefined;
}

const REWRITE_ADVICE: Record<string, string> = {
  'alter-type':
    'change the type through a new column: add it, backfill in batches, keep it in sync, switch (`pgpact migrate` with change_type)',
  'add-column':
    'add the column without a volatile default, backfill it in batches, then set the default',
  other:
    'run it in a maintenance window, or rebuild the table without a long lock (e.g. pg_repack)',
};

/**
 * Lock-risk warnings for the migration's statements on relations that existed before it:
 * table rewrites (seen in the shadow as a new relfilenode; predicted from the parse tree
 * for statements that did not run), validating scans, index builds without CONCURRENTLY,
 * and files that take locks without a lock_timeout (or hold them long without a
 * statement_timeout). Statements that failed, or never ran after a failure, are assessed
 * too: fixing the failure does not fix them.
 */
export function assessLockRisks(statements: AppliedStatement[], ctx: LockRiskContext): Finding[] {
  const findings: Finding[] = [];
  const baseByOid = new Map(ctx.base.relations.map((r) => [r.oid, r]));
  const lockTimeoutSet = new Map<string, boolean>();
  const statementTimeoutSet = new Map<string, boolean>();
  const warnedFiles = new Set<string>();
  const longLockFiles = new Map<string, { s: AppliedStatement; t: ResolvedTarget }>();
  const limitsOf = (s: AppliedStatement) =>
    ctx.manifest.services.find((x) => x.name === s.service)?.limits;
  let lastSchema: string | undefined;

  for (const s of statements) {
    const file = s.statement.file;
    const setting = s.facts.setting;
    if (setting?.name === 'lock_timeout') lockTimeoutSet.set(file, nonZero(setting.value));
    if (setting?.name === 'statement_timeout')
      statementTimeoutSet.set(file, nonZero(setting.value));
    if (s.currentSchema) lastSchema = s.currentSchema;
    const ran = s.status === 'applied' || s.status === 'applied-as-admin';
    const targets = s.status === 'not-run' ? staticTargets(s, ctx.base, lastSchema) : s.targets;
    const location = statementLocation(s);
    const usersOf = (t: ResolvedTarget) =>
      toConsumerRefs(ctx.consumers.usersOfTable(t.schema, t.name));
    const warn = (kind: string, t: ResolvedTarget, what: string, suggestion: string) => {
      const rel = baseByOid.get(t.oid!);
      const consumers = usersOf(t);
      const blocked =
        consumers.length > 0
          ? `; queries of ${consumers.map((c) => c.service).join(', ')} on it wait meanwhile`
          : '';
      if (
        !longLockFiles.has(file) &&
        !statementTimeoutSet.get(file) &&
        (limitsOf(s)?.statementTimeoutMs ?? 0) <= 0
      )
        longLockFiles.set(file, { s, t });
      findings.push({
        severity: 'warning',
        kind,
        object: `${t.schema}.${t.name}`,
        consumers,
        location,
        message: `${what} ${t.schema}.${t.name} (${sizeText(rel, ctx.sizesKnown)})${blocked}`,
        suggestion,
      });
    };
    // Observed in the shadow when the statement ran; predicted from the parse tree otherwise.
    const rewritten = new Set(
      ran
        ? s.rewritten.map((t) => t.oid)
        : predictedRewrite(s.facts.acts)
          ? targets.map((t) => t?.oid)
          : [],
    );
    const rewriteCause = ran
      ? (predictedRewrite(s.facts.acts) ??
        (s.facts.acts.some((a) => a.verb === 'add-column' && a.callsInDefault)
          ? 'add-column'
          : 'other'))
      : (predictedRewrite(s.facts.acts) ?? 'other');
    const rewriteWarned = new Set<number>();
    // VACUUM FULL and CLUSTER are the rewrite-command lint.
    const rewriteByCommand =
      s.statement.type === 'ClusterStmt' || s.statement.type === 'VacuumStmt';
    let locksExisting = false;
    s.facts.acts.forEach((act: Act, i) => {
      const t = targets[i];
      if (!t || t.oid === undefined || !baseByOid.has(t.oid)) return;
      if (LOCKING.has(act.verb)) locksExisting = true;
      if (rewritten.has(t.oid) && !rewriteWarned.has(t.oid) && !rewriteByCommand) {
        rewriteWarned.add(t.oid);
        warn(
          'table-rewrite',
          t,
          ran
            ? 'rewrites the whole table under an ACCESS EXCLUSIVE lock:'
            : 'would rewrite the whole table under an ACCESS EXCLUSIVE lock (predicted: the statement did not run):',
          REWRITE_ADVICE[rewriteCause]!,
        );
      }
      const rel = baseByOid.get(t.oid);
      if (
        act.verb === 'set-not-null' &&
        !rewritten.has(t.oid) &&
        act.column &&
        !hasValidatedNotNullCheck(rel, act.column)
      ) {
        warn(
          'validating-scan',
          t,
          `SET NOT NULL on ${act.column} scans the whole table under an ACCESS EXCLUSIVE lock:`,
          `ADD CONSTRAINT ... CHECK (${act.column} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT (reads and writes go on), then SET NOT NULL (no scan)`,
        );
      }
      if (
        act.verb === 'add-constraint' &&
        !act.notValid &&
        (act.constraintKind === 'check' || act.constraintKind === 'foreign')
      ) {
        warn(
          'validating-scan',
          t,
          `ADD ${act.constraintKind === 'check' ? 'CHECK' : 'FOREIGN KEY'} validates every row while holding a lock that blocks writes:`,
          'add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction (it does not block reads or writes)',
        );
      }
      if (
        act.verb === 'add-constraint' &&
        !act.usingIndex &&
        ['unique', 'primary', 'exclusion'].includes(act.constraintKind ?? '')
      ) {
        warn(
          'index-without-concurrently',
          t,
          `ADD ${act.constraintKind === 'primary' ? 'PRIMARY KEY' : act.constraintKind === 'unique' ? 'UNIQUE' : 'EXCLUDE'} builds its index under an ACCESS EXCLUSIVE lock:`,
          'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX',
        );
      }
      if (act.verb === 'create-index' && !act.concurrently) {
        warn(
          'index-without-concurrently',
          t,
          'CREATE INDEX without CONCURRENTLY blocks every write while it builds on',
          'CREATE INDEX CONCURRENTLY (outside a transaction block)',
        );
      }
    });
    if (
      locksExisting &&
      !lockTimeoutSet.get(file) &&
      (limitsOf(s)?.lockTimeoutMs ?? 0) <= 0 &&
      !warnedFiles.has(file)
    ) {
      warnedFiles.add(file);
      const first = targets.find((t) => t?.oid !== undefined && baseByOid.has(t.oid));
      findings.push({
        severity: 'warning',
        kind: 'missing-lock-timeout',
        object: first ? `${first.schema}.${first.name}` : file,
        consumers: first ? usersOf(first) : [],
        location,
        message: `${file} takes locks on existing tables without lock_timeout: the statement waits behind any long transaction and every other query on the table queues behind it`,
        suggestion:
          "SET lock_timeout = '2s' at the top of the file and retry on timeout, or set lock_timeout in the service's limits",
      });
    }
  }
  for (const [file, { s, t }] of longLockFiles) {
    findings.push({
      severity: 'warning',
      kind: 'missing-statement-timeout',
      object: `${t.schema}.${t.name}`,
      consumers: toConsumerRefs(ctx.consumers.usersOfTable(t.schema, t.name)),
      location: statementLocation(s),
      message: `${file} holds a lock on ${t.schema}.${t.name} for as long as a scan, rewrite or index build takes, with no statement_timeout to bound it (${sizeText(baseByOid.get(t.oid!), ctx.sizesKnown)})`,
      suggestion:
        "SET statement_timeout at the top of the file (a bound you accept other services waiting for), or set statement_timeout in the service's limits",
    });
  }
  return findings;
}
