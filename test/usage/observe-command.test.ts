import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { loadManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { loadUsage } from '../../src/usage/store.js';
import { usageFindings } from '../../src/usage/usage-findings.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';

const EXAMPLE = path.join(import.meta.dirname, '..', 'sql', 'fixtures', 'example.sql');

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out: (t: string) => {
      o.stdout += t;
    },
    err: (t: string) => {
      o.stderr += t;
    },
  };
  return o;
}

describe('pgpact observe', () => {
  let server: TestServer;
  let url: string;
  let dir: string;
  let config: string;
  let out: string;

  const asRole = (role: string, sql: string, params: unknown[] = []) =>
    withClient(urlWith(url, { user: role, password: 'pw' }), (c) => c.query(sql, params));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-observe-cli-'));
    config = path.join(dir, 'pgpact.yaml');
    out = path.join(dir, 'state', 'usage.json');
    fs.writeFileSync(
      config,
      'version: 1\nservices:\n  users:\n    owns: [users]\n  invoicing:\n    owns: [invoicing]\n    reads:\n      users.account: [id, name]\n',
    );
    server = await startTestServer();
    url = await server.createDatabase('observe_cli');
    await withClient(url, async (c) => {
      await c.query(fs.readFileSync(EXAMPLE, 'utf8'));
      for (const role of ['users', 'invoicing', 'bi_tool']) {
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
        await c.query(`GRANT USAGE ON SCHEMA users, invoicing TO ${role}`);
        await c.query(
          `GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA users, invoicing TO ${role}`,
        );
        await c.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA users, invoicing TO ${role}`);
      }
      await c.query('ALTER SCHEMA users OWNER TO users; ALTER TABLE users.account OWNER TO users');
      await c.query(
        'ALTER SCHEMA invoicing OWNER TO invoicing; ALTER TABLE invoicing.invoice OWNER TO invoicing',
      );
      await c.query('SELECT pg_stat_statements_reset()');
    });
    await asRole('users', 'INSERT INTO users.account (name, zip) VALUES ($1, $2)', ['Ada', '1000']);
    await asRole('invoicing', 'SELECT name, zip FROM users.account WHERE id = $1', [1]);
    await asRole(
      'invoicing',
      'INSERT INTO invoicing.invoice (account_id, amount) VALUES ($1, $2)',
      [1, 5],
    );
    await asRole('bi_tool', 'SELECT city, count(*) FROM users.account GROUP BY city');
  });

  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports findings as JSON, saves the snapshot and exits 1 on warnings', async () => {
    const o = capture();
    const code = await runCommand(
      [
        'observe',
        '--config',
        config,
        '--database-url',
        url,
        '--out',
        out,
        '--json',
        '--since-reset',
      ],
      o,
    );
    expect(o.stderr).toBe('');
    expect(code).toBe(1);
    const report = JSON.parse(o.stdout);
    expect(report.window.mode).toBe('since-reset');
    expect(report.snapshot).toBe(out);
    expect(
      report.findings.map((f: { kind: string; object: string }) => `${f.kind} ${f.object}`),
    ).toEqual(['unknown-role bi_tool', 'undeclared-read users.account.zip']);
    expect(report.findings[1]).toMatchObject({
      severity: 'warning',
      consumers: [{ service: 'invoicing', source: 'observed' }],
    });
    expect(report.roles.find((r: { role: string }) => r.role === 'invoicing')).toMatchObject({
      service: 'invoicing',
      calls: 2,
    });
    expect(
      loadUsage(out).roles.find((r) => r.role === 'bi_tool')?.reads['users.account.city']?.calls,
    ).toBe(1);
  });

  it('observes the delta on the next run and prints a readable report', async () => {
    await asRole('invoicing', 'SELECT name FROM users.account WHERE id = $1', [2]);
    const o = capture();
    const code = await runCommand(
      ['observe', '--config', config, '--database-url', url, '--out', out],
      o,
    );
    expect(code).toBe(0);
    expect(o.stdout).toContain('the delta since the previous snapshot');
    expect(o.stdout).toMatch(/invoicing\s+invoicing\s+1\s+1\s+1\s+0/);
    expect(o.stdout).toContain('no findings');
  });

  it('suggests contracts that, pasted into a manifest, declare everything observed', async () => {
    const o = capture();
    expect(
      await runCommand(
        [
          'observe',
          '--database-url',
          url,
          '--config',
          config,
          '--out',
          out,
          '--since-reset',
          '--suggest',
        ],
        o,
      ),
    ).toBe(0);
    expect(o.stdout).toContain('users.account: [id, name, zip]');
    expect(o.stdout).toContain('bi_tool:');
    const suggested = path.join(dir, 'suggested.yaml');
    const owns =
      'version: 1\nservices:\n  users:\n    owns: [users]\n  invoicing:\n    owns: [invoicing]\n';
    // The suggestion's services, merged by hand the way a team would: owners stay, contracts come from the suggestion.
    const body = o.stdout.replace(/^#.*\n/gm, '').replace(/^services:\n/, '');
    fs.writeFileSync(
      suggested,
      `${owns.replace('  invoicing:\n    owns: [invoicing]\n', '')}${body.replace('  invoicing:\n', '  invoicing:\n    owns: [invoicing]\n')}`,
    );
    const manifest = loadManifest(suggested);
    const findings = usageFindings(loadUsage(out), manifest);
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('reads an exported JSON file and reports statements it cannot analyze', async () => {
    const file = path.join(dir, 'export.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        rows: [
          {
            rolname: 'invoicing',
            queryid: '1',
            query: 'SELECT billing_city FROM invoicing.invoice',
            calls: 4,
            rows: 4,
            total_exec_time: 1.5,
          },
          {
            rolname: 'invoicing',
            queryid: '2',
            query:
              'SELECT name, street_and_number FROM users.account WHERE id IN (SELECT account_id FROM invoicing.invoice WHERE',
            calls: 2,
          },
          {
            rolname: 'invoicing',
            datname: 'another_db',
            queryid: '3',
            query: 'SELECT 1',
            calls: 1,
          },
        ],
      }),
    );
    const o = capture();
    expect(
      await runCommand(
        [
          'observe',
          '--config',
          config,
          '--database-url',
          url,
          '--out',
          path.join(dir, 'file-usage.json'),
          '--from',
          file,
          '--json',
        ],
        o,
      ),
    ).toBe(0);
    const report = JSON.parse(o.stdout);
    expect(report.window.mode).toBe('file');
    expect(
      report.findings.map((f: { kind: string; object: string }) => `${f.kind} ${f.object}`),
    ).toEqual([
      'unanalyzed-statement invoicing',
      // The file holds no read of the declared columns.
      'unused-contract-column users.account.id',
      'unused-contract-column users.account.name',
    ]);
    expect(report.findings[0].message).toContain('query 2: the text looks truncated');
  });

  it('works without a manifest: every role is unknown', async () => {
    const cwd = process.cwd();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-no-manifest-'));
    process.chdir(empty);
    try {
      const o = capture();
      expect(
        await runCommand(
          [
            'observe',
            '--database-url',
            url,
            '--out',
            path.join(empty, 'u.json'),
            '--since-reset',
            '--json',
          ],
          o,
        ),
      ).toBe(1);
      expect(o.stderr).toContain('no manifest');
      const kinds = JSON.parse(o.stdout).findings.map(
        (f: { kind: string; object: string }) => `${f.kind} ${f.object}`,
      );
      expect(kinds).toEqual(
        expect.arrayContaining([
          'unknown-role bi_tool',
          'unknown-role invoicing',
          'unknown-role users',
        ]),
      );
    } finally {
      process.chdir(cwd);
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses --reset with --from, and --since-reset with --reset', async () => {
    const o = capture();
    expect(await runCommand(['observe', '--from', 'x.json', '--reset'], o)).toBe(2);
    expect(await runCommand(['observe', '--since-reset', '--reset'], o)).toBe(2);
  });
});
