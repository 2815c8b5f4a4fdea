import { loadModule, parseSync } from 'libpg-query';

/** SQL expressions of a migration (up, down, check, where), checked with the Postgres parser itself. */

let loaded: Promise<void> | undefined;

/** Loads the WASM parser once. */
export function ensureParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/** The result of parsing one expression: the columns it names, or a syntax error with its offset. */
export type ParsedExpression =
  | { ok: true; columns: string[] }
  | { ok: false; message: string; position?: number };

const PREFIX = 'SELECT ';

/**
 * Parses `expression` as one SQL scalar expression (call ensureParser first).
 * Returns the distinct column names it references unqualified, in order of appearance.
 */
export function parseExpression(expression: string): ParsedExpression {
  let tree: unknown;
  try {
    tree = parseSync(`${PREFIX}(${expression}\n)`);
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
      .sqlDetails;
    const cursor = details?.cursorPosition;
    return {
      ok: false,
      message: details?.message ?? (error as Error).message,
      ...(cursor === undefined ? {} : { position: Math.max(1, cursor - PREFIX.length - 1) }),
    };
  }
  const stmts = (tree as { stmts?: { stmt: Record<string, unknown> }[] }).stmts ?? [];
  const select =
    stmts.length === 1
      ? (stmts[0]!.stmt.SelectStmt as Record<string, unknown> | undefined)
      : undefined;
  const targets = select?.targetList as unknown[] | undefined;
  if (!select || targets?.length !== 1 || Object.keys(select).some((k) => !SELECT_KEYS.has(k))) {
    return { ok: false, message: 'expected one SQL expression, not a statement or a list' };
  }
  const columns: string[] = [];
  collectColumnRefs(targets[0], columns);
  return { ok: true, columns: [...new Set(columns)] };
}

const SELECT_KEYS = new Set(['targetList', 'limitOption', 'op']);

function collectColumnRefs(node: unknown, into: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectColumnRefs(item, into);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  const ref = record.ColumnRef as { fields?: { String?: { sval: string } }[] } | undefined;
  if (ref?.fields?.length === 1 && ref.fields[0]!.String) {
    into.push(ref.fields[0]!.String.sval);
    return;
  }
  for (const value of Object.values(record)) collectColumnRefs(value, into);
}

/** Parses a whole SQL script (raw `sql` operations) and returns the error, if any. */
export function parseScript(
  sql: string,
): { ok: true } | { ok: false; message: string; position?: number } {
  try {
    parseSync(sql);
    return { ok: true };
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
      .sqlDetails;
    return {
      ok: false,
      message: details?.message ?? (error as Error).message,
      ...(details?.cursorPosition === undefined ? {} : { position: details.cursorPosition }),
    };
  }
}
