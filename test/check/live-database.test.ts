import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCheck } from '../../src/impact/run-check.js';
import { parseManifest } from '../../src/manifest/load.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

const MANIFEST = `version: 1
services:
  live_users:
    owns: [live_users]
  live_invoicing:
    owns: [live_invoicing]
    reads:
      live_users.account: [id, name, street_and_number]
`;

describeEachServer('pgpact check --database-url', (server) => {
  it('reads the live catalog, reports sizes, and leaves the database exactly as it was', async () => {
    const url = await server().createDatabase('live');
    await withClient(url, async (c) => {
      await c.query(`
        DROP ROLE IF EXISTS live_users; DROP ROLE IF EXISTS live_invoicing;
        CREATE ROLE live_users NOLOGIN; CREATE ROLE live_invoicing NOLOGIN;
        CREATE SCHEMA live_users AUTHORIZATION live_users;
        CREATE SCHEMA live_invoicing AUTHORIZATION live_invoicing;
        SET ROLE live_users;
        CREATE TABLE live_users.account (id int PRIMARY KEY, name text, street_and_number text, zip text);
        INSERT INTO live_users.account SELECT g, 'n' || g, 'Main St ' || g, '1000' FROM generate_series(1, 5000) g;
        RESET ROLE;
        ANALYZE live_users.account;`);
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-check-live-'));
    const file = path.join(dir, '002.sql');
    fs.writeFileSync(
      file,
      `ALTER TABLE live_users.account DROP COLUMN street_and_number;
ALTER TABLE live_users.account ALTER COLUMN zip TYPE integer USING zip::integer;
UPDATE live_users.account SET name = upper(name);
CREATE INDEX CONCURRENTLY account_zip_idx ON live_users.account (zip);
`,
    );
    const manifest = parseManifest(MANIFEST, path.join(dir, 'pgpact.yaml'));
    const before = await withClient(url, (c) => readCatalog(c));

    const report = await runCheck({ manifest, files: [file], root: dir, databaseUrl: url });

    expect(report.base).toBe('database');
    expect(report.owners).toEqual({ '002.sql': { service: 'live_users', role: 'live_users' } });
    const dropped = report.findings.find((f) => f.kind === 'column-dropped')!;
    expect(dropped).toMatchObject({
      severity: 'breaking',
      object: 'live_users.account.street_and_number',
      consumers: [{ service: 'live_invoicing', source: 'declared' }],
      location: '002.sql:1',
    });
    const rewrite = report.findings.find((f) => f.kind === 'table-rewrite')!;
    expect(rewrite.location).toBe('002.sql:2');
    expect(rewrite.message).toContain('≈5,000 rows');
    // DML and CONCURRENTLY are not run against a live database, and say so.
    const skipped = report.findings
      .filter((f) => f.kind === 'statement-not-checked')
      .map((f) => f.location);
    expect(skipped).toEqual(['002.sql:4']);
    expect(report.statements.map((s) => s.status)).toEqual([
      'applied',
      'applied',
      'skipped',
      'skipped',
    ]);

    const after = await withClient(url, (c) => readCatalog(c));
    expect(after).toEqual(before);
    await withClient(url, async (c) => {
      const { rows } = await c.query<{ n: string; upper: string }>(
        'SELECT count(*)::text AS n, count(*) FILTER (WHERE name = upper(name))::text AS upper FROM live_users.account',
      );
      expect(rows[0]).toEqual({ n: '5000', upper: '0' });
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
