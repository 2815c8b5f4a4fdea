import type { OldShapeUse } from './consumers.js';
import { tableKey } from './names.js';
import { backfillFraction } from './progress.js';
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

/** `1h02m`, `3m05s`, `12s`. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Figures older than this come from a start that no longer runs (a running one saves them at least every 500 ms). */
const STALE_PACE_MS = 30_000;

/** Rate, ETA and throttling of a running backfill: `120,000 rows/s, ETA 45s, throttled 12s (now: replica lag ...)`. */
export function paceText(b: TableBackfill, now = Date.now()): string {
  const p = b.pace;
  if (!p) return '';
  const parts: string[] = [];
  if (p.rowsPerSecond !== undefined) parts.push(`${count(p.rowsPerSecond)} rows/s`);
  if (!b.done && p.etaSeconds !== undefined) parts.push(`ETA ${shortDuration(p.etaSeconds)}`);
  if (p.throttledMs >= 1000 || p.throttledBy)
    parts.push(`throttled ${shortDuration(p.throttledMs / 1000)}`);
  if (p.throttledBy) parts.push(`waiting: ${p.throttledBy}`);
  else if (p.backoff) parts.push(`backing off: ${p.backoff}`);
  // A start killed or stopped leaves its last figures: say how old they are.
  if (parts.length > 0 && !b.done && now - Date.parse(p.at) > STALE_PACE_MS)
    parts.push(`as of ${p.at.slice(11, 19)} UTC, no batch since`);
  return parts.join(', ');
}

/** One line of backfill progress. */
export function backfillLine(b: TableBackfill): string {
  const total = Math.max(b.rowsTotal, b.rowsDone);
  const pct = Math.floor(backfillFraction(b) * 100);
  const pace = b.done ? '' : paceText(b);
  return `${tableKey(b.table)}: ${count(b.rowsDone)} / ${count(total)} rows (${b.done ? 'done' : `${pct}%`})${pace ? `, ${pace}` : ''}`;
}

/**
 * A progress bar for stderr: `[#####.....] 45% users.account 450,000/1,000,000 rows, 120,000 rows/s, ETA 5s`.
 * Its fill is the walk's position (key or page), so it reaches its end when the backfill does.
 */
export function progressBar(b: TableBackfill, width = 24): string {
  const total = Math.max(b.rowsTotal, b.rowsDone, 1);
  const ratio = backfillFraction(b);
  const filled = Math.round(ratio * width);
  const pace = paceText(b);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${tableKey(b.table)} ${count(b.rowsDone)}/${count(total)} rows${pace ? `, ${pace}` : ''}`;
}

function shorten(query: string, max = 100): string {
  const one = query.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The lines describing one use of the old shape. */
export function useLines(u: OldShapeUse, indent = '  '): string[] {
  const who = u.service ?? u.object ?? `role ${u.role}`;
  const verb = u.access === 'read' ? 'reads' : 'writes';
  const used = u.columns.filter((c) => !u.omitted?.includes(c));
  const what = [
    ...(used.length > 0 ? [`${verb} ${used.join(', ')}`] : []),
    ...(u.omitted?.length ? [`inserts rows without ${u.omitted.join(', ')}`] : []),
  ].join('; ');
  const lines = [
    `${indent}${who} (${u.source}${u.server ? ` on replica ${u.server}` : ''}${u.blocking ? '' : ', not blocking'}): ${what}${u.location ? `  [${u.location}]` : ''}`,
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
  if (s.moved.length > 0) {
    lines.push('moved (a view keeps the old name until complete drops it):');
    for (const m of s.moved) lines.push(`  ${tableKey(m.from)} -> ${tableKey(m.to)}`);
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
