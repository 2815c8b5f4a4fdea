import fs from 'node:fs';
import path from 'node:path';
import { caretAt, PgpactError, type Problem } from '../errors.js';
import { forwardText } from '../provision/migration-layout.js';
import {
  codePointToStringOffset,
  isParserOutOfMemory,
  loadParser,
  parseTree,
  SINGLE_PARSE_CHARS,
} from '../sql/parse.js';
import { decodeSql, noStatementsError } from '../sql/read-sql.js';
import { withholdSecretLines } from '../sql/secret-statements.js';
import { statementRanges } from '../sql/statement-ranges.js';

/** One statement of a migration file, located in the file. */
export interface MigrationStatement {
  /** The file as shown to people (relative to the working root). */
  file: string;
  /** Position in the whole migration (all files), from 0. */
  index: number;
  /** The statement's text, as Postgres receives it. */
  sql: string;
  /** Character offset of `sql` in the file text (Postgres error positions count from here). */
  start: number;
  /** Character offset of the statement's first token in the file text. */
  offset: number;
  /** 1-based line of the statement's first token. */
  line: number;
  /** The parse tree node, e.g. `{ AlterTableStmt: {...} }`. */
  node: Record<string, unknown>;
  /** The node's type name, e.g. `AlterTableStmt`. */
  type: string;
}

/** A parsed migration file. */
export interface MigrationFile {
  /** Absolute path. */
  path: string;
  /** As shown in locations. */
  display: string;
  text: string;
  statements: MigrationStatement[];
}

/**
 * The largest migration file pgpact check reads: its statements' parse trees are all kept
 * (about 100 bytes of memory per byte of SQL), so bulk data belongs in other files.
 */
export const MAX_MIGRATION_BYTES = 4_000_000;

function migrationTooLarge(display: string, size: number): PgpactError {
  return new PgpactError(
    'INPUT_TOO_LARGE',
    `migration file ${display} is ${(size / 1e6).toFixed(1)} MB: pgpact check reads migration files of at most ${MAX_MIGRATION_BYTES / 1e6} MB`,
    {
      problems: [
        {
          code: 'INPUT_TOO_LARGE',
          message: `larger than ${MAX_MIGRATION_BYTES / 1e6} MB`,
          file: display,
        },
      ],
      hint: 'keep schema changes in the migration and load bulk data separately (COPY, or a data file the migration does not hold)',
    },
  );
}

/** Character offset of a UTF-8 byte offset (libpg-query reports byte offsets). */
function byteToCharOffset(text: string, bytes: Buffer, byteOffset: number): number {
  if (bytes.length === text.length) return byteOffset;
  return bytes.subarray(0, byteOffset).toString('utf8').length;
}

/** Skips whitespace and comments from `start`; returns the offset of the first token. */
export function skipTrivia(text: string, start: number, end = text.length): number {
  let i = start;
  while (i < end) {
    if (/\s/.test(text[i]!)) {
      i += 1;
    } else if (text.startsWith('--', i)) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? end : nl + 1;
    } else if (text.startsWith('/*', i)) {
      let depth = 1;
      let j = i + 2;
      while (j < end && depth > 0) {
        if (text.startsWith('/*', j)) {
          depth += 1;
          j += 2;
        } else if (text.startsWith('*/', j)) {
          depth -= 1;
          j += 2;
        } else {
          j += 1;
        }
      }
      i = j;
    } else {
      break;
    }
  }
  return i;
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  return lineIndex(text)(offset);
}

/** A function giving the 1-based line of an offset, after one pass over the text. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** A located syntax problem: file, line, column and the line with a caret under the column. */
export interface SyntaxProblem extends Problem {
  file: string;
  line: number;
  column: number;
  excerpt: string;
}

/** Parses one SQL text into located statements; throws the parser's error located in the text. */
export function parseMigrationText(
  text: string,
  display: string,
  firstIndex = 0,
): MigrationStatement[] | SyntaxProblem {
  // Only whitespace and comments: no statement (the parser would call it an empty query).
  if (skipTrivia(text, 0) === text.length) return [];
  if (text.length > SINGLE_PARSE_CHARS) return parseInPieces(text, display, firstIndex);
  const bytes = Buffer.from(text, 'utf8');
  let tree: {
    stmts?: { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[];
  };
  try {
    tree = parseTree(text) as typeof tree;
  } catch (error) {
    if (isParserOutOfMemory(error)) {
      throw new PgpactError(
        'INPUT_TOO_LARGE',
        `${display} is too large for the SQL parser in one piece (${(bytes.length / 1e6).toFixed(1)} MB)`,
        { hint: 'split it into several files', cause: error },
      );
    }
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
      .sqlDetails;
    const message = details?.message ?? (error as Error).message;
    // The error's cursor counts code points (the tree's stmt_location counts bytes).
    const cursor = codePointToStringOffset(text, Math.max(0, details?.cursorPosition ?? 0));
    const at = caretAt(text, cursor + 1);
    return {
      code: 'SQL_SYNTAX',
      message,
      file: display,
      line: at.line,
      column: at.column,
      excerpt: withholdSecretLines(at.excerpt),
    };
  }
  const statements: MigrationStatement[] = [];
  const lineOf = lineIndex(text);
  for (const raw of tree.stmts ?? []) {
    if (!raw.stmt) continue;
    const startByte = raw.stmt_location ?? 0;
    const start = byteToCharOffset(text, bytes, startByte);
    const end =
      raw.stmt_len === undefined || raw.stmt_len === 0
        ? text.length
        : byteToCharOffset(text, bytes, startByte + raw.stmt_len);
    const offset = skipTrivia(text, start, end);
    const type = Object.keys(raw.stmt)[0] ?? 'Unknown';
    statements.push({
      file: display,
      index: firstIndex + statements.length,
      sql: text.slice(start, end),
      start,
      offset,
      line: lineOf(offset),
      node: raw.stmt,
      type,
    });
  }
  return statements;
}

/** Characters of SQL parsed in one parser call when a text is cut into pieces. */
const PIECE_CHARS = 500_000;

/**
 * parseMigrationText for a long text (a schema dump as --base): cut between statements
 * and parsed piece by piece, so the parser's memory limit never turns into a false syntax
 * error. A piece that fails grows by the next statements first, in case the cut was wrong.
 */
function parseInPieces(
  text: string,
  display: string,
  firstIndex: number,
): MigrationStatement[] | SyntaxProblem {
  const ranges = statementRanges(text);
  const lineOf = lineIndex(text);
  const statements: MigrationStatement[] = [];
  let r = 0;
  while (r < ranges.length) {
    const from = ranges[r]!;
    let next = r + 2;
    while (next < ranges.length && ranges[next + 1]! - from <= PIECE_CHARS) next += 2;
    let parsed = parseMigrationText(text.slice(from, ranges[next - 1]!), display, 0);
    for (
      let tries = 0, grown = next;
      !Array.isArray(parsed) && tries < 3 && grown < ranges.length;
      tries++
    ) {
      grown = Math.min(ranges.length, grown + (next - r));
      const retry = parseMigrationText(text.slice(from, ranges[grown - 1]!), display, 0);
      if (Array.isArray(retry)) {
        parsed = retry;
        next = grown;
      }
    }
    if (!Array.isArray(parsed)) {
      // Locate the piece's error in the whole text.
      const piece = text.slice(from, ranges[next - 1]!);
      let lineStart = 0;
      for (let line = 1; line < parsed.line; line++) lineStart = piece.indexOf('\n', lineStart) + 1;
      const at = caretAt(text, from + lineStart + parsed.column);
      return { ...parsed, line: at.line, column: at.column, excerpt: at.excerpt };
    }
    for (const s of parsed) {
      const offset = s.offset + from;
      statements.push({
        ...s,
        index: firstIndex + statements.length,
        start: s.start + from,
        offset,
        line: lineOf(offset),
      });
    }
    r = next;
  }
  return statements;
}

/** Reads and parses migration files in order; every syntax error of every file is reported together. */
export async function readMigrationFiles(
  files: string[],
  root: string = process.cwd(),
): Promise<MigrationFile[]> {
  await loadParser();
  const result: MigrationFile[] = [];
  const problems: SyntaxProblem[] = [];
  const empty: string[] = [];
  let index = 0;
  for (const file of files) {
    const abs = path.resolve(root, file);
    const display = displayPath(abs, root);
    let bytes: Buffer;
    try {
      const size = fs.statSync(abs).size;
      if (size > MAX_MIGRATION_BYTES) throw migrationTooLarge(display, size);
      bytes = fs.readFileSync(abs);
    } catch (error) {
      if (error instanceof PgpactError) throw error;
      throw new PgpactError(
        'MIGRATION_INVALID',
        `cannot read migration file ${file}: ${(error as Error).message}`,
        {
          hint: 'pass existing .sql files',
          cause: error,
        },
      );
    }
    if (bytes.length > MAX_MIGRATION_BYTES) throw migrationTooLarge(display, bytes.length);
    // Down sections of goose, dbmate and node-pg-migrate files never run forward.
    const text = forwardText(decodeSql(bytes, display));
    const parsed = parseMigrationText(text, display, index);
    if (!Array.isArray(parsed)) {
      problems.push(parsed);
      continue;
    }
    if (parsed.length === 0) {
      empty.push(display);
      continue;
    }
    index += parsed.length;
    result.push({ path: abs, display, text, statements: parsed });
  }
  if (empty.length > 0 && problems.length === 0) throw noStatementsError(empty);
  if (problems.length > 0) {
    for (const file of empty) {
      problems.push({
        code: 'SQL_EMPTY',
        message: 'no SQL statement (empty, or only whitespace and comments)',
        file,
        line: 1,
        column: 1,
        excerpt: '',
      });
    }
    throw new PgpactError(
      'SQL_SYNTAX',
      problems.length === 1
        ? 'syntax error in a migration file'
        : `syntax errors in ${problems.length} migration files`,
      {
        problems: problems.map(({ excerpt: _excerpt, ...p }) => p),
        detail: problems.map((p) => `${p.file}:${p.line}:${p.column}\n${p.excerpt}`).join('\n'),
        hint: 'fix the SQL: pgpact parses migrations with the Postgres parser itself',
      },
    );
  }
  return result;
}

/** A path as shown in locations: relative to root when inside it, with forward slashes. */
export function displayPath(abs: string, root: string): string {
  const rel = path.relative(root, abs);
  const shown = rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
  return shown.split(path.sep).join('/');
}
