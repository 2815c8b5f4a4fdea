import type { CatalogIndex, ColumnSource, RangeColumn } from './catalog-index.js';

/** What one analysis collects while it walks a statement. */
export interface AnalysisContext {
  index: CatalogIndex;
  /** The schemas unqualified names are looked up in, in order. */
  searchPath: readonly string[];
  /** Resolve an unqualified name missing from the search path to the one relation of that name, if unique. */
  outsidePath: boolean;
  reads: Set<string>;
  writes: Set<string>;
  relationsRead: Set<string>;
  relationsWritten: Set<string>;
  /** Per relation an INSERT adds rows to (`schema.table`), the columns it gives (`schema.table.column`). */
  inserts: Map<string, Set<string>>;
  warnings: Set<string>;
}

/** A fresh, empty context. */
export function newContext(
  index: CatalogIndex,
  searchPath: readonly string[],
  outsidePath = false,
): AnalysisContext {
  return {
    index,
    searchPath,
    outsidePath,
    reads: new Set(),
    writes: new Set(),
    relationsRead: new Set(),
    relationsWritten: new Set(),
    inserts: new Map(),
    warnings: new Set(),
  };
}

/** Records that the stored values behind a column are read. */
export function readColumn(ctx: AnalysisContext, column: RangeColumn): void {
  const sources = column.sources;
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!;
    ctx.reads.add(s.key);
    ctx.relationsRead.add(s.relation);
  }
}

/** Records that stored columns are assigned. */
export function writeSources(ctx: AnalysisContext, sources: readonly ColumnSource[]): void {
  for (const s of sources) {
    ctx.writes.add(s.key);
    ctx.relationsWritten.add(s.relation);
  }
}

/** Adds a warning (duplicates collapse). */
export function warn(ctx: AnalysisContext, message: string): void {
  ctx.warnings.add(message);
}

/** Quotes a name for a warning the way Postgres messages do. */
export function q(name: string): string {
  return `"${name}"`;
}
