/**
 * `pgpact check` on a large synthetic system: 5,000 tables in 200 services (one schema
 * and one migrations folder each), 2,000 declared contracts and observed usage for every
 * service, and a migration that touches 25 tables in many ways. Prints the breakdown
 * (shadow start, base apply, snapshots, migration apply, diff, analysis) and checks that
 * diff + analysis take under 1 s. Ratios are against raw Postgres in the same run: the
 * base as one plain query per file into an empty database, and one catalog read.
 *
 *   npx tsx bench/check.mts [services=200] [tablesPerService=25] [contractsPerService=10]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diffCatalogs } from '../src/impact/diff-catalogs.js';
import { runCheck } from '../src/impact/run-check.js';
import { parseManifest } from '../src/manifest/load.js';
import { readCatalog } from '../src/postgres/catalog.js';
import { urlWith, withClient } from '../src/postgres/client.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import type { UsageSnapshot } from '../src/usage/types.js';

const services = Number(process.argv[2] ?? 200);
const tablesPer = Number(process.argv[3] ?? 25);
const contractsPer = Number(process.argv[4] ?? 10);

const svc = (i: number) => `svc_${String(i).padStart(3, '0')}`;
const table = (t: number) => `t_${String(t).padStart(2, '0')}`;
const COLUMNS = ['name', 'street_and_number', 'city', 'amount', 'created_at'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-check-'));
const manifestLines = ['version: 1', 'services:'];
const baseSql: string[] = []; // one plain SQL text per service
const usage: UsageSnapshot = {
  version: 1,
  database: 'bench',
  takenAt: new Date().toISOString(),
  roles: [],
};
let contracts = 0;
for (let i = 0; i < services; i += 1) {
  const name = svc(i);
  const folder = path.join(dir, 'migrations', name);
  fs.mkdirSync(folder, { recursive: true });
  const ddl: string[] = [];
  for (let t = 0; t < tablesPer; t += 1) {
    ddl.push(`CREATE TABLE ${name}.${table(t)} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL, street_and_number text, zip text DEFAULT '0000', city text,
  amount numeric(12, 2) CHECK (amount >= 0), created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ${table(t)}_created_idx ON ${name}.${table(t)} (created_at);`);
  }
  fs.writeFileSync(path.join(folder, '001_tables.sql'), `${ddl.join('\n')}\n`);
  baseSql.push(`CREATE SCHEMA ${name};\n${ddl.join('\n')}`);
  manifestLines.push(
    `  ${name}:`,
    `    team: team-${i % 20}`,
    `    owns: [${name}]`,
    `    migrations: migrations/${name}`,
  );
  const reads: string[] = [];
  const observed: Record<string, { calls: number; rows: number; totalTimeMs: number }> = {};
  for (let k = 0; k < contractsPer; k += 1) {
    const other =
      (i + 1 + k * 7) % services === i ? (i + 1) % services : (i + 1 + k * 7) % services;
    const t = (i * 3 + k) % tablesPer;
    reads.push(
      `      ${svc(other)}.${table(t)}: ${k % 5 === 0 ? '"*"' : `[id, ${COLUMNS[k % COLUMNS.length]}, zip]`}`,
    );
    contracts += 1;
    for (const c of ['id', 'street_and_number', 'city'])
      observed[`${svc(other)}.${table((t + 1) % tablesPer)}.${c}`] = {
        calls: 5,
        rows: 50,
        totalTimeMs: 1,
      };
  }
  manifestLines.push('    reads:', ...reads);
  usage.roles.push({
    role: name,
    service: name,
    reads: observed,
    writes: {},
    relationsRead: {},
    relationsWritten: {},
    statements: [],
  });
}
fs.writeFileSync(path.join(dir, 'pgpact.yaml'), `${manifestLines.join('\n')}\n`);

// The migration: service 0 reshapes its 25 tables in every way check knows.
const target = svc(0);
const change: string[] = ["SET lock_timeout = '2s';"];
for (let t = 0; t < tablesPer; t += 1) {
  const rel = `${target}.${table(t)}`;
  switch (t % 6) {
    case 0:
      change.push(
        `ALTER TABLE ${rel} ADD COLUMN street text, ADD COLUMN number text;`,
        `ALTER TABLE ${rel} DROP COLUMN street_and_number;`,
      );
      break;
    case 1:
      change.push(`ALTER TABLE ${rel} RENAME COLUMN city TO town;`);
      break;
    case 2:
      change.push(`ALTER TABLE ${rel} ALTER COLUMN zip TYPE varchar(10);`);
      break;
    case 3:
      change.push(
        `ALTER TABLE ${rel} ALTER COLUMN city SET NOT NULL, ALTER COLUMN zip DROP DEFAULT;`,
      );
      break;
    case 4:
      change.push(`CREATE UNIQUE INDEX ${table(t)}_name_key ON ${rel} (name);`);
      break;
    default:
      change.push(`ALTER TABLE ${rel} RENAME TO ${table(t)}_v2;`);
  }
}
const changeFile = path.join(dir, 'change.sql');
fs.writeFileSync(changeFile, `${change.join('\n')}\n`);

const manifest = parseManifest(
  fs.readFileSync(path.join(dir, 'pgpact.yaml'), 'utf8'),
  path.join(dir, 'pgpact.yaml'),
);
console.log(
  `synthetic system: ${services} services, ${services * tablesPer} tables, ${contracts} contracts, ${change.length} migration statements`,
);

// Always built: this benchmark measures the cold path (bench/check-warm.mts the kept base).
const report = await runCheck({
  manifest,
  files: [changeFile],
  root: dir,
  service: target,
  usage,
  shadowCacheDir: false,
});
const t = report.timings;

// Raw Postgres side by side: the same base as one plain query, and one catalog read.
const raw = await startThrowawayServer({ prefix: 'pgpact' });
let rawApplyMs = 0;
let rawSnapshotMs = 0;
let diffOnlyMs = 0;
try {
  await withClient(raw.url, (c) => c.query('CREATE DATABASE raw_base'));
  const url = urlWith(raw.url, { database: 'raw_base' });
  await withClient(url, async (c) => {
    let mark = performance.now();
    for (const sql of baseSql) await c.query(sql);
    rawApplyMs = performance.now() - mark;
    mark = performance.now();
    const catalog = await readCatalog(c);
    rawSnapshotMs = performance.now() - mark;
    mark = performance.now();
    diffCatalogs(catalog, catalog);
    diffOnlyMs = performance.now() - mark;
  });
} finally {
  await raw.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}

const ms = (v: number) => `${v.toFixed(1).padStart(8)} ms`;
const counts = { breaking: 0, warning: 0, info: 0 };
for (const f of report.findings) counts[f.severity] += 1;
console.log(
  `findings: ${counts.breaking} breaking, ${counts.warning} warnings, ${counts.info} info; ${report.changes.length} changes`,
);
console.log('breakdown:');
console.log(`  shadow start      ${ms(t.shadowStartMs)}`);
console.log(
  `  base apply        ${ms(t.baseApplyMs)}   raw Postgres (a query per file, no roles) ${ms(rawApplyMs)}   ratio ${(t.baseApplyMs / rawApplyMs).toFixed(2)}`,
);
console.log(`  snapshots (2)     ${ms(t.snapshotMs)}   one raw catalog read ${ms(rawSnapshotMs)}`);
console.log(`  migration apply   ${ms(t.migrationApplyMs)}`);
console.log(
  `  diff              ${ms(t.diffMs)}   (identical catalogs: ${diffOnlyMs.toFixed(1)} ms)`,
);
console.log(`  analysis          ${ms(t.analysisMs)}`);
console.log(`  total             ${ms(t.totalMs)}`);
const gate = t.diffMs + t.analysisMs;
console.log(
  `diff + analysis = ${gate.toFixed(1)} ms (${((gate / rawSnapshotMs) * 100).toFixed(0)}% of one catalog read): ${gate < 1000 ? 'PASS' : 'FAIL'} (goal < 1000 ms)`,
);
process.exitCode = gate < 1000 ? 0 : 1;
