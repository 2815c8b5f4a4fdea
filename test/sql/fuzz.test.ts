import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { analyzeStatement, type StatementAnalysis } from '../../src/sql/analyze.js';
import { type CatalogIndex, createCatalogIndex } from '../../src/sql/catalog-index.js';
import { loadParser, parseEach } from '../../src/sql/parse.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { EXAMPLE_CORPUS } from './corpus/example.js';
import { SHOP_CORPUS } from './corpus/shop.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const CORPUS = [...EXAMPLE_CORPUS, ...SHOP_CORPUS].map((c) => c.sql);

let server: TestServer;
let full: CatalogIndex;
let empty: CatalogIndex;

beforeAll(async () => {
  await loadParser();
  server = await startTestServer();
  const url = await server.createDatabase('fuzz');
  full = await withClient(url, async (c) => {
    for (const f of ['example.sql', 'shop.sql'])
      await c.query(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
    return createCatalogIndex(await readCatalog(c));
  });
  const bare = await server.createDatabase('bare');
  empty = await withClient(bare, async (c) => createCatalogIndex(await readCatalog(c)));
});

afterAll(async () => {
  await server?.destroy();
});

function wellFormed(a: StatementAnalysis): void {
  for (const list of [a.reads, a.writes, a.relations.read, a.relations.write, a.warnings]) {
    expect(Array.isArray(list)).toBe(true);
    expect([...list].sort()).toEqual(list);
  }
  expect(a.warnings.some((w) => w.startsWith('could not analyze'))).toBe(false);
}

const TOKENS = [
  'SELECT',
  'FROM',
  'WHERE',
  'JOIN',
  'LEFT',
  'NATURAL',
  'USING',
  'ON',
  'AS',
  'WITH',
  'RECURSIVE',
  'LATERAL',
  'INSERT',
  'INTO',
  'VALUES',
  'UPDATE',
  'SET',
  'DELETE',
  'MERGE',
  'WHEN',
  'MATCHED',
  'THEN',
  'RETURNING',
  'UNION',
  'ALL',
  'GROUP',
  'BY',
  'ORDER',
  'HAVING',
  'OVER',
  'PARTITION',
  'COPY',
  'TO',
  'STDOUT',
  'ON CONFLICT',
  'DO',
  'NOTHING',
  '(',
  ')',
  ',',
  '.',
  '*',
  '=',
  '+',
  ';',
  '$1',
  "'x'",
  '1',
  'NULL',
  'EXISTS',
  'IN',
  'NOT',
  'users.account',
  'invoicing.invoice',
  'account',
  'a',
  'i',
  'id',
  'name',
  'zip',
  'a.*',
  'count(*)',
  'sales."order"',
  '"CRM"."Lead"',
  '"Größe"',
  'excluded',
  'old',
  'new',
  'generate_series(1,2)',
  'invoicing.total_for(id)',
  't',
  'x',
];

describe('the analyzer never throws', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        wellFormed(analyzeStatement(text, full));
      }),
      { numRuns: 2000 },
    );
  });

  it('on token soup that sometimes parses', () => {
    let parsed = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 30 }),
        (tokens) => {
          const a = analyzeStatement(tokens.join(' '), full);
          if (!a.syntaxError) parsed++;
          wellFormed(a);
        },
      ),
      { numRuns: 5000 },
    );
    expect(parsed).toBeGreaterThan(0);
  });

  it('on every corpus statement cut, spliced or stripped of a word, over both catalogs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CORPUS),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('cut', 'drop-word', 'splice'),
        (sql, p1, p2, how) => {
          const words = sql.split(' ');
          let mutated: string;
          if (how === 'cut') mutated = sql.slice(0, p1 % (sql.length + 1));
          else if (how === 'drop-word')
            mutated = words.filter((_, i) => i !== p1 % words.length).join(' ');
          else
            mutated = `${sql.slice(0, p1 % (sql.length + 1))} ${CORPUS[p2 % CORPUS.length]!.slice(p2 % 40)}`;
          wellFormed(analyzeStatement(mutated, full));
          wellFormed(
            analyzeStatement(mutated, empty, { role: 'nobody', searchPath: ['$user', 'nowhere'] }),
          );
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('on every corpus statement against a catalog that has none of its tables', () => {
    for (const sql of CORPUS) {
      const a = analyzeStatement(sql, empty);
      wellFormed(a);
      expect(a.reads).toEqual([]);
      expect(a.writes).toEqual([]);
    }
  });

  it('the same way when statements are parsed in batches as when parsed alone', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(...CORPUS),
            fc.constantFrom(...CORPUS).map((sql) => `${sql} -- trailing comment`),
            fc
              .tuple(fc.constantFrom(...CORPUS), fc.nat())
              .map(([sql, n]) => sql.slice(0, n % (sql.length + 1))),
            fc.constantFrom(
              '',
              '-- nothing',
              'SELECT 1; SELECT 2',
              "SELECT 'open",
              "x' FROM t; SELECT 1",
              '/* open',
            ),
          ),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 12 }),
        (texts, batchSize) => {
          const nodes = parseEach(texts, batchSize);
          texts.forEach((sql, i) => {
            const node = nodes[i];
            if (node === undefined) return;
            const batched = analyzeStatement({ sql, node, offset: 0, line: 1, column: 1 }, full);
            expect(batched).toEqual(analyzeStatement(sql, full));
          });
        },
      ),
      { numRuns: 500 },
    );
    expect(
      parseEach(['SELECT 1', 'SELECT 1; SELECT 2', '', 'SELECT 3']).map((n) => n !== undefined),
    ).toEqual([false, false, false, false]);
    expect(
      parseEach(['SELECT 1 -- c', '/* c */ SELECT 2;', 'SELECT 3']).map((n) => n !== undefined),
    ).toEqual([true, true, true]);
  });

  it('on deeply nested expressions and subqueries', () => {
    const parens = `SELECT ${'('.repeat(500)}id${')'.repeat(500)} FROM users.account`;
    wellFormed(analyzeStatement(parens, full));
    let sub = 'SELECT id FROM users.account';
    for (let i = 0; i < 100; i++)
      sub = `SELECT id FROM (${sub}) s${i} WHERE EXISTS (SELECT 1 FROM invoicing.invoice WHERE account_id = s${i}.id)`;
    const a = analyzeStatement(sub, full);
    wellFormed(a);
    expect(a.reads).toEqual(['invoicing.invoice.account_id', 'users.account.id']);
  });
});
