/** Observed usage: what each role actually read and wrote, from pg_stat_statements. Saved as .pgpact/usage.json. */

/** How often and how heavily something was accessed. */
export interface AccessCount {
  calls: number;
  rows: number;
  totalTimeMs: number;
}

/** One distinct statement a role ran, with what it touches. */
export interface StatementUsage {
  queryId: string;
  query: string;
  calls: number;
  rows: number;
  totalTimeMs: number;
  /** 'schema.table.column' read / written. */
  reads: string[];
  writes: string[];
  /** 'schema.table' read / written (count(*) reads a relation with no column). */
  relationsRead: string[];
  relationsWritten: string[];
  warnings: string[];
}

/** Everything one database role did in the window. */
export interface RoleUsage {
  role: string;
  /** The manifest service using this role, if any. */
  service?: string;
  /** 'schema.table.column' → counts. */
  reads: Record<string, AccessCount>;
  writes: Record<string, AccessCount>;
  /** 'schema.table' → counts. */
  relationsRead: Record<string, AccessCount>;
  relationsWritten: Record<string, AccessCount>;
  statements: StatementUsage[];
}

/** The file format of .pgpact/usage.json (documented interface, versioned). */
export interface UsageSnapshot {
  version: 1;
  database: string;
  /** ISO timestamp the snapshot was taken. */
  takenAt: string;
  /** ISO timestamp the observed window started, when it was a delta. */
  windowStart?: string;
  roles: RoleUsage[];
}
