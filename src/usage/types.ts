/** Observed usage: what each role actually read and wrote, from pg_stat_statements. Saved as .pgpact/usage.json. */
import type { OwnRoleKind } from '../postgres/own-roles.js';

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
  /** Why the statement could not be analyzed (syntax error, truncated or missing text), if so. */
  error?: string;
  /** The replica it ran on (`observe --replica`); absent: the primary. */
  server?: string;
}

/** Everything one database role did in the window. */
export interface RoleUsage {
  role: string;
  /** The manifest service using this role, if any. */
  service?: string;
  /** Set when the role is pgpact's own or the admin's (never a service, consumer or unknown role). */
  pgpactRole?: OwnRoleKind;
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
  /** How the window was taken: a delta since the previous snapshot, everything since the last reset, or an exported file. */
  mode?: 'delta' | 'since-reset' | 'file';
  /** 'schema.table' → its parts (names may hold dots) and kind, for every relation in the snapshot. */
  relations?: Record<string, { schema: string; table: string; kind: string }>;
  /** The raw cumulative pg_stat_statements counters at takenAt: the next observe subtracts them for its delta. */
  counters?: {
    /** pg_stat_statements_info.stats_reset when read: a different value means the counters were reset. */
    statsReset?: string;
    entries: StatementCounter[];
  };
  /** Each replica observed with the primary, and its raw counters for the next delta. */
  replicas?: { server: string; counters: NonNullable<UsageSnapshot['counters']> }[];
}

/** One pg_stat_statements entry's cumulative counters (per role, query id and nesting level). */
export interface StatementCounter {
  role: string;
  queryId: string;
  toplevel: boolean;
  calls: number;
  rows: number;
  totalTimeMs: number;
}
