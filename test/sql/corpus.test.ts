import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { analyzeStatement } from '../../src/sql/analyze.js';
import { type CatalogIndex, createCatalogIndex } from '../../src/sql/catalog-index.js';
import { loadParser } from '../../src/sql/parse.js';
import { describeEachServer } from '../helpers/postgres.js';
import type { CorpusCase } from './corpus/case.js';
import { EXAMPLE_CORPUS } from './corpus/example.js';
import { SHOP_CORPUS } from './corpus/shop.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

const sortedCopy = (list: string[] | undefined) => [...new Set(list ?? [])].sort();

function checkCase(c: CorpusCase, index: CatalogIndex): void {
  const a = analyzeStatement(c.sql, index, {
    ...(c.searchPath ? { searchPath: c.searchPath } : {}),
    ...(c.role ? { role: c.role } : {}),
    ...(c.outsidePath ? { resolveOutsideSearchPath: true } : {}),
  });
  expect({
    reads: a.reads,
    writes: a.writes,
    relationsRead: a.relations.read,
    relationsWritten: a.relations.write,
  }).toEqual({
    reads: sortedCopy(c.reads),
    writes: sortedCopy(c.writes),
    relationsRead: sortedCopy(c.relationsRead),
    relationsWritten: sortedCopy(c.relationsWritten),
  });
  const expected = c.warnings ?? [];
  expect(a.warnings, `warnings: ${JSON.stringify(a.warnings)}`).toHaveLength(expected.length);
  for (const w of expected)
    expect(
      a.warnings.some((actual) => actual.includes(w)),
      `warning "${w}" in ${JSON.stringify(a.warnings)}`,
    ).toBe(true);
}

for (const [fixture, corpus] of [
  ['example.sql', EXAMPLE_CORPUS],
  ['shop.sql', SHOP_CORPUS],
] as const) {
  describeEachServer(`the analyzer corpus over ${fixture}`, (server) => {
    let index: CatalogIndex;
    beforeAll(async () => {
      await loadParser();
      const url = await server().createDatabase('corpus');
      const catalog = await withClient(url, async (c) => {
        await c.query(fs.readFileSync(path.join(FIXTURES, fixture), 'utf8'));
        return readCatalog(c);
      });
      index = createCatalogIndex(catalog);
    });

    describe.each(corpus.map((c, i) => [`#${i + 1} ${c.sql.slice(0, 90)}`, c] as const))(
      '%s',
      (_title, c) => {
        it('reads and writes what was checked by hand', () => checkCase(c, index));
      },
    );
  });
}

describe('the corpus itself', () => {
  it('holds at least 150 statements', () => {
    expect(EXAMPLE_CORPUS.length + SHOP_CORPUS.length).toBeGreaterThanOrEqual(150);
  });
});
