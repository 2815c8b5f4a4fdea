/**
 * Where statements end in a SQL script, found by a lexer that knows what Postgres's does
 * about quotes, comments and dollar quotes (and, as psql does, the BEGIN ... END bodies of
 * CREATE FUNCTION / PROCEDURE): used to cut large scripts into pieces the parser takes one
 * at a time. The parser still decides what a statement is inside each piece.
 */

function isIdentStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 0x80;
}

function isIdentPart(code: number): boolean {
  return isIdentStart(code) || (code >= 48 && code <= 57) || code === 36;
}

/** End (exclusive) of a quoted run starting at the opening quote `from`; `''` (or `""`) stays inside. */
function endOfQuoted(text: string, from: number, quote: string, backslashEscapes: boolean): number {
  let i = from + 1;
  while (i < text.length) {
    const ch = text[i];
    if (backslashEscapes && ch === '\\') i += 2;
    else if (ch === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return text.length;
}

/** The dollar-quote tag (`$tag$` or `$$`) starting at `from`, or undefined. */
function dollarTag(text: string, from: number): string | undefined {
  let i = from + 1;
  if (text[i] === '$') return '$$';
  if (!isIdentStart(text.charCodeAt(i))) return undefined;
  while (i < text.length && isIdentPart(text.charCodeAt(i)) && text[i] !== '$') i += 1;
  return text[i] === '$' ? text.slice(from, i + 1) : undefined;
}

/**
 * Character offsets `[start, end)` of each statement's text (its `;` included); text after
 * the last `;` that holds more than whitespace and comments is a last statement.
 */
export function statementRanges(text: string): number[] {
  const ranges: number[] = [];
  let start = 0;
  let parens = 0;
  let beginDepth = 0;
  // The first words of the statement, to recognise CREATE [OR REPLACE] FUNCTION|PROCEDURE.
  let words: string[] = [];
  let tokens = false;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    const ch = text[i]!;
    if (ch === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth += 1;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
      continue;
    }
    if (code <= 32) {
      i += 1;
      continue;
    }
    tokens = true;
    if (ch === "'") {
      const prefix = text[i - 1];
      const escapes =
        (prefix === 'E' || prefix === 'e') && (i < 2 || !isIdentPart(text.charCodeAt(i - 2)));
      i = endOfQuoted(text, i, "'", escapes);
      continue;
    }
    if (ch === '"') {
      i = endOfQuoted(text, i, '"', false);
      continue;
    }
    if (ch === '$') {
      const tag = dollarTag(text, i);
      if (tag !== undefined) {
        const close = text.indexOf(tag, i + tag.length);
        i = close === -1 ? text.length : close + tag.length;
        continue;
      }
      i += 1;
      continue;
    }
    if (isIdentStart(code)) {
      let j = i + 1;
      while (j < text.length && isIdentPart(text.charCodeAt(j))) j += 1;
      // A prefix of a string (E'', U&'', B'', X'') is lexed with the string next round.
      const word = text.slice(i, j).toLowerCase();
      if (words.length < 4) words.push(word);
      const routine =
        words[0] === 'create' &&
        (words[1] === 'function' ||
          words[1] === 'procedure' ||
          (words[1] === 'or' &&
            words[2] === 'replace' &&
            (words[3] === 'function' || words[3] === 'procedure')));
      if (routine && parens === 0) {
        if (word === 'begin') beginDepth += 1;
        else if (word === 'case' && beginDepth > 0) beginDepth += 1;
        else if (word === 'end' && beginDepth > 0) beginDepth -= 1;
      }
      i = j;
      continue;
    }
    if (ch === '(') parens += 1;
    else if (ch === ')') parens = Math.max(0, parens - 1);
    else if (ch === ';' && parens === 0 && beginDepth === 0) {
      ranges.push(start, i + 1);
      start = i + 1;
      words = [];
      tokens = false;
    }
    i += 1;
  }
  if (tokens) ranges.push(start, text.length);
  return ranges;
}
