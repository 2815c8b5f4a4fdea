import type { ColumnAccess, MapEdge } from '../../../src/server/api-types.js';

/** The visual tone of an edge: every tone also has a text label, never color alone. */
export type EdgeTone = 'ok' | 'unused' | 'undeclared' | 'beyond' | 'broken' | 'observed';

/** The tone that wins when an edge is several things at once (a break outranks the rest). */
export function edgeTone(e: MapEdge): EdgeTone {
  if (e.broken) return 'broken';
  switch (e.status) {
    case 'undeclared':
      return 'undeclared';
    case 'beyond-contract':
      return 'beyond';
    case 'unused':
      return 'unused';
    case 'observed':
      return 'observed';
    default:
      return 'ok';
  }
}

/** Words for an edge's status. */
export function statusText(e: MapEdge): string {
  switch (e.status) {
    case 'ok':
      return 'declared, observed';
    case 'unused':
      return 'declared, not observed';
    case 'undeclared':
      return 'undeclared';
    case 'beyond-contract':
      return 'beyond contract';
    case 'observed':
      return 'observed';
  }
}

/** The short label drawn on an edge; empty for a healthy declared read. */
export function edgeLabel(e: MapEdge): string {
  const parts: string[] = [];
  if (e.broken) parts.push('breaks');
  if (e.access === 'write') parts.push('writes');
  if (e.status === 'undeclared') parts.push('undeclared');
  if (e.status === 'beyond-contract') parts.push(`beyond contract: ${e.undeclaredColumns.length}`);
  if (e.status === 'unused') parts.push('not observed');
  return parts.join(' · ');
}

/** A sentence describing an edge, for tooltips and screen readers. */
export function edgeDescription(e: MapEdge): string {
  const verb = e.access === 'write' ? 'writes' : 'reads';
  const declared = e.declared
    ? `declared: ${e.declaredColumns === '*' ? 'all columns' : e.declaredColumns.join(', ') || 'the table'}`
    : 'no contract';
  const observed = e.observed
    ? `observed: ${e.observedColumns.join(', ') || 'the table'}${e.calls ? ` (${e.calls} calls)` : ''}`
    : 'not observed';
  const beyond = e.undeclaredColumns.length
    ? `; beyond the contract: ${e.undeclaredColumns.join(', ')}`
    : '';
  const broken = e.broken
    ? `; the loaded check report breaks it (${e.findings.map((f) => f.object).join(', ')})`
    : '';
  return `${e.service} ${verb} ${e.table} — ${statusText(e)}; ${declared}; ${observed}${beyond}${broken}`;
}

/** Words for one consumer of one column (without a manifest nothing is declared, so nothing is undeclared). */
export function accessText(a: ColumnAccess, hasManifest: boolean): string {
  if (a.declared && a.observed) return 'declared + observed';
  if (a.declared) return 'declared, not observed';
  return hasManifest ? 'observed, undeclared' : 'observed';
}
