/**
 * `pgpact check` cold and warm on a generated schema (≥ 200 tables, ≥ 400 KB of SQL in
 * the services' migrations folders). Prints the cold check (base built, snapshot kept),
 * the second check with the same base (from the snapshot; goal ≤ 1.5 s), and that time
 * against the raw Postgres operation measured in the same run: apply the migration alone
 * to an already-built copy of the base (copy the built data directory, start Postgres on
 * it, run the migration, stop; goal: warm ÷ raw ≤ 3). Also printed: the migration alone on
 * a copy that is already running, the floor no shadow check can go under.
 *
 *   npx tsx bench/check-warm.mts [services=20] [tablesPerService=14] [warmRuns=3]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCheck } from '../src/impact/run-check.js';
import { shadowParentDir } from '../src/impact/shadow-cache.js';
import { parseManifest } from '../src/manifest/load.js';
import { withClient } from '../src/postgres/client.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';

const services = Number(process.argv[2] ?? 20);
const tablesPer = Number(process.argv[3] ?? 14);
const warmRuns = Math.max(1, Number(process.argv[4] ?? 3));

const svc = (i: number) => `svc_${String(i).padStart(2, '0')}`;
const table = (t: number) => `t_${String(t).padStart(2, '0')}`;

// A real application's tables: many columns, constraints, defaults, indexes, comments.
function tableDdl(schema: string, name: string, i: number): string {
  const cols = [
    'id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    `external_ref uuid NOT NULL UNIQUE`,
    'name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200)',
    'street_and_number text',
    "zip text NOT NULL DEFAULT '00000'",
    'city text',
    "country char(2) NOT NULL DEFAULT 'DE'",
    "status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed'))",
    'amount numeric(14, 2) CHECK (amount >= 0)',
    'currency char(3)',
    'quantity integer NOT NULL DEFAULT 0',
    'weight_grams integer',
    'notes text',
    'tags text[] NOT NULL DEFAULT ARRAY[]::text[]',
    "attributes jsonb NOT NULL DEFAULT '{}'::jsonb",
    'valid_from date',
    'valid_to date',
    'created_by text',
    'updated_by text',
    'created_at timestamptz NOT NULL DEFAULT now()',
    'updated_at timestamptz NOT NULL DEFAULT now()',
    'deleted_at timestamptz',
    'CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)',
  ];
  const rel = `${schema}.${name}`;
  return [
    `CREATE TABLE ${rel} (\n  ${cols.join(',\n  ')}\n);`,
    `COMMENT ON TABLE ${rel} IS 'table ${i} of ${schema}: generated for the warm-check benchmark';`,
    `COMMENT ON COLUMN ${rel}.street_and_number IS 'street and house number, as entered';`,
    `CREATE INDEX ${name}_created_idx ON ${rel} (created_at);`,
    `CREATE INDEX ${name}_status_idx ON ${rel} (status) WHERE deleted_at IS NULL;`,
    `CREATE INDEX ${name}_city_zip_idx ON ${rel} (city, zip);`,
    `CREATE INDEX ${name}_attributes_idx ON ${rel} USING gin (attributes);`,
    `CREATE VIEW ${schema}.${name}_active AS SELECT id, name, city, amount FROM ${rel} WHERE deleted_at IS NULL;`,
  ].join('\n');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-warm-'));
const manifestLines = ['version: 1', 'services:'];
let sqlBytes = 0;
for (let i = 0; i < services; i += 1) {
  const name = svc(i);
  const folder = path.join(dir, 'migrations', name);
  fs.mkdirSync(folder, { recursive: true });
  const half = Math.ceil(tablesPer / 2);
  const files = [
    Array.from({ length: half }, (_, t) => tableDdl(name, table(t), t)),
    Array.from({ length: tablesPer - half }, (_, k) => tableDdl(name, table(half + k), half + k)),
  ];
  files.forEach((ddl, f) => {
    const text = `-- ${name}, part ${f + 1}\n${ddl.join('\n\n')}\n`;
    sqlBytes += Buffer.byteLength(text);
    fs.writeFileSync(path.join(folder, `00${f + 1}_tables.sql`), text);
  });
  manifestLines.push(`  ${name}:`, `    owns: [${name}]`, `    migrations: migrations/${name}`);
  const other = svc((i + 1) % services);
  manifestLines.push(
    '    reads:',
    `      ${other}.${table(0)}: [id, name, street_and_number, zip, city]`,
    `      ${other}.${table(1)}: "*"`,
  );
}
fs.writeFileSync(path.join(dir, 'pgpact.yaml'), `${manifestLines.join('\n')}\n`);
const target = svc(0);
const migration = `ALTER TABLE ${target}.${table(0)} ADD COLUMN street text, ADD COLUMN number text;
UPDATE ${target}.${table(0)} SET street = street_and_number;
ALTER TABLE ${target}.${table(0)} DROP COLUMN street_and_number CASCADE;
ALTER TABLE ${target}.${table(2)} RENAME COLUMN city TO town;
CREATE INDEX ${table(3)}_name_idx ON ${target}.${table(3)} (name);
`;
fs.writeFileSync(path.join(dir, 'change.sql'), migration);
const manifest = parseManifest(
  fs.readFileSync(path.join(dir, 'pgpact.yaml'), 'utf8'),
  path.join(dir, 'pgpact.yaml'),
);
const cacheDir = path.join(dir, '.pgpact', 'shadow-base');
console.log(
  `generated schema: ${services} services, ${services * tablesPer} tables, ${(sqlBytes / 1024).toFixed(0)} KB of SQL in ${services * 2} base files; machine load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
);

const check = () =>
  runCheck({
    manifest,
    files: ['change.sql'],
    root: dir,
    service: target,
    shadowCacheDir: cacheDir,
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  let mark = performance.now();
  const cold = await check();
  const coldMs = performance.now() - mark;
  const key = cold.shadowBase?.key;
  if (cold.shadowBase?.state !== 'built' || !key)
    throw new Error('the cold check kept no snapshot');
  const warmMs: number[] = [];
  let warmBreakdown = cold.timings;
  for (let r = 0; r < warmRuns; r += 1) {
    mark = performance.now();
    const warm = await check();
    warmMs.push(performance.now() - mark);
    warmBreakdown = warm.timings;
    const w = warm.timings;
    console.log(
      `  warm run ${r + 1}: ${(warmMs[r]! / 1000).toFixed(2)} s = copy + start ${(w.shadowStartMs / 1000).toFixed(2)} s, catalog ${(w.snapshotMs / 1000).toFixed(2)} s, migration ${(w.migrationApplyMs / 1000).toFixed(2)} s, diff + analysis ${((w.diffMs + w.analysisMs) / 1000).toFixed(2)} s, rest ${((w.totalMs - w.shadowStartMs - w.snapshotMs - w.migrationApplyMs - w.diffMs - w.analysisMs) / 1000).toFixed(2)} s`,
    );
    if (warm.shadowBase?.state !== 'reused')
      throw new Error('the warm check did not reuse the base');
    if (JSON.stringify(warm.findings) !== JSON.stringify(cold.findings))
      throw new Error('warm and cold findings differ');
  }

  // Raw Postgres: the migration alone, applied to a copy of the already-built base.
  const snapshot = path.join(cacheDir, key);
  const password = (
    JSON.parse(fs.readFileSync(path.join(snapshot, 'secret.json'), 'utf8')) as { password: string }
  ).password;
  const rawMs: number[] = [];
  const rawRunningMs: number[] = [];
  for (let r = 0; r < warmRuns; r += 1) {
    mark = performance.now();
    // In the same place pgpact puts its shadow copies (shared memory when it has room).
    const parentDir = shadowParentDir(2 * 1024 ** 3);
    const copy = await startThrowawayServer({
      copyOf: { dataDir: path.join(snapshot, 'data'), password },
      ...(parentDir ? { parentDir } : {}),
    });
    try {
      let sqlMs = 0;
      await withClient(copy.url, async (c) => {
        const m = performance.now();
        await c.query(migration);
        sqlMs = performance.now() - m;
      });
      rawRunningMs.push(sqlMs);
    } finally {
      await copy.destroy();
    }
    rawMs.push(performance.now() - mark);
  }
  const du = execFileSync('du', ['-sh', path.join(snapshot, 'data')], { encoding: 'utf8' }).split(
    '\t',
  )[0];

  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const warm = median(warmMs);
  const raw = median(rawMs);
  const floor = median(rawRunningMs);
  const t = warmBreakdown;
  console.log(
    `findings: ${cold.findings.length} (${cold.breaking ? 'breaking' : 'not breaking'}), identical cold and warm`,
  );
  console.log(
    `cold check (build the base, keep the snapshot): ${s(coldMs)} (shadow start ${s(cold.timings.shadowStartMs)}, base ${s(cold.timings.baseApplyMs)}, keeping the snapshot ${s(cold.timings.baseSaveMs)})`,
  );
  console.log(
    `warm check, same base (median of ${warmRuns}: ${warmMs.map(s).join(', ')}): ${s(warm)}  goal ≤ 1.50 s: ${warm <= 1500 ? 'PASS' : 'FAIL'}`,
  );
  console.log(
    `  last warm run: copy + start ${s(t.shadowStartMs)}, catalog read after the migration ${s(t.snapshotMs)}, migration ${s(t.migrationApplyMs)}, diff ${s(t.diffMs)}, analysis ${s(t.analysisMs)}, the rest (hashing the base files, reading the migration, removing the copy) ${s(t.totalMs - t.shadowStartMs - t.snapshotMs - t.migrationApplyMs - t.diffMs - t.analysisMs)}`,
  );
  console.log(
    `raw Postgres, the migration alone on a copy of the built base (copy ${du} into ${shadowParentDir(2 * 1024 ** 3) ?? os.tmpdir()}, start, apply, stop; median of ${warmRuns}): ${s(raw)}`,
  );
  console.log(
    `warm ÷ raw = ${(warm / raw).toFixed(2)}  goal ≤ 3: ${warm / raw <= 3 ? 'PASS' : 'FAIL'}`,
  );
  console.log(
    `(the migration's SQL alone on an already running copy: ${(floor).toFixed(0)} ms; warm ÷ that = ${(warm / floor).toFixed(0)})`,
  );
  process.exitCode = warm <= 1500 && warm / raw <= 3 ? 0 : 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
