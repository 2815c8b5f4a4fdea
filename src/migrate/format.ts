import type { OldShapeUse } from './consumers.js';
import { tableKey } from './names.js';
import type { MigrationStatus } from './status.js';
import type { TableBackfill } from './types.js';

/** Text renderings of migration results for the CLI (the core returns data; this only formats it). */

const PHASES: Record<string, string> = {
  expanding: 'expanding (adding the new shape; start was interrupted: rerun start)',
  backfilling: 'backfilling (rerun start to resume if no start is running)',
  validating: 'validating constraints and building indexes',
  active: 'active: old and new shape both live, kept in sync by triggers',
  completing: 'completing (rerun complete to finish)',
  rolling_back: 'rolling back (rerun rollback to finish)',
};

/** `1,234,567`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** One line of backfill progress. */
export function backfillLine(b: TableBackfill): string {
  const total = Math.max(b.rowsTotal, b.rowsDone);
  const pct = total === 0 ? 100 : Math.min(100, Math.floor((b.rowsDone / total) * 100));
  return `${tableKey(b.table)}: ${count(b.rowsDone)} / ${count(total)} rows (${b.done ? 'done' : `${pct}%`})`;
}

/** A progress bar for stderr: `[#####.....] 45% users.account 450,000/1,000,000 rows, 120,000 rows/s`. */
export function progressBar(
  b: TableBackfill,
  rowsPerSecond: number | undefined,
  width = 24,
): string {
  const total = Math.max(b.rowsTotal, b.rowsDone, 1);
  const ratio = b.done ? 1 : Math.min(1, b.rowsDone / total);
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${tableKey(b.table)} ${count(b.rowsDone)}/${count(total)} rows${rowsPerSecond === undefined ? '' : `, ${count(rowsPerSecond)} rows/s`}`;
}

function shorten(query: string, max = 100): string {
  const one = query.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The lines describing one use of the old shape. */
export function useLines(u: OldShapeUse, indent = '  '): string[] {
  const who = u.service ?? u.object ?? `role ${u.role}`;
  const verb = u.access === 'read' ? 'reads' : 'writes';
  const lines = [
    `${indent}${who} (${u.source}${u.server ? ` on replica ${u.server}` : ''}${u.blocking ? '' : ', not blocking'}): ${verb} ${u.columns.join(', ')}${u.location ? `  [${u.location}]` : ''}`,
  ];
  if (u.statement) {
    const s = u.statement;
    const quiet = u.blocking
      ? `its count last changed by ${s.lastChangeSeenAt.slice(11, 19)} UTC; it stops blocking once unchanged until ${s.quietUntil?.slice(11, 19) ?? '?'} UTC (--quiet-for) and status/complete run again`
      : `quiet since ${s.lastChangeSeenAt.slice(11, 19)} UTC`;
    lines.push(
      `${indent}  ${shorten(s.query)}  (${count(s.callsSinceStart)} calls since start; ${quiet})`,
    );
  }
  lines.push(`${indent}  needs: ${u.change}`);
  return lines;
}

/** The full `pgpact migrate status` text. */
export function formatStatus(s: MigrationStatus): string {
  const lines = [
    `migration ${s.name}  (${s.file})`,
    `  started ${s.startedAt}, phase ${PHASES[s.phase] ?? s.phase}`,
  ];
  if (s.backfill.length > 0)
    lines.push('backfill:', ...s.backfill.map((b) => `  ${backfillLine(b)}`));
  const blocking = s.oldShape.filter((o) => o.blocking);
  if (blocking.length > 0) {
    lines.push('old shape removed by complete:');
    for (const o of blocking)
      lines.push(
        `  ${tableKey(o.table)}.${o.column}${o.replacedBy.length > 0 ? ` -> ${o.replacedBy.join(', ')}` : ' (dropped)'}  (${o.operation})`,
      );
  }
  const c = s.consumers;
  if (!c.declared) lines.push('declared consumers: not checked (no manifest; pass --config FILE)');
  if (!c.observation.available)
    lines.push(`observed consumers: not checked (${c.observation.reason})`);
  if (c.uses.length === 0) lines.push('no consumer uses the old shape');
  else lines.push('still using the old shape:', ...c.uses.flatMap((u) => useLines(u)));
  if (c.unaffected.length > 0)
    lines.push(`not affected: ${c.unaffected.map((u) => `${u.service} (${u.table})`).join(', ')}`);
  for (const note of s.notes) lines.push(`note: ${note}`);
  const blockers = [
    ...new Set(
      c.uses.filter((u) => u.blocking).map((u) => u.service ?? u.object ?? `role ${u.role}`),
    ),
  ];
  for (const b of s.rollbackBlockers ?? [])
    lines.push(`rollback blocked: ${b.object} depends on ${b.uses}; drop or redefine it first`);
  lines.push(
    s.phase === 'rolling_back'
      ? 'next: pgpact migrate rollback finishes the rollback (start and complete wait for it)'
      : s.phase === 'completing'
        ? 'next: pgpact migrate complete finishes the complete (the old shape is partly gone)'
        : s.phase !== 'active'
          ? `complete: not yet (phase ${s.phase}); next: pgpact migrate start ${s.file} resumes the start, pgpact migrate rollback undoes it`
          : blockers.length > 0
            ? `complete: blocked by ${blockers.join(', ')}`
            : !c.observation.available
              ? 'complete: refused until observed consumers can be checked (see above), or with --force'
              : 'complete: ready (pgpact migrate complete)',
  );
  return `${lines.join('\n')}\n`;
}
