import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMigrationText } from '../../src/impact/migration-file.js';
import { loadParser, splitStatements } from '../../src/sql/parse.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run.js';

/** Large SQL inputs: analyzed piece by piece, or refused up front with the limit; never a false syntax error. */

let server: TestServer;
let db: string;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  db = await server.createDatabase('large');
  dir = tempDir('pgpact-large-');
  await loadParser();
});
afterAll(async () => {
  await server?.destroy();
});

const analyze = (...args: string[]) =>
  runCli(['analyze', '--database-url-env', 'DB', ...args], {
    cwd: dir,
    env: { DB: db },
    timeoutMs: 600_000,
  });

/** Statements that hold semicolons inside quotes, comments, dollar quotes and routine bodies. */
const TRICKY = [
  "SELECT 'a;b', E'it\\'s; fine', \"odd;name\".x FROM (SELECT 1 AS x) AS \"odd;name\";",
  '/* a comment; with /* nested; */ semicolons */ SELECT 2;',
  '-- a line comment; here\nSELECT 3;',
  'DO $body$ BEGIN PERFORM 1; PERFORM 2; END $body$;',
  'CREATE FUNCTION f_$n() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 ELSE 3 END; END;',
  'CREATE OR REPLACE PROCEDURE p_$n() LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;',
  "SELECT $$;$$, $tag$ ; $$ ; $tag$, U&'\\0041;';",
];

describe('pgpact analyze on large inputs', () => {
  it('a 24 MB script (more than the parser takes in one piece) is analyzed: valid JSON, every statement', async () => {
    const stmt = `SELECT ${Array.from({ length: 1000 }, (_, i) => i).join(', ')};\n`;
    const count = Math.ceil(24e6 / stmt.length);
    const file = path.join(dir, 'big.sql');
    fs.writeFileSync(file, stmt.repeat(count));
    const r = await analyze('--json', file);
    expect(r.err).not.toContain('syntax error');
    expect(r.err).not.toContain('Program terminated');
    expect(r.code, r.err.slice(0, 2000)).toBe(0);
    const json = JSON.parse(r.out) as { sql: string }[];
    expect(json).toHaveLength(count);
    expect(json[count - 1]!.sql).toBe(stmt.trim().replace(/;$/, ''));
    expect(r.err).toBe('');
  }, 600_000);

  it('a long script with semicolons in quotes, comments, dollar quotes and BEGIN ATOMIC splits as the parser splits it', async () => {
    const parts: string[] = [];
    let size = 0;
    for (let n = 0; size < 3_000_000; n += 1) {
      const s = TRICKY[n % TRICKY.length]!.replaceAll('$n', String(n));
      parts.push(s);
      size += s.length + 1;
    }
    const text = `${parts.join('\n')}\n`;
    const file = path.join(dir, 'tricky.sql');
    fs.writeFileSync(file, text);
    const r = await analyze('--json', file);
    expect(r.code, r.err.slice(0, 2000)).toBe(0);
    const got = (JSON.parse(r.out) as { sql: string }[]).map((s) => s.sql);
    // The same text in one parser call (it fits) gives the reference split.
    expect(got).toEqual(splitStatements(text).map((s) => s.sql));
  }, 600_000);

  it('a syntax error deep in a long script is reported at its own line, with nothing on stdout', async () => {
    const lines = Array.from(
      { length: 60_000 },
      (_, i) => `SELECT ${i}, 'row ${i} of a long script';`,
    );
    lines[54_321] = 'SELECT FROM WHERE;';
    const file = path.join(dir, 'broken.sql');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(fs.statSync(file).size).toBeGreaterThan(2_000_000);
    const r = await analyze('--json', file);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${file}:54322:`);
    expect(r.err).toContain('SELECT FROM WHERE;');
  }, 600_000);

  it('one statement over the limit is refused up front, naming the limit', async () => {
    const file = path.join(dir, 'huge-statement.sql');
    fs.writeFileSync(
      file,
      `SELECT 1;\nINSERT INTO t VALUES ${Array.from({ length: 1_100_000 }, (_, i) => `(${i})`).join(',')};\n`,
    );
    const r = await analyze('--json', file);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('[INPUT_TOO_LARGE]');
    expect(r.err).toContain('the statement at line 2');
    expect(r.err).toMatch(/at most 8 MB/);
  }, 600_000);
});

describe('migration and base files for check', () => {
  it('a 24 MB schema text (a --base dump) parses piece by piece: every statement, located, no false syntax error', async () => {
    await loadParser();
    const stmt = `SELECT ${Array.from({ length: 1000 }, (_, i) => i).join(', ')};\n`;
    const count = Math.ceil(24e6 / stmt.length);
    const text = `CREATE SCHEMA users;\n${stmt.repeat(count)}`;
    const parsed = parseMigrationText(text, 'base.sql');
    if (!Array.isArray(parsed)) throw new Error(`a false syntax error: ${parsed.message}`);
    expect(parsed).toHaveLength(count + 1);
    expect(parsed[count]!.line).toBe(count + 1);
    expect(parsed[count]!.index).toBe(count);
    expect(text.slice(parsed[count]!.offset, parsed[count]!.offset + 9)).toBe('SELECT 0,');
  }, 600_000);
});

describe('pgpact check on a large migration file', () => {
  it('is refused up front with the limit, before any shadow database starts', async () => {
    fs.writeFileSync(
      path.join(dir, 'pgpact.yaml'),
      'version: 1\nservices:\n  users:\n    owns: [users]\n',
    );
    const file = path.join(dir, 'big-migration.sql');
    fs.writeFileSync(file, 'INSERT INTO users.t VALUES (1);\n'.repeat(150_000));
    const r = await runCli(['check', '--format', 'json', file], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('[INPUT_TOO_LARGE]');
    expect(r.err).toContain('big-migration.sql');
    expect(r.err).toMatch(/at most 4 MB/);
  });
});
