/**
 * The fewest `owns:` entries covering exactly one service's tables: a schema name when the
 * service has every table of the schema, else table names and `prefix*` patterns that match
 * none of the schema's other tables.
 */
import { formatOwnedSchema } from '../manifest/table-pattern.js';
import { formatRefPart } from '../manifest/table-ref.js';

/** One schema's tables, split by whose they are. */
export interface SchemaTables {
  schema: string;
  /** The service's tables in the schema. */
  mine: readonly string[];
  /** Every other relation a pattern must not match (other services', nobody's, other roles' views). */
  others: readonly string[];
}

/** A prefix can carry a `*` only when it is written plain: no quoting that could swallow the star. */
const PLAIN_PREFIX = /^[\p{L}\p{N}_$-]+$/u;

/** One `owns:` table part: an exact table name, or every name starting with a prefix (`batch_*`). */
export type TablePart = { name: string; prefix?: undefined } | { prefix: string; name?: undefined };

function commonPrefix(names: readonly string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) {
    let i = 0;
    while (i < prefix.length && i < name.length && prefix[i] === name[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return prefix;
}

/**
 * Table parts (`users`, `batch_*`) covering exactly `mine` and none of `others`, fewest first:
 * at each prefix, one pattern when no other name starts with it (the longest prefix all the
 * names share, so `batch_*` rather than `b*`), else the names ending there plus the best cover
 * of each longer prefix. Every pattern here is needed: a pattern covers one prefix's names,
 * and a prefix that some other name shares cannot carry one.
 */
export function coverTableNames(mine: readonly string[], others: readonly string[]): TablePart[] {
  const result: TablePart[] = [];
  const cover = (names: string[], blockers: string[], depth: number): void => {
    if (names.length === 0) return;
    if (names.length === 1) {
      result.push({ name: names[0]! });
      return;
    }
    if (blockers.length === 0) {
      // The shared prefix, cut before the first character that would need quoting (or is a
      // `*`): `Batch.one`, `Batch.two` → `Batch*`. Cut shorter than this level, it could match
      // names of other branches.
      const shared = commonPrefix(names);
      let cut = 0;
      while (cut < shared.length && PLAIN_PREFIX.test(shared[cut]!)) cut++;
      const prefix = shared.slice(0, cut);
      if (prefix.length > 0 && prefix.length >= depth) {
        result.push({ prefix });
        return;
      }
    }
    // Split at the next character: names ending here are exact entries.
    const groups = new Map<string, { names: string[]; blockers: string[] }>();
    for (const name of names) {
      if (name.length === depth) {
        result.push({ name });
        continue;
      }
      const key = name[depth]!;
      if (!groups.has(key)) groups.set(key, { names: [], blockers: [] });
      groups.get(key)!.names.push(name);
    }
    for (const blocker of blockers) {
      if (blocker.length <= depth) continue;
      groups.get(blocker[depth]!)?.blockers.push(blocker);
    }
    for (const [, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      cover(group.names, group.blockers, depth + 1);
  };
  // Names are compared by UTF-16 unit; a surrogate pair split across two levels still groups right.
  const own = new Set(mine);
  cover(
    [...own].sort(),
    [...new Set(others)].filter((o) => !own.has(o)),
    0,
  );
  return result.sort((a, b) => {
    const x = a.name ?? a.prefix!;
    const y = b.name ?? b.prefix!;
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Writes a table part as `owns:` does: an exact name (quoted when needed) or `prefix*`. */
export function formatTablePart(part: TablePart): string {
  return part.name !== undefined ? formatRefPart(part.name) : `${part.prefix}*`;
}

/** Whether a table part matches a table name. */
export function tablePartMatches(part: TablePart, name: string): boolean {
  return part.name !== undefined ? part.name === name : name.startsWith(part.prefix!);
}

/** `owns:` entries for one service: schema names it has whole, else `schema.table` patterns. */
export function ownsEntries(schemas: readonly SchemaTables[]): string[] {
  const entries: string[] = [];
  for (const { schema, mine, others } of [...schemas].sort((a, b) =>
    a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : 0,
  )) {
    if (others.length === 0) {
      entries.push(formatOwnedSchema(schema));
      continue;
    }
    for (const part of coverTableNames(mine, others))
      entries.push(`${formatRefPart(schema)}.${formatTablePart(part)}`);
  }
  return entries;
}
