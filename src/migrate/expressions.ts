import { loadParser, parseTree, scanTokens } from '../sql/parse.js';
import { quoteIdent } from '../postgres/quote.js';

/**
 * SQL fragments of a migration file, checked with the Postgres parser itself before any of
 * them is pasted into SQL: expressions (up, down, check, where, default) must be exactly one
 * expression, types exactly one type name. A fragment that could end the statement it is
 * pasted into (a `;`, a `)` it did not open, a `--` comment running to its end) is refused.
 */

/** Loads the Postgres parser (sql/ owns it) once. */
export function ensureParser(): Promise<void> {
  return loadParser();
}

/** The result of parsing one expression: the columns it names, or a syntax error with its offset. */
export type ParsedExpression =
  | { ok: true; columns: string[] }
  | { ok: false; message: string; position?: number };

const PREFIX = 'SELECT ';

/**
 * An expression as a value wherever it is pasted (backfill SET list, sync-trigger assignment):
 * parenthesized, so pgroll's `SELECT CASE … END` style reads as a scalar subquery there too,
 * exactly as parseExpression checked it.
 */
export function asScalar(expression: string): string {
  return `(${expression}\n)`;
}

/**
 * Parses `expression` as one SQL scalar expression (call ensureParser first).
 * Returns the distinct column names it references unqualified, in order of appearance.
 */
export function parseExpression(expression: string): ParsedExpression {
  const unsafe = breakout(expression);
  if (unsafe) return { ok: false, message: unsafe };
  let tree: unknown;
  try {
    tree = parseTree(`${PREFIX}(${expression}\n)`);
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

/**
 * Why a fragment could break out of the place it is pasted into, if it could: every paste
 * site puts it between parentheses or before a `;`, so its parentheses must balance, it holds
 * no `;` outside a literal, and a `--` comment in it must end on a newline of its own.
 */
function breakout(text: string, comments = true): string | undefined {
  let tokens: { text: string; tokenName: string }[];
  try {
    tokens = scanTokens(text).tokens;
  } catch {
    return undefined; // the parser reports it with its position
  }
  let depth = 0;
  for (const token of tokens) {
    if (token.text === '(') depth++;
    else if (token.text === ')' && --depth < 0) return 'a `)` closes a parenthesis it did not open';
    else if (token.text === ';') return 'a `;` ends the statement: write one SQL fragment only';
    else if (!comments && token.tokenName.endsWith('_COMMENT'))
      return 'comments are not allowed here';
  }
  if (depth > 0) return 'a `(` is never closed';
  const last = tokens.at(-1);
  if (last?.tokenName === 'SQL_COMMENT' && !/\n\s*$/.test(text))
    return 'a `--` comment runs to the end of the text and would hide what follows it';
  return undefined;
}

/**
 * The expression with every '...' literal holding a backslash written as E'...', which every
 * session reads the same way: a '...' literal's backslashes are text where
 * standard_conforming_strings is on (as the parser read it) and escapes where it is off —
 * and the sync trigger is compiled in the sessions of whoever writes the table.
 */
export function portableLiterals(expression: string): string {
  let tokens: { start: number; end: number; tokenName: string }[];
  try {
    tokens = scanTokens(expression).tokens;
  } catch {
    return expression; // the parser reports it
  }
  const bytes = Buffer.from(expression, 'utf8');
  const parts: string[] = [];
  let at = 0;
  for (const token of tokens) {
    if (token.tokenName !== 'SCONST') continue;
    const text = bytes.subarray(token.start, token.end).toString('utf8');
    if (!text.includes('\\') || !/^'(?:[^']|'')*'$/.test(text)) continue;
    parts.push(bytes.subarray(at, token.start).toString('utf8'));
    parts.push(`E${text.replaceAll('\\', '\\\\')}`);
    at = token.end;
  }
  if (at === 0) return expression;
  parts.push(bytes.subarray(at).toString('utf8'));
  return parts.join('');
}

const TYPE_PREFIX = 'SELECT NULL::';

/** Parses `text` as exactly one type name (`int`, `numeric(10,2)`, `"My Type"[]`, `timestamp with time zone`). */
export function parseTypeName(
  text: string,
): { ok: true } | { ok: false; message: string; position?: number } {
  const unsafe = breakout(text, false);
  if (unsafe) return { ok: false, message: unsafe };
  let tree: unknown;
  try {
    tree = parseTree(`${TYPE_PREFIX}${text}`);
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
      .sqlDetails;
    const cursor = details?.cursorPosition;
    return {
      ok: false,
      message: details?.message ?? (error as Error).message,
      ...(cursor === undefined ? {} : { position: Math.max(1, cursor - TYPE_PREFIX.length) }),
    };
  }
  const stmts = (tree as { stmts?: { stmt: Record<string, unknown> }[] }).stmts ?? [];
  const select =
    stmts.length === 1
      ? (stmts[0]!.stmt.SelectStmt as Record<string, unknown> | undefined)
      : undefined;
  const targets = select?.targetList as
    | { ResTarget?: { name?: string; val?: Record<string, unknown> } }[]
    | undefined;
  const target = targets?.length === 1 ? targets[0]!.ResTarget : undefined;
  const cast = target?.val?.TypeCast as { arg?: { A_Const?: { isnull?: boolean } } } | undefined;
  if (
    !select ||
    Object.keys(select).some((k) => !SELECT_KEYS.has(k)) ||
    target?.name !== undefined ||
    cast?.arg?.A_Const?.isnull !== true
  ) {
    return { ok: false, message: 'expected one type name, e.g. text, numeric(10,2) or int[]' };
  }
  return { ok: true };
}

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

/** Whether an expression calls a function (a constant default never rewrites the table; a call may). */
export function callsFunction(expression: string): boolean {
  let tree: unknown;
  try {
    tree = parseTree(`${PREFIX}(${expression}\n)`);
  } catch {
    return true;
  }
  const found = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(found);
    if (node === null || typeof node !== 'object') return false;
    const record = node as Record<string, unknown>;
    if ('FuncCall' in record || 'SubLink' in record) return true;
    return Object.values(record).some(found);
  };
  return found(tree);
}

/** `sql` with every reference to column `from` written as `to` (not function names, not literals). */
export function renameColumnRefs(sql: string, from: string, to: string): string {
  const tokens = scanTokens(sql).tokens;
  const bytes = Buffer.from(sql, 'utf8');
  const parts: string[] = [];
  let at = 0;
  tokens.forEach((token, k) => {
    if (['SCONST', 'ICONST', 'FCONST', 'BCONST', 'XCONST', 'Op'].includes(token.tokenName)) return;
    const text = bytes.subarray(token.start, token.end).toString('utf8');
    const name = text.startsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text;
    if (name !== from || tokens[k + 1]?.text === '(') return;
    parts.push(bytes.subarray(at, token.start).toString('utf8'), quoteIdent(to));
    at = token.end;
  });
  parts.push(bytes.subarray(at).toString('utf8'));
  return parts.join('');
}

/** Parses a whole SQL script (raw `sql` operations) and returns the error, if any. */
export function parseScript(
  sql: string,
): { ok: true } | { ok: false; message: string; position?: number } {
  try {
    parseTree(sql);
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
