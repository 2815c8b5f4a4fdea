import type { Finding } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot, RelationInfo } from '../postgres/catalog-types.js';
import type { AppliedStatement, ResolvedTarget } from './apply-migration.js';
import { type ConsumerIndex, toConsumerRefs } from './consumers.js';
import type { Act, ActVerb } from './statement-acts.js';
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

/**
 * Lock-risk warnings for the migration's statements on relations that existed before it:
 * table rewrites (seen in the shadow as a new relfilenode), validating scans, index builds
 * without CONCURRENTLY, and files that take locks without a lock_timeout.
 */
export function assessLockRisks(statements: AppliedStatement[], ctx: LockRiskContext): Finding[] {
  const findings: Finding[] = [];
  const baseByOid = new Map(ctx.base.relations.map((r) => [r.oid, r]));
  const lockTimeoutSet = new Map<string, boolean>();
  const warnedFiles = new Set<string>();
  const roleHasTimeout = (s: AppliedStatement) =>
    (ctx.manifest.services.find((x) => x.name === s.service)?.limits.lockTimeoutMs ?? 0) > 0;

  for (const s of statements) {
    const file = s.statement.file;
    const setting = s.facts.setting;
    if (setting?.name === 'lock_timeout') {
      lockTimeoutSet.set(
        file,
        setting.value !== undefined && !/^0\s*(ms|s|min)?$/.test(setting.value.trim()),
      );
    }
    if (s.status !== 'applied' && s.status !== 'applied-as-admin') continue;
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
    const rewritten = new Set(s.rewritten.map((t) => t.oid));
    const rewriteWarned = new Set<number>();
    let locksExisting = false;
    s.facts.acts.forEach((act: Act, i) => {
      const t = s.targets[i];
      if (!t || t.oid === undefined || !baseByOid.has(t.oid)) return;
      if (LOCKING.has(act.verb)) locksExisting = true;
      if (rewritten.has(t.oid) && !rewriteWarned.has(t.oid)) {
        rewriteWarned.add(t.oid);
        const cause = s.facts.acts.find((a) => a.verb === 'alter-type')
          ? 'change the type through a new column: add it, backfill in batches, keep it in sync, switch (`pgpact migrate` with change_type)'
          : s.facts.acts.find((a) => a.verb === 'add-column' && a.callsInDefault)
            ? 'add the column without a volatile default, backfill it in batches, then set the default'
            : 'run it in a maintenance window, or rebuild the table without a long lock (e.g. pg_repack)';
        warn('table-rewrite', t, 'rewrites the whole table under an ACCESS EXCLUSIVE lock:', cause);
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
      !roleHasTimeout(s) &&
      !warnedFiles.has(file)
    ) {
      warnedFiles.add(file);
      const first = s.targets.find((t) => t?.oid !== undefined && baseByOid.has(t.oid));
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
  return findings;
}
