import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';

const EXAMPLE = path.join(import.meta.dirname, 'fixtures', 'example.sql');

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

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-analyze-cli-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('pgpact analyze --schema', () => {
  it('prints the documented JSON, one object per statement, arrays sorted', async () => {
    const file = write(
      'reporting.sql',
      "-- reporting\nSELECT a.name, i.amount FROM users.account a JOIN invoicing.invoice i ON i.account_id = a.id;\nSET search_path = users;\nDELETE FROM account WHERE zip = 'x';",
    );
    const out = capture();
    const code = await runCommand(['analyze', '--schema', EXAMPLE, '--json', file], out);
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([
      {
        sql: 'SELECT a.name, i.amount FROM users.account a JOIN invoicing.invoice i ON i.account_id = a.id',
        reads: [
          'invoicing.invoice.account_id',
          'invoicing.invoice.amount',
          'users.account.id',
          'users.account.name',
        ],
        writes: [],
        relations: { read: ['invoicing.invoice', 'users.account'], write: [] },
        warnings: [],
      },
      {
        sql: 'SET search_path = users',
        reads: [],
        writes: [],
        relations: { read: [], write: [] },
        warnings: [],
      },
      {
        sql: "DELETE FROM account WHERE zip = 'x'",
        reads: ['users.account.zip'],
        writes: [],
        relations: { read: ['users.account'], write: ['users.account'] },
        warnings: [],
      },
    ]);
  });

  it('prints a readable report grouped by relation', async () => {
    const file = write(
      'one.sql',
      'SELECT count(*) FROM users.account; UPDATE users.account SET zip = $1 WHERE id = $2',
    );
    const out = capture();
    expect(await runCommand(['analyze', '--schema', EXAMPLE, file], out)).toBe(0);
    expect(out.stdout).toBe(
      [
        `${file}:1: SELECT count(*) FROM users.account`,
        '  reads   users.account (no column)',
        '  writes  -',
        '',
        `${file}:1: UPDATE users.account SET zip = $1 WHERE id = $2`,
        '  reads   users.account: id',
        '  writes  users.account: zip',
        '',
      ].join('\n'),
    );
  });

  it('reports a syntax error with file, line, column and a caret, exit 2, before building any catalog', async () => {
    const file = write('bad.sql', 'SELECT 1;\nSELECT name\n  FROM users.account WHER id = 1;');
    const out = capture();
    const code = await runCommand(
      ['analyze', '--schema', path.join(dir, 'missing.sql'), file],
      out,
    );
    expect(code).toBe(2);
    expect(out.stderr).toContain(`${file}:3:27: syntax error at or near "id"`);
    // The offending line, then a caret under column 27 (the report indents both by two spaces).
    expect(out.stderr).toContain(`    FROM users.account WHER id = 1;\n  ${' '.repeat(26)}^\n`);
  });

  it('refuses --schema together with --database-url', async () => {
    const out = capture();
    expect(
      await runCommand(
        ['analyze', '--schema', EXAMPLE, '--database-url', 'postgresql://x@localhost/db'],
        out,
      ),
    ).toBe(2);
    expect(out.stderr).toContain('not both');
  });

  it('names the schema file when its DDL fails', async () => {
    const ddl = write('broken.sql', 'CREATE TABLE t (id int);\nCREATE TABLE t (id int);');
    const out = capture();
    const file = write('q.sql', 'SELECT 1');
    expect(await runCommand(['analyze', '--schema', ddl, file], out)).toBe(2);
    expect(out.stderr).toContain(`${ddl}: relation "t" already exists`);
  });
});

describe('pgpact analyze --database-url', () => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startTestServer();
    url = await server.createDatabase('analyze');
    await withClient(url, async (c) => {
      await c.query(fs.readFileSync(EXAMPLE, 'utf8'));
      await c.query(
        'CREATE ROLE invoicing; ALTER ROLE invoicing SET search_path = invoicing, users',
      );
    });
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it("resolves names with the role's own search_path", async () => {
    const file = write(
      'role.sql',
      'SELECT amount, name FROM invoice JOIN account ON account.id = invoice.account_id',
    );
    const out = capture();
    expect(
      await runCommand(
        ['analyze', '--database-url', url, '--role', 'invoicing', '--json', file],
        out,
      ),
    ).toBe(0);
    expect(JSON.parse(out.stdout)[0].reads).toEqual([
      'invoicing.invoice.account_id',
      'invoicing.invoice.amount',
      'users.account.id',
      'users.account.name',
    ]);
  });

  it('takes --search-path as Postgres writes it', async () => {
    const file = write(
      'path.sql',
      'SELECT full_name FROM legacy_customer; SELECT city FROM account',
    );
    const out = capture();
    expect(
      await runCommand(
        [
          'analyze',
          '--database-url',
          url,
          '--search-path',
          '"$user", Users, public',
          '--json',
          file,
        ],
        out,
      ),
    ).toBe(0);
    expect(JSON.parse(out.stdout).map((a: { reads: string[] }) => a.reads)).toEqual([
      ['public.legacy_customer.full_name'],
      ['users.account.city'],
    ]);
  });
});
