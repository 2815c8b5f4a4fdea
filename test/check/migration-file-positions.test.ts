import { beforeAll, expect, it } from 'vitest';
import { parseMigrationText } from '../../src/impact/migration-file.js';
import { loadParser } from '../../src/sql/parse.js';

beforeAll(async () => {
  await loadParser();
});

it('a syntax error after non-ASCII names (pagila’s domain "bıgınt", an emoji) is shown at its own line and column', () => {
  for (const name of ['bıgınt', 'über_ñame', 'tag_😀']) {
    const text = `CREATE SCHEMA s;\nCREATE DOMAIN public."${name}" AS bigint;\n--\n\n    film_id integer NOT NULL,\n`;
    const result = parseMigrationText(text, 'dump.sql');
    expect(Array.isArray(result)).toBe(false);
    if (Array.isArray(result)) continue;
    expect([result.line, result.column, result.message]).toEqual([
      5,
      5,
      'syntax error at or near "film_id"',
    ]);
    expect(result.excerpt).toBe('    film_id integer NOT NULL,\n    ^');
  }
});
