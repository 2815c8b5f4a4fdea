/**
 * Resolves dotted object names ('schema.table', 'schema.table.column') against
 * known tables. Names may themselves contain dots, so every split is tried and
 * the one naming a known table (and column) wins.
 */

/** A table the resolver knows, with its columns. */
export interface KnownTable {
  schema: string;
  name: string;
  columns: readonly string[];
}

/** A resolved object: a table, optionally one of its columns. */
export interface ResolvedObject {
  schema: string;
  table: string;
  column?: string;
}

function dotPositions(text: string): number[] {
  const positions: number[] = [];
  for (let i = text.indexOf('.'); i !== -1; i = text.indexOf('.', i + 1)) positions.push(i);
  return positions;
}

/** Builds a resolver over the known tables. */
export function objectResolver(tables: readonly KnownTable[]) {
  const byKey = new Map<string, KnownTable>();
  for (const t of tables) byKey.set(`${t.schema}\u0000${t.name}`, t);

  /** Resolves 'schema.table' or 'schema.table.column'; undefined when no known table matches. */
  function resolve(text: string): ResolvedObject | undefined {
    const dots = dotPositions(text);
    let fallback: ResolvedObject | undefined;
    for (let a = 0; a < dots.length; a++) {
      const schema = text.slice(0, dots[a]);
      const tableOnly = byKey.get(`${schema}\u0000${text.slice(dots[a]! + 1)}`);
      if (tableOnly) return { schema, table: tableOnly.name };
      for (let b = a + 1; b < dots.length; b++) {
        const table = byKey.get(`${schema}\u0000${text.slice(dots[a]! + 1, dots[b])}`);
        if (!table) continue;
        const column = text.slice(dots[b]! + 1);
        if (table.columns.includes(column)) return { schema, table: table.name, column };
        fallback ??= { schema, table: table.name, column };
      }
    }
    return fallback;
  }

  return { resolve };
}

/** Splits a dotted name naively (first dot, second dot): for names the catalog does not know. */
export function splitDotted(text: string): ResolvedObject | undefined {
  const first = text.indexOf('.');
  if (first <= 0) return undefined;
  const second = text.indexOf('.', first + 1);
  if (second === -1) return { schema: text.slice(0, first), table: text.slice(first + 1) };
  return {
    schema: text.slice(0, first),
    table: text.slice(first + 1, second),
    column: text.slice(second + 1),
  };
}
