/** One hand-checked corpus statement: what it must read and write over its fixture schema. */
export interface CorpusCase {
  sql: string;
  /** `schema.table.column` read (default none). */
  reads?: string[];
  writes?: string[];
  /** `schema.table` read / written (default none). */
  relationsRead?: string[];
  relationsWritten?: string[];
  /** A substring of each expected warning, one per warning; no warning at all when omitted. */
  warnings?: string[];
  searchPath?: string[];
  role?: string;
  /** Analyze as observe does: unqualified names missing from the search path taken when unique. */
  outsidePath?: boolean;
}

/** `schema.table.column` names for columns of one relation. */
export function columnsOf(relation: string): (...columns: string[]) => string[] {
  return (...columns) => columns.map((c) => `${relation}.${c}`);
}
