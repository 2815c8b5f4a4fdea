import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run.js';

/**
 * SQL files without a statement get one answer everywhere (exit 2, SQL_EMPTY), and input
 * bytes never reach the terminal raw.
 */

let server: TestServer;
let db: string;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  db = await server.createDatabase('sqlinput');
  dir = tempDir('pgpact-sqlinput-');
  fs.writeFileSync(
    path.join(dir, 'pgpact.yaml'),
    'version: 1\nservices:\n  users:\n    owns: [users]\n',
  );
});
afterAll(async () => {
  await server?.destroy();
});

const EMPTY: Record<string, string> = {
  empty: '',
  whitespace: '  \n\t\n',
  'line comment': '-- nothing to see\n',
  'block comment': '/* nothing /* nested */ here */\n',
  'lone semicolons': ';\n;\n',
};

// Without --database-url check builds a shadow server: give it the test server instead.
const analyze = (...args: string[]) =>
  runCli(['analyze', '--database-url-env', 'DB', ...args], { cwd: dir, env: { DB: db } });
const check = (...args: string[]) =>
  runCli(['check', '--service', 'users', '--database-url-env', 'DB', ...args], {
    cwd: dir,
    env: { DB: db },
  });

describe('a SQL file without a statement', () => {
  for (const [name, text] of Object.entries(EMPTY)) {
    it(`${name}: analyze and check both exit 2 with SQL_EMPTY naming the file, nothing on stdout`, async () => {
      const file = `${name.replaceAll(' ', '-')}.sql`;
      fs.writeFileSync(path.join(dir, file), text);
      for (const r of [await analyze('--json', file), await check('--format', 'json', file)]) {
        expect(r.code, r.err).toBe(2);
        expect(r.out).toBe('');
        expect(r.err).toContain('[SQL_EMPTY]');
        expect(r.err).toContain(`${file} holds no SQL statement`);
        expect(r.err).not.toContain('Query cannot be empty');
      }
    });
  }

  it('stdin without a statement: the same answer', async () => {
    const r = await runCli(['analyze', '--database-url-env', 'DB'], {
      cwd: dir,
      env: { DB: db },
      input: '\n-- x\n',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('stdin holds no SQL statement');
  });
});

describe('binary input', () => {
  it('bytes that are not UTF-8 are refused as not text, never echoed', async () => {
    const bytes = Buffer.from([
      0x53, 0x45, 0x4c, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a, 0x9b, 0x31,
    ]);
    fs.writeFileSync(path.join(dir, 'binary.sql'), bytes);
    for (const r of [await analyze('binary.sql'), await check('binary.sql')]) {
      expect(r.code).toBe(2);
      expect(r.err).toContain('[INPUT_NOT_TEXT]');
      expect(r.err).toContain('binary.sql is not SQL text: it is not valid UTF-8 (line 1)');
      expect(r.err).not.toContain('\x1b');
    }
  });

  it('a NUL byte is refused as not text, with its line', async () => {
    fs.writeFileSync(path.join(dir, 'nul.sql'), 'SELECT 1;\nSELECT 2\0;\n');
    const r = await analyze('nul.sql');
    expect(r.code).toBe(2);
    expect(r.err).toContain('nul.sql is not SQL text: it holds NUL bytes (line 2)');
  });

  it('control characters in an echoed source line are escaped, the caret still under the column', async () => {
    fs.writeFileSync(path.join(dir, 'ctrl.sql'), 'SELECT 1;\nSELECT \x1b[2J\x07 FROM;\n');
    for (const r of [await analyze('ctrl.sql'), await check('ctrl.sql')]) {
      expect(r.code).toBe(2);
      expect(r.err).toContain('[SQL_SYNTAX]');
      // No byte below 0x20 but newlines reaches the terminal.
      expect([...r.err].filter((c) => c.charCodeAt(0) < 0x20 && c !== '\n')).toEqual([]);
      const lines = r.err.split('\n');
      const source = lines.findIndex((l) => l.includes('SELECT \\x1b[2J\\x07 FROM;'));
      expect(source, r.err).toBeGreaterThan(-1);
      const caret = lines[source + 1]!.indexOf('^');
      expect(lines[source]!.slice(caret)).toMatch(/^\\x1b/);
    }
  });

  it('a very long line is cut around the error, not echoed whole', async () => {
    fs.writeFileSync(
      path.join(dir, 'long-line.sql'),
      `SELECT ${'1, '.repeat(20_000)} FROM WHERE;\n`,
    );
    const r = await analyze('long-line.sql');
    expect(r.code).toBe(2);
    expect(r.err.length).toBeLessThan(2_000);
    expect(r.err).toContain('…');
    expect(r.err).toContain('WHERE');
  });
});
