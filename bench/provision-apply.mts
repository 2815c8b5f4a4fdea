/**
 * Provisioning cost on a brownfield database of many tables: reading the catalog,
 * planning, and applyProvisioning (plan + one transaction + verification re-read),
 * against the raw Postgres operation: the same SQL statements run in one transaction.
 *
 * Run: npx tsx bench/provision-apply.mts [tables=1000]
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { parseManifest } from '../src/manifest/load.js';
import { readCatalog } from '../src/postgres/catalog.js';
import { urlWith, withClient } from '../src/postgres/client.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';
import { applyProvisioning } from '../src/provision/apply.js';
import { planProvisioning } from '../src/provision/plan.js';

const TABLES = Number(process.argv[2] ?? 1000);
const SCHEMAS = ['users', 'invoicing', 'shipping', 'reporting'];
const manifest = parseManifest(
  `version: 1
services:
${SCHEMAS.map((s, i) => `  ${s}:\n    owns: [${s}]\n${i > 0 ? `    reads:\n      users.t0: [id, a]\n` : ''}${s === 'reporting' ? '    enforcement: audit\n' : ''}`).join('')}`,
  '/bench/pgpact.yaml',
);

async function brownfield(url: string): Promise<void> {
  await withClient(url, async (c) => {
    for (const schema of SCHEMAS) await c.query(`CREATE SCHEMA ${schema}`);
    const per = Math.ceil(TABLES / SCHEMAS.length);
    for (const schema of SCHEMAS) {
      const ddl: string[] = [];
      for (let i = 0; i < per; i++) {
        ddl.push(
          `CREATE TABLE ${schema}.t${i} (id serial PRIMARY KEY, a text, b int); GRANT ALL ON ${schema}.t${i} TO PUBLIC;`,
        );
      }
      await c.query(ddl.join('\n'));
    }
  });
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

const server = await startThrowawayServer({ prefix: 'pgpact' });
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-bench-'));
try {
  // Two identical databases: one provisioned by pgpact, one by running the plan's SQL raw.
  const ours = urlWith(server.url, { database: 'ours' });
  const raw = urlWith(server.url, { database: 'raw' });
  await withClient(server.url, async (c) => {
    await c.query('CREATE DATABASE ours');
    await c.query('CREATE DATABASE raw');
  });
  await brownfield(ours);
  await brownfield(raw);

  let t = process.hrtime.bigint();
  const catalog = await withClient(ours, readCatalog);
  const readMs = ms(t);
  t = process.hrtime.bigint();
  const plan = planProvisioning(manifest, catalog);
  const planMs = ms(t);

  t = process.hrtime.bigint();
  const result = await applyProvisioning(ours, manifest, { stateDir });
  const applyMs = ms(t);

  // The raw operation: the same statements (roles exist now, so without CREATE ROLE) in one transaction.
  const statements = plan.steps.filter((s) => s.kind !== 'create-role').map((s) => s.sql);
  t = process.hrtime.bigint();
  await withClient(raw, async (c) => {
    await c.query('BEGIN');
    for (const sql of statements) await c.query(sql);
    await c.query('ROLLBACK');
  });
  const rawMs = ms(t);

  console.log(
    `provisioning ${TABLES} brownfield tables in ${SCHEMAS.length} schemas (PG ${server.majorVersion}):`,
  );
  console.log(
    `  plan: ${plan.steps.length} steps; readCatalog ${readMs.toFixed(0)} ms, planProvisioning ${planMs.toFixed(0)} ms`,
  );
  console.log(
    `  applyProvisioning (read + plan + one transaction + re-read + verify): ${applyMs.toFixed(0)} ms, ${result.steps.length} steps`,
  );
  console.log(
    `  raw: the same ${statements.length} statements in one transaction: ${rawMs.toFixed(0)} ms`,
  );
  console.log(`  ratio applyProvisioning / raw statements: ${(applyMs / rawMs).toFixed(2)}x`);
} finally {
  await server.destroy();
  fs.rmSync(stateDir, { recursive: true, force: true });
}
