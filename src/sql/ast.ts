/** Small helpers over libpg-query's JSON parse tree (`{ NodeType: body }` wrappers). */
import type { Alias, Node } from 'libpg-query';

/** A parse-tree object seen generically. */
export type Obj = Record<string, unknown>;

/** The values of a list of String nodes (names, qualified names). */
export function strings(list: readonly Node[] | undefined): string[] {
  const out: string[] = [];
  if (!list) return out;
  for (const n of list) {
    const s = (n as { String?: { sval?: string } }).String;
    if (s) out.push(s.sval ?? '');
  }
  return out;
}

/** The column names an alias renames to (`AS x(a, b)`), if any. */
export function aliasColumns(alias: Alias | undefined): string[] | undefined {
  return alias?.colnames ? strings(alias.colnames) : undefined;
}

/** The single key of a node wrapper, e.g. `SelectStmt`. */
export function nodeType(node: Node | undefined): string | undefined {
  if (node === undefined || node === null) return undefined;
  for (const key in node) return key;
  return undefined;
}

/** The body of a node wrapper. */
export function nodeBody<T = Obj>(node: Node): T {
  for (const key in node) return (node as Obj)[key] as T;
  return {} as T;
}
