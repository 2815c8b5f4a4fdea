import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import { checkScriptSize } from './parse.js';

/** The code of an input that is not SQL text (NUL bytes, not UTF-8). */
function notText(display: string, why: string, line: number): PgpactError {
  return new PgpactError('INPUT_NOT_TEXT', `${display} is not SQL text: ${why} (line ${line})`, {
    problems: [{ code: 'INPUT_NOT_TEXT', message: why, file: display, line }],
    hint: 'pass the .sql file itself (UTF-8 text), not a binary or compressed file',
  });
}

function lineOfByte(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) if (bytes[i] === 10) line += 1;
  return line;
}

/**
 * Decodes SQL bytes: refused (INPUT_NOT_TEXT) when they hold a NUL byte, which Postgres
 * never accepts in a query, or are not valid UTF-8; a leading byte-order mark is dropped.
 */
export function decodeSql(bytes: Buffer, display: string): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw notText(display, 'it holds NUL bytes', lineOfByte(bytes, nul));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const valid = Buffer.from(bytes.toString('utf8'));
    let i = 0;
    while (i < bytes.length && bytes[i] === valid[i]) i += 1;
    throw notText(display, 'it is not valid UTF-8', lineOfByte(bytes, i));
  }
}

/**
 * Reads one SQL input (a file, or `-` for stdin): refused up front above the size limit,
 * and when it is not UTF-8 text. Throws USAGE when it cannot be read.
 */
export function readSqlInput(file: string, display: string, maxBytes?: number): string {
  let bytes: Buffer;
  try {
    if (file !== '-') {
      const size = fs.statSync(file).size;
      if (maxBytes !== undefined && size > maxBytes) throw sizeError(display, size, maxBytes);
      checkScriptSize(size, display);
    }
    bytes = fs.readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    if (error instanceof PgpactError) throw error;
    throw new PgpactError('USAGE', `cannot read ${display}: ${(error as Error).message}`, {
      hint: 'pass an existing .sql file, or - for stdin',
      cause: error,
    });
  }
  if (maxBytes !== undefined && bytes.length > maxBytes)
    throw sizeError(display, bytes.length, maxBytes);
  checkScriptSize(bytes.length, display);
  return decodeSql(bytes, display);
}

function sizeError(display: string, size: number, limit: number): PgpactError {
  return new PgpactError(
    'INPUT_TOO_LARGE',
    `${display} is ${(size / 1e6).toFixed(1)} MB: pgpact takes SQL files of at most ${limit / 1e6} MB here`,
    { hint: 'split it into several files (data loads belong outside schema migrations)' },
  );
}

/** The error for an input without a single statement: empty, or only whitespace and comments. */
export function noStatementsError(displays: readonly string[]): PgpactError {
  return new PgpactError(
    'SQL_EMPTY',
    displays.length === 1
      ? `${displays[0]} holds no SQL statement (it is empty, or only whitespace and comments)`
      : `${displays.length} inputs hold no SQL statement (empty, or only whitespace and comments): ${displays.join(', ')}`,
    {
      problems: displays.map((file) => ({ code: 'SQL_EMPTY', message: 'no SQL statement', file })),
      hint: 'write the statements, or leave the file out',
    },
  );
}
