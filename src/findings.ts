/** A statement pgpact makes about a change, drift or runtime behaviour, shared by every feature. */

export type Severity = 'breaking' | 'warning' | 'info';

/** A service concerned by a finding, and how pgpact knows it: from its contract or from what it ran. */
export interface ConsumerRef {
  service: string;
  source: 'declared' | 'observed';
}

export interface Finding {
  severity: Severity;
  /** Stable kind, e.g. `column-dropped`, `undeclared-read`, `unowned-table`. */
  kind: string;
  /** The object: `schema`, `schema.table` or `schema.table.column`. */
  object: string;
  consumers: ConsumerRef[];
  /** Where the cause is written, `file:line`, when known. */
  location?: string;
  message: string;
  /** What to do instead or next. */
  suggestion?: string;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, breaking: 2 };

/** Whether a finding's severity reaches a threshold (`breaking` ≥ `warning` ≥ `info`). */
export function reaches(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] >= RANK[threshold];
}

/** Sorts findings most severe first, then by object and kind (stable output for tests and CI). */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => RANK[b.severity] - RANK[a.severity] || a.object.localeCompare(b.object) || a.kind.localeCompare(b.kind),
  );
}
