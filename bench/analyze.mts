/**
 * Analyzer throughput against plain libpg-query parsing of the same statements,
 * measured side by side in one run. Goal: ratio (analyze / parse throughput) ≥ 0.5.
 *
 *   npx tsx bench/analyze.mts [count=10000] [rounds=5]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseSync } from 'libpg-query';
import { withClient } from '../src/postgres/client.js';
import { readCatalog } from '../src/postgres/catalog.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { analyzeStatement } from '../src/sql/analyze.js';
import { createCatalogIndex } from '../src/sql/catalog-index.js';
import { loadParser } from '../src/sql/parse.js';
import { generateStatements } from '../test/sql/generate-statements.js';

const count = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 5);
const fixtures = path.join(import.meta.dirname, '..', 'test', 'sql', 'fixtures');

const server = await startThrowawayServer({ prefix: 'pgpact' });
try {
  await loadParser();
  const catalog = await withClient(server.url, async (c) => {
    for (const f of ['example.sql', 'shop.sql'])
      await c.query(fs.readFileSync(path.join(fixtures, f), 'utf8'));
    return readCatalog(c);
  });
  const t0 = performance.now();
  const index = createCatalogIndex(catalog);
  const indexMs = performance.now() - t0;
  const statements = generateStatements(catalog, count);
  const bytes = statements.reduce((n, s) => n + Buffer.byteLength(s), 0);

  const timeParse = () => {
    const start = performance.now();
    for (const s of statements) parseSync(s);
    return performance.now() - start;
  };
  let columns = 0;
  let warnings = 0;
  const timeAnalyze = () => {
    const start = performance.now();
    columns = 0;
    warnings = 0;
    for (const s of statements) {
      const a = analyzeStatement(s, index);
      columns += a.reads.length + a.writes.length;
      warnings += a.warnings.length;
    }
    return performance.now() - start;
  };

  // Warm up both paths, then alternate so drift (GC, CPU frequency) hits both alike.
  timeParse();
  timeAnalyze();
  const parseMs: number[] = [];
  const analyzeMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    parseMs.push(timeParse());
    analyzeMs.push(timeAnalyze());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p = median(parseMs);
  const a = median(analyzeMs);
  const perSecond = (ms: number) => Math.round((statements.length / ms) * 1000);

  console.log(
    `statements: ${statements.length} distinct (${(bytes / statements.length).toFixed(0)} bytes on average), ${rounds} rounds, medians`,
  );
  console.log(
    `catalog: ${catalog.relations.length} relations; index built in ${indexMs.toFixed(2)} ms`,
  );
  console.log(
    `plain parseSync:   ${p.toFixed(1)} ms  (${perSecond(p)} statements/s, ${((p * 1000) / statements.length).toFixed(1)} µs each)`,
  );
  console.log(
    `analyzeStatement:  ${a.toFixed(1)} ms  (${perSecond(a)} statements/s, ${((a * 1000) / statements.length).toFixed(1)} µs each)`,
  );
  console.log(
    `  of which analysis beyond the parse: ~${(a - p).toFixed(1)} ms (${(((a - p) * 1000) / statements.length).toFixed(1)} µs each)`,
  );
  console.log(`  ${columns} column accesses, ${warnings} warnings found`);
  console.log(`ratio analyze/parse throughput: ${(p / a).toFixed(2)} (goal ≥ 0.50)`);
} finally {
  await server.destroy();
}
