import {
  loadModule,
  type Node,
  type ParseResult,
  parseSync,
  type ScanResult,
  scanSync,
} from 'libpg-query';
import { caretAt, PgpactError } from '../errors.js';
import { statementRanges } from './statement-ranges.js';

/** One statement of a script, split exactly where Postgres's parser splits it. */
export interface ParsedStatement {
  /** The statement's text, trimmed (comments inside and before it kept). */
  sql: string;
  /** The parse tree of the statement, e.g. `{ SelectStmt: {...} }`. */
  node: Node;
  /** Character offset of the statement's first character in the script. */
  offset: number;
  /** 1-based line and column of that character. */
  line: number;
  column: number;
}

/** A syntax error found by the Postgres parser, located in the text. */
export interface SqlSyntaxIssue {
  message: string;
  /** Character offset (0-based) in the text. */
  offset: number;
  line: number;
  column: number;
  /** The offending line with a caret under the position. */
  excerpt: string;
}

let loaded: Promise<void> | undefined;

/** Loads the Postgres parser (WASM) once; every parse after it is synchronous. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/**
 * The parser's own tree of a text (after loadParser); throws the parser's error as it is.
 * Other folders ask this (or the functions below), never libpg-query: sql/ owns the parser.
 */
export function parseTree(text: string): ParseResult {
  return parseSync(text);
}

/** The parser's tokens of a text (after loadParser); throws the scanner's error as it is. */
export function scanTokens(text: string): ScanResult {
  return scanSync(text);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Maps sorted UTF-8 byte offsets to string (UTF-16) offsets in one pass over the text. */
export function byteToStringOffsets(text: string, byteOffsets: readonly number[]): number[] {
  const result: number[] = new Array(byteOffsets.length);
  let bytes = 0;
  let i = 0;
  let k = 0;
  while (k < byteOffsets.length) {
    while (k < byteOffsets.length && byteOffsets[k]! <= bytes) result[k++] = i;
    if (i >= text.length) break;
    const code = text.codePointAt(i)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    i += code >= 0x10000 ? 2 : 1;
  }
  while (k < byteOffsets.length) result[k++] = text.length;
  return result;
}

/** Maps a 0-based code point index (Postgres error positions count characters) to a string offset. */
/** The string offset of a position counted in code points (libpg-query's error cursorPosition counts them, not bytes). */
export function codePointToStringOffset(text: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) {
    i += text.codePointAt(i)! >= 0x10000 ? 2 : 1;
  }
  return i;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Whether a parser error is the WASM parser running out of memory (never a syntax error). */
export function isParserOutOfMemory(error: unknown): boolean {
  return /Program terminated|out of memory|memory access out of bounds|Aborted\(/i.test(
    (error as Error)?.message ?? '',
  );
}

/** Parses text with the Postgres parser; returns the raw statements or the located syntax error. */
export function parseText(
  text: string,
):
  | { ok: true; stmts: { node: Node; byteStart: number; byteLength: number }[] }
  | { ok: false; issue: SqlSyntaxIssue } {
  if (text.trim() === '') return { ok: true, stmts: [] };
  try {
    const result = parseSync(text);
    return {
      ok: true,
      stmts: (result.stmts ?? [])
        .filter((s) => s.stmt !== undefined)
        .map((s) => ({
          node: s.stmt!,
          byteStart: s.stmt_location ?? 0,
          byteLength: s.stmt_len ?? 0,
        })),
    };
  } catch (error) {
    if (/not initiali[sz]ed/i.test((error as Error).message)) {
      throw new Error('the SQL parser is not loaded: await loadParser() first');
    }
    if (isParserOutOfMemory(error)) {
      throw new PgpactError(
        'INPUT_TOO_LARGE',
        `the SQL parser ran out of memory on ${Math.ceil(Buffer.byteLength(text) / 1e6)} MB of SQL in one piece`,
        {
          hint: `split the statement; pgpact parses one statement of up to ${MAX_STATEMENT_BYTES / 1e6} MB at a time`,
          cause: error,
        },
      );
    }
    const details = (error as { sqlDetails?: { message: string; cursorPosition: number } })
      .sqlDetails;
    const message = details?.message ?? (error as Error).message;
    const offset = codePointToStringOffset(text, Math.max(0, details?.cursorPosition ?? 0));
    const { line, column } = lineAndColumn(text, offset);
    const { excerpt } = caretAt(text, offset + 1);
    return { ok: false, issue: { message, offset, line, column, excerpt } };
  }
}

/** The PgpactError for a syntax error, naming the file, line and column with a caret. */
export function syntaxError(issue: SqlSyntaxIssue, file?: string): PgpactError {
  return new PgpactError('SQL_SYNTAX', `syntax error in ${file ?? 'the SQL'}: ${issue.message}`, {
    problems: [
      {
        code: 'SQL_SYNTAX',
        message: issue.message,
        ...(file === undefined ? {} : { file }),
        line: issue.line,
        column: issue.column,
      },
    ],
    detail: issue.excerpt,
  });
}

/**
 * Splits a script into statements where Postgres's parser splits it (from its
 * statement locations, mapped from bytes to characters). Throws SQL_SYNTAX.
 * Call loadParser() once before.
 */
export function splitStatements(text: string, file?: string): ParsedStatement[] {
  const parsed = parseText(text);
  if (!parsed.ok) throw syntaxError(parsed.issue, file);
  return splitParsed(text, parsed.stmts);
}

/** Locates the parser's statements (byte offsets) in the text as characters, lines and columns. */
function splitParsed(
  text: string,
  stmts: { node: Node; byteStart: number; byteLength: number }[],
): ParsedStatement[] {
  const parsed = { stmts };
  const ascii = isAscii(text);
  const byteOffsets: number[] = [];
  for (const s of parsed.stmts) {
    byteOffsets.push(
      s.byteStart,
      s.byteLength === 0 ? Number.MAX_SAFE_INTEGER : s.byteStart + s.byteLength,
    );
  }
  const offsets = ascii
    ? byteOffsets.map((b) => Math.min(b, text.length))
    : byteToStringOffsets(text, byteOffsets);
  const statements: ParsedStatement[] = [];
  // Statements come in order: count lines incrementally rather than from the start each time.
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  parsed.stmts.forEach((s, i) => {
    const rawStart = offsets[2 * i]!;
    const rawEnd = offsets[2 * i + 1]!;
    const raw = text.slice(rawStart, rawEnd);
    const lead = raw.length - raw.trimStart().length;
    const offset = rawStart + lead;
    for (; scanned < offset; scanned++) {
      if (text.charCodeAt(scanned) === 10) {
        line++;
        lineStart = scanned + 1;
      }
    }
    statements.push({
      sql: raw.trim(),
      node: s.node,
      offset,
      line,
      column: offset - lineStart + 1,
    });
  });
  return statements;
}

const BATCH_SEPARATOR = '\n;\n';

/**
 * Parses texts[from, to) in one call when every text is exactly one statement that ends right
 * at its separator (so no quote, comment or dollar quote leaks into the next text); returns
 * false when that does not hold.
 */
function parseBatch(
  texts: readonly string[],
  from: number,
  to: number,
  nodes: (Node | undefined)[],
): boolean {
  const batch = texts.slice(from, to).map((t) => t.replace(/;\s*$/, ''));
  const starts: number[] = [];
  const ends: number[] = [];
  let bytes = 0;
  for (const t of batch) {
    starts.push(bytes);
    bytes += Buffer.byteLength(t);
    ends.push(bytes + 1);
    bytes += BATCH_SEPARATOR.length;
  }
  const parsed = parseText(batch.join(BATCH_SEPARATOR));
  if (!parsed.ok || parsed.stmts.length !== batch.length) return false;
  const last = bytes - BATCH_SEPARATOR.length;
  for (let i = 0; i < batch.length; i++) {
    const s = parsed.stmts[i]!;
    const end = s.byteLength === 0 ? last : s.byteStart + s.byteLength;
    const expectedEnd = i === batch.length - 1 ? Math.min(ends[i]!, last) : ends[i]!;
    if (
      s.byteStart < starts[i]! ||
      (end !== expectedEnd && !(i === batch.length - 1 && end === last))
    )
      return false;
  }
  parsed.stmts.forEach((s, i) => {
    nodes[from + i] = s.node;
  });
  return true;
}

function parseRange(
  texts: readonly string[],
  from: number,
  to: number,
  nodes: (Node | undefined)[],
): void {
  if (to - from <= 1 || parseBatch(texts, from, to, nodes)) return;
  // Halve until the texts that cannot share a batch are alone (they are parsed alone later).
  const middle = (from + to) >> 1;
  parseRange(texts, from, middle, nodes);
  parseRange(texts, middle, to, nodes);
}

/**
 * Parses many single-statement texts with one parser call per batch (the per-call cost of
 * the WASM parser dominates for short statements). Returns each text's statement node, or
 * undefined where the text must be parsed on its own (empty, several statements, a syntax
 * error); a batch that does not split cleanly is halved until it does.
 */
export function parseEach(texts: readonly string[], batchSize = 100): (Node | undefined)[] {
  const nodes: (Node | undefined)[] = new Array(texts.length).fill(undefined);
  for (let from = 0; from < texts.length; from += batchSize) {
    parseRange(texts, from, Math.min(texts.length, from + batchSize), nodes);
  }
  return nodes;
}

/** Scripts up to this many characters are parsed in one call; longer ones piece by piece. */
export const SINGLE_PARSE_CHARS = 2_000_000;
/** Characters per piece of a long script (whole statements, so a piece may be longer). */
const PIECE_CHARS = 500_000;
/** The longest statement pgpact parses: the WASM parser's memory is bounded (~100 bytes per byte of SQL). */
export const MAX_STATEMENT_BYTES = 8_000_000;
/** The largest SQL input read at all. */
export const MAX_SCRIPT_BYTES = 512_000_000;

function tooLarge(what: string, size: number, limit: number, file?: string): PgpactError {
  return new PgpactError(
    'INPUT_TOO_LARGE',
    `${what} in ${file ?? 'the SQL'} is ${(size / 1e6).toFixed(1)} MB: pgpact takes at most ${limit / 1e6} MB`,
    {
      hint: 'split it (several files, or smaller statements, e.g. COPY instead of one huge INSERT)',
    },
  );
}

/**
 * The statements of a script one at a time, in order, located in the whole text: a long
 * script is cut between statements (quotes, comments, dollar quotes and routine bodies
 * respected) and parsed piece by piece, so parse trees of one piece at a time are held
 * and no size hits the parser's memory limit. Throws SQL_SYNTAX located in the whole text,
 * or INPUT_TOO_LARGE naming the limit. Call loadParser() once before.
 */
export function* eachStatement(text: string, file?: string): Generator<ParsedStatement> {
  if (text.length <= SINGLE_PARSE_CHARS) {
    yield* splitStatements(text, file);
    return;
  }
  const ranges = statementRanges(text);
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  const advance = (to: number) => {
    for (; scanned < to; scanned++) {
      if (text.charCodeAt(scanned) === 10) {
        line++;
        lineStart = scanned + 1;
      }
    }
  };
  let r = 0;
  while (r < ranges.length) {
    // Whole statements up to PIECE_CHARS; on a syntax error the piece grows by the next
    // statements a few times first, in case the lexer cut where the parser would not.
    const from = ranges[r]!;
    const first = ranges[r + 1]! - from;
    if (first > MAX_STATEMENT_BYTES / 4) {
      const bytes = Buffer.byteLength(text.slice(from, ranges[r + 1]!));
      if (bytes > MAX_STATEMENT_BYTES) {
        advance(skipBlank(text, from));
        throw tooLarge(`the statement at line ${line}`, bytes, MAX_STATEMENT_BYTES, file);
      }
    }
    let next = r;
    while (next < ranges.length && (next === r || ranges[next + 1]! - from <= PIECE_CHARS))
      next += 2;
    let pieceEnd = ranges[next - 1]!;
    let parsed = parseText(text.slice(from, pieceEnd));
    let grown = next;
    for (let tries = 0; !parsed.ok && tries < 3 && grown < ranges.length; tries++) {
      grown = Math.min(ranges.length, grown + (next - r));
      const retry = parseText(text.slice(from, ranges[grown - 1]!));
      if (retry.ok) {
        parsed = retry;
        pieceEnd = ranges[grown - 1]!;
        next = grown;
      }
    }
    if (!parsed.ok) {
      const offset = from + parsed.issue.offset;
      const at = lineAndColumn(text, offset);
      const { excerpt } = caretAt(text, offset + 1);
      throw syntaxError({ ...parsed.issue, offset, ...at, excerpt }, file);
    }
    const piece = text.slice(from, pieceEnd);
    for (const s of splitParsed(piece, parsed.stmts)) {
      const offset = from + s.offset;
      advance(offset);
      yield { sql: s.sql, node: s.node, offset, line, column: offset - lineStart + 1 };
    }
    r = next;
  }
}

/** The offset of the first character after whitespace from `from`. */
function skipBlank(text: string, from: number): number {
  let i = from;
  while (i < text.length && text.charCodeAt(i) <= 32) i += 1;
  return i;
}

/** Checks an input's size before it is read: refused up front, with the limit, above MAX_SCRIPT_BYTES. */
export function checkScriptSize(bytes: number, file?: string): void {
  if (bytes > MAX_SCRIPT_BYTES) throw tooLarge('the input', bytes, MAX_SCRIPT_BYTES, file);
}
