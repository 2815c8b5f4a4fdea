import { beforeAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { byteToStringOffsets, loadParser, splitStatements } from '../../src/sql/parse.js';
import { effectiveSearchPath, parseSearchPath } from '../../src/sql/search-path.js';

beforeAll(async () => {
  await loadParser();
});

describe('splitStatements', () => {
  it('splits where Postgres does: semicolons inside strings, comments, dollar quotes and identifiers stay', () => {
    const script = [
      "SELECT 'a;b' AS x; -- one; not two",
      'SELECT "semi;colon" FROM t;',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2 $$;',
      '/* block; comment */ SELECT 3',
    ].join('\n');
    const parts = splitStatements(script);
    expect(parts.map((p) => p.sql)).toEqual([
      "SELECT 'a;b' AS x",
      'SELECT "semi;colon" FROM t',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2 $$',
      'SELECT 3',
    ]);
    // Postgres 18's parser starts a statement after the comments before it.
    expect(parts.map((p) => [p.line, p.column])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 22],
    ]);
  });

  it('maps byte offsets to characters for non-ASCII text (2-, 3- and 4-byte characters)', () => {
    const script = "SELECT 'Größe €' AS a; SELECT '😀' AS \"ü\";\nSELECT 3";
    const parts = splitStatements(script);
    expect(parts.map((p) => p.sql)).toEqual([
      "SELECT 'Größe €' AS a",
      `SELECT '😀' AS "ü"`,
      'SELECT 3',
    ]);
    expect(parts.map((p) => script.slice(p.offset, p.offset + 6))).toEqual([
      'SELECT',
      'SELECT',
      'SELECT',
    ]);
    expect(parts[2]).toMatchObject({ line: 2, column: 1 });
  });

  it('returns nothing for empty text, whitespace, comments and bare semicolons', () => {
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('  \n ')).toEqual([]);
    expect(splitStatements('-- nothing here\n/* nor here */')).toEqual([]);
    expect(splitStatements(' ; ; ')).toEqual([]);
  });

  it('reports a syntax error with file, line, column and a caret, in characters', () => {
    const script = "SELECT 'é';\nSELECT id\n  FORM t;";
    let error: unknown;
    try {
      splitStatements(script, 'q.sql');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PgpactError);
    const e = error as PgpactError;
    expect(e.code).toBe('SQL_SYNTAX');
    expect(e.problems[0]).toMatchObject({ file: 'q.sql', line: 3, column: 8 });
    expect(e.detail).toBe('  FORM t;\n       ^');
  });
});

describe('byteToStringOffsets', () => {
  it('maps every byte boundary of mixed-width text', () => {
    const text = 'aé€😀b';
    expect(byteToStringOffsets(text, [0, 1, 3, 6, 10, 11, 99])).toEqual([0, 1, 2, 3, 5, 6, 6]);
  });
});

describe('search_path', () => {
  it('parses stored values: quotes kept, bare names folded', () => {
    expect(parseSearchPath('"$user", public')).toEqual(['$user', 'public']);
    expect(parseSearchPath('App,"My ""Schema""" , Sales')).toEqual(['app', 'My "Schema"', 'sales']);
    expect(parseSearchPath('')).toEqual([]);
  });

  it('replaces $user by the role, drops it without one and leaves pg_temp out', () => {
    expect(effectiveSearchPath(['$user', 'public'], 'invoicing')).toEqual(['invoicing', 'public']);
    expect(effectiveSearchPath(['$user', 'public'], undefined)).toEqual(['public']);
    expect(effectiveSearchPath(['pg_temp', 'app'], 'x')).toEqual(['app']);
  });
});
