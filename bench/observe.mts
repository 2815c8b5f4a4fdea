/**
 * observe on 10,000 distinct pg_stat_statements entries: read → parse/analyze →
 * aggregate → findings, with the breakdown. Goal: under 2 s. Also the live read of a
 * real pg_stat_statements next to the raw SELECT of the same view.
 *
 *   npx tsx bench/observe.mts [entries=10000] [live statements=3000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSync } from 'libpg-query';
import { withClient } from '../src/postgres/client.js';
import { readCatalog } from '../src/postgres/catalog.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { loadManifest } from '../src/manifest/load.js';
import { createCatalogIndex } from '../src/sql/catalog-index.js';
import { loadParser } from '../src/sql/parse.js';
import { aggregateUsage, analyzeEntries } from '../src/usage/compute.js';
import { readStatementStatsFile } from '../src/usage/stat-file.js';
import { readStatementStats } from '../src/usage/statement-stats.js';
import { usageFindings } from '../src/usage/usage-findings.js';
import { generateStatements, seededRandom } from '../test/sql/generate-statements.js';

const count = Number(process.argv[2] ?? 10_000);
const liveCount = Number(process.argv[3] ?? 3_000);
const fixtures = path.join(import.meta.dirname, '..', 'test', 'sql', 'fixtures');
const MANIFEST = `version: 1
enforcement: audit
services:
  users: { owns: [users] }
  invoicing:
    owns: [invoicing]
    reads: { users.account: [id, name, street_and_number, zip, city] }
  catalog_svc: { role: catalog_svc, owns: [catalog] }
  sales:
    owns: [sales]
    reads: { catalog.product: [id, sku, name, active], catalog.price: "*" }
  shipping:
    owns: [shipping]
    reads: { sales.order: [id, customer_id, status], sales.order_line: "*" }
  hr: { owns: [hr] }
  crm: { owns: [CRM] }
  reporting:
    reads: { sales.order: "*", catalog.product: [id, name], hr.employee: [id, department_id] }
`;
const ROLES = [
  'users',
  'invoicing',
  'catalog_svc',
  'sales',
  'shipping',
  'hr',
  'crm',
  'reporting',
  'bi_tool',
  'backup',
];

const ms = (start: number) => performance.now() - start;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-observe-'));
const server = await startThrowawayServer({ prefix: 'pgpact' });
try {
  await loadParser();
  fs.writeFileSync(path.join(dir, 'pgpact.yaml'), MANIFEST);
  const manifest = loadManifest(path.join(dir, 'pgpact.yaml'));
  await withClient(server.url, async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    for (const f of ['example.sql', 'shop.sql'])
      await c.query(fs.readFileSync(path.join(fixtures, f), 'utf8'));
  });
  let t = performance.now();
  const catalog = await withClient(server.url, (c) => readCatalog(c));
  const catalogMs = ms(t);
  t = performance.now();
  const index = createCatalogIndex(catalog);
  const indexMs = ms(t);

  // 10,000 distinct entries, as an export of pg_stat_statements rows.
  const random = seededRandom(7);
  const statements = generateStatements(catalog, count, 11);
  const rows = statements.map((query, i) => ({
    rolname: ROLES[Math.floor(random() * ROLES.length)]!,
    queryid: String(1_000_000 + i),
    query,
    toplevel: true,
    calls: 1 + Math.floor(random() * 5000),
    rows: Math.floor(random() * 100_000),
    total_exec_time: random() * 10_000,
    total_plan_time: random() * 100,
  }));
  const file = path.join(dir, 'stats.json');
  fs.writeFileSync(file, JSON.stringify(rows));

  t = performance.now();
  const stats = readStatementStatsFile(file, catalog.database);
  const readMs = ms(t);
  // The raw operation next to it: plain parseSync of the same texts, one call each.
  t = performance.now();
  for (const e of stats.entries) parseSync(e.query!);
  const plainParseMs = ms(t);
  t = performance.now();
  const analyses = analyzeEntries(stats, index);
  const analyzeMs = ms(t);
  t = performance.now();
  const usage = aggregateUsage(stats, analyses, index, manifest, { mode: 'file' });
  const aggregateMs = ms(t);
  t = performance.now();
  const findings = usageFindings(usage, manifest);
  const findingsMs = ms(t);
  const total = readMs + analyzeMs + aggregateMs + findingsMs;

  const byKind = new Map<string, number>();
  for (const f of findings) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  console.log(
    `entries: ${stats.entries.length} distinct (${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MB export), ${ROLES.length} roles, ${catalog.relations.length} relations`,
  );
  console.log(
    `  catalog read ${catalogMs.toFixed(0)} ms (live), index ${indexMs.toFixed(2)} ms — once per observe, not per entry`,
  );
  console.log(`  read           ${readMs.toFixed(0).padStart(6)} ms`);
  console.log(
    `  parse/analyze  ${analyzeMs.toFixed(0).padStart(6)} ms  (${analyses.size} analyses, ${((analyzeMs * 1000) / analyses.size).toFixed(1)} µs each; plain parseSync of the same texts ${plainParseMs.toFixed(0)} ms)`,
  );
  console.log(
    `  aggregate      ${aggregateMs.toFixed(0).padStart(6)} ms  (${usage.roles.length} roles, ${usage.roles.reduce((n, r) => n + Object.keys(r.reads).length, 0)} role×column reads)`,
  );
  console.log(
    `  findings       ${findingsMs.toFixed(0).padStart(6)} ms  (${findings.length}: ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')})`,
  );
  console.log(
    `  total          ${total.toFixed(0).padStart(6)} ms  (goal < 2000 ms: ${total < 2000 ? 'met' : 'NOT met'})`,
  );

  // Live: a real pg_stat_statements filled by running statements, read raw and by pgpact.
  const live = generateStatements(catalog, liveCount, 99).filter((s) => /^(SELECT|WITH)/.test(s));
  await withClient(server.url, async (c) => {
    await c.query('SELECT pg_stat_statements_reset()');
    for (const s of live) await c.query(s.replace(/\$\d+/g, 'NULL')).catch(() => undefined);
  });
  const { rawMs, liveMs, liveEntries } = await withClient(server.url, async (c) => {
    await c.query('SELECT count(*) FROM pg_stat_statements');
    let s = performance.now();
    await c.query('SELECT * FROM pg_stat_statements');
    const raw = ms(s);
    s = performance.now();
    const liveStats = await readStatementStats(c);
    return { rawMs: raw, liveMs: ms(s), liveEntries: liveStats.entries.length };
  });
  console.log(
    `live pg_stat_statements (${liveEntries} entries): raw SELECT * ${rawMs.toFixed(1)} ms, readStatementStats ${liveMs.toFixed(1)} ms (ratio ${(rawMs / liveMs).toFixed(2)})`,
  );
} finally {
  await server.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}
