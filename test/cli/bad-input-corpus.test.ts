import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run.js';

/**
 * The bad-input corpus: each case runs the real CLI on one bad input (manifest, migration
 * file, SQL file, URL, option, environment) and asserts the exit code, a message naming the
 * input, the fix, no stack trace, no INTERNAL, and that neither the catalog nor any file changed.
 */

interface Case {
  group: 'manifest' | 'migration' | 'sql' | 'url' | 'option' | 'environment';
  name: string;
  args: string[];
  /** Files of the case's folder (over the valid base files); null removes a base file. */
  files?: Record<string, string | Buffer | null>;
  env?: Record<string, string | undefined>;
  input?: string;
  code?: number;
  /** What the message must name: the input (file:line, option, value, host...). */
  says: (RegExp | string)[];
  /** The fix the message gives. */
  fix: RegExp | string;
}

const MANIFEST = `version: 1
services:
  users:
    owns: [users]
  invoicing:
    owns: [invoicing]
    reads:
      users.account: [id, name]
`;

const SPLIT = `name: split
operations:
  - split_column:
      table: users.account
      from: street_and_number
      to:
        - { name: street, type: text, up: "split_part(street_and_number, ' ', 1)" }
        - { name: number, type: text, up: "split_part(street_and_number, ' ', 2)" }
      down: "street || ' ' || number"
`;

const manifest = (yaml: string | Buffer) => ({ 'pgpact.yaml': yaml });
const HINT = /hint: /;
const USAGE = /usage: pgpact /;

let server: TestServer;
let db: string;
let httpServer: http.Server;
let httpPort = 0;

function cases(): Case[] {
  const url = () => db;
  const port = () => new URL(db).port;
  return [
    // --- manifest (plan reads the manifest and the catalog, changes nothing) ---
    {
      group: 'manifest',
      name: 'no pgpact.yaml',
      args: ['plan'],
      files: { 'pgpact.yaml': null },
      says: ['pgpact.yaml'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: '--config names a missing file',
      args: ['plan', '--config', 'nope.yaml'],
      says: ['nope.yaml'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: '--config names a directory',
      args: ['plan', '--config', 'sub'],
      files: { 'sub/x': 'x' },
      says: ['sub'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'YAML syntax error',
      args: ['plan'],
      files: manifest('version: 1\nservices:\n  a: [x, y\n  b: {}\n'),
      says: [/pgpact\.yaml:\d+:\d+/],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'empty manifest',
      args: ['plan'],
      files: manifest(''),
      says: ['pgpact.yaml'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'manifest is a YAML list',
      args: ['plan'],
      files: manifest('- a\n- b\n'),
      says: ['pgpact.yaml'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'version 2',
      args: ['plan'],
      files: manifest('version: 2\nservices: {}\n'),
      says: [/pgpact\.yaml:1:\d+/, 'version'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'version missing',
      args: ['plan'],
      files: manifest('services:\n  users:\n    owns: [users]\n'),
      says: ['version'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'unknown top-level key (typo)',
      args: ['plan'],
      files: manifest('version: 1\nservics:\n  users: {}\n'),
      says: [/pgpact\.yaml:2:1/, 'servics'],
      fix: /services/,
    },
    {
      group: 'manifest',
      name: 'unknown service key (typo)',
      args: ['plan'],
      files: manifest('version: 1\nservices:\n  users:\n    own: [users]\n'),
      says: [/pgpact\.yaml:4:5/, 'own'],
      fix: /did you mean `owns`/,
    },
    {
      group: 'manifest',
      name: 'owns is a number',
      args: ['plan'],
      files: manifest('version: 1\nservices:\n  users:\n    owns: 5\n'),
      says: [/pgpact\.yaml:4:\d+/, 'owns'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'enforcement: strict',
      args: ['plan'],
      files: manifest('version: 1\nenforcement: strict\nservices:\n  users:\n    owns: [users]\n'),
      says: [/pgpact\.yaml:2:\d+/, 'strict'],
      fix: /enforce.*audit/,
    },
    {
      group: 'manifest',
      name: 'negative connection limit',
      args: ['plan'],
      files: manifest(
        'version: 1\nservices:\n  users:\n    owns: [users]\n    limits: { connections: -5 }\n',
      ),
      says: [/pgpact\.yaml:5:\d+/, '-5'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'statement_timeout: fast',
      args: ['plan'],
      files: manifest(
        'version: 1\nservices:\n  users:\n    owns: [users]\n    limits: { statement_timeout: fast }\n',
      ),
      says: [/pgpact\.yaml:5:\d+/, 'fast'],
      fix: /number and a unit/,
    },
    {
      group: 'manifest',
      name: 'read without a schema',
      args: ['plan'],
      files: manifest(
        'version: 1\nservices:\n  users:\n    owns: [users]\n  b:\n    reads: { account: [id] }\n',
      ),
      says: [/pgpact\.yaml:6:\d+/, 'account'],
      fix: /schema\.table/,
    },
    {
      group: 'manifest',
      name: 'reads column list is a number',
      args: ['plan'],
      files: manifest(
        'version: 1\nservices:\n  users:\n    owns: [users]\n  b:\n    reads: { users.account: 5 }\n',
      ),
      says: [/pgpact\.yaml:6:\d+/],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'two owners of one schema',
      args: ['plan'],
      files: manifest('version: 1\nservices:\n  a:\n    owns: [users]\n  b:\n    owns: [users]\n'),
      says: [/pgpact\.yaml:\d+:\d+/, 'users'],
      fix: HINT,
    },
    {
      group: 'manifest',
      name: 'manifest is binary',
      args: ['plan'],
      files: manifest(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x1b, 0x5b])),
      says: ['pgpact.yaml'],
      fix: HINT,
    },

    // --- migration files (migrate start reads them before anything runs) ---
    {
      group: 'migration',
      name: 'missing migration file',
      args: ['migrate', 'start', 'nope.yaml'],
      says: ['nope.yaml'],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'YAML syntax error',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': 'name: x\noperations:\n  - [a, b\n' },
      says: [/m\.yaml:\d+:\d+/],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'unknown operation (typo)',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': 'name: x\noperations:\n  - add_colum: { table: users.account }\n' },
      says: [/m\.yaml:3:\d+/, 'add_colum'],
      fix: /did you mean `add_column`/,
    },
    {
      group: 'migration',
      name: 'operations is not a list',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': 'name: x\noperations: 5\n' },
      says: [/m\.yaml:2:\d+/],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'no operations',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': 'name: x\noperations: []\n' },
      says: ['m.yaml'],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'add_column without a column',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': 'name: x\noperations:\n  - add_column: { table: users.account }\n' },
      says: [/m\.yaml:3:\d+/, 'column'],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'JSON migration that does not parse',
      args: ['migrate', 'start', 'm.json'],
      files: { 'm.json': '{"name": "x", "operations": [' },
      says: ['m.json'],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'empty migration file',
      args: ['migrate', 'start', 'm.yaml'],
      files: { 'm.yaml': '' },
      says: ['m.yaml'],
      fix: HINT,
    },
    {
      group: 'migration',
      name: 'migrate with an unknown action',
      args: ['migrate', 'begin'],
      says: ['start FILE, status, complete or rollback'],
      fix: USAGE,
    },
    {
      group: 'migration',
      name: 'migrate start without a file',
      args: ['migrate', 'start'],
      says: ['FILE'],
      fix: /give the migration FILE/,
    },
    {
      group: 'migration',
      name: 'complete with nothing started',
      args: ['migrate', 'complete'],
      says: [/no migration|not started|nothing/i],
      fix: /migrate start|hint/,
    },
    {
      group: 'migration',
      name: 'rollback with nothing started',
      args: ['migrate', 'rollback'],
      says: [/no migration|not started|nothing/i],
      fix: /migrate start|hint/,
    },

    // --- SQL files (analyze; check with a live database so no shadow server starts) ---
    {
      group: 'sql',
      name: 'analyze: syntax error',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': 'SELECT 1;\nSELEC 2;\n' },
      says: [/q\.sql:2:1/, 'SELEC'],
      fix: /\^/,
    },
    {
      group: 'sql',
      name: 'analyze: missing file',
      args: ['analyze', 'nope.sql'],
      says: ['nope.sql'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: a directory',
      args: ['analyze', 'sub'],
      files: { 'sub/x': 'x' },
      says: ['sub'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: empty file',
      args: ['analyze', '--json', 'q.sql'],
      files: { 'q.sql': '' },
      says: ['q.sql holds no SQL statement'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: only comments',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': '-- a\n/* b */\n' },
      says: ['q.sql holds no SQL statement'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: empty stdin',
      args: ['analyze'],
      input: '',
      says: ['stdin holds no SQL statement'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: not UTF-8',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': Buffer.from([0x53, 0xff, 0x1b, 0x5b, 0x32, 0x4a]) },
      says: ['q.sql is not SQL text'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: a NUL byte',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': 'SELECT 1;\0' },
      says: ['q.sql', 'NUL'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'analyze: unterminated string',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': "SELECT 'abc;\n" },
      says: [/q\.sql:1:\d+/, 'unterminated'],
      fix: /\^/,
    },
    {
      group: 'sql',
      name: 'analyze: unterminated dollar quote',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': 'SELECT $$abc;\n' },
      says: [/q\.sql:1:\d+/],
      fix: /\^/,
    },
    {
      group: 'sql',
      name: 'analyze: --schema and --database-url',
      args: [
        'analyze',
        '--schema',
        's.sql',
        '--database-url',
        'postgresql://u@localhost/x',
        'q.sql',
      ],
      says: ['--schema', '--database-url'],
      fix: /not both/,
    },
    {
      group: 'sql',
      name: 'check: syntax error',
      args: ['check', '--service', 'users', '--database-url-env', 'DATABASE_URL', 'c.sql'],
      files: { 'c.sql': 'ALTER TABLE users.account ADD COLUM x int;\n' },
      says: [/c\.sql:1:\d+/],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'check: empty file',
      args: ['check', '--service', 'users', '--database-url-env', 'DATABASE_URL', 'c.sql'],
      files: { 'c.sql': '\n\n' },
      says: ['c.sql holds no SQL statement'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'check: missing file',
      args: ['check', '--service', 'users', '--database-url-env', 'DATABASE_URL', 'nope.sql'],
      says: ['nope.sql'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'check: no file given',
      args: ['check'],
      says: ['no migration file given'],
      fix: USAGE,
    },
    {
      group: 'sql',
      name: 'check: not UTF-8',
      args: ['check', '--service', 'users', '--database-url-env', 'DATABASE_URL', 'c.sql'],
      files: { 'c.sql': Buffer.from([0xc3, 0x28, 0x0a]) },
      says: ['c.sql is not SQL text'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'check: file over the size limit',
      args: ['check', '--service', 'users', '--database-url-env', 'DATABASE_URL', 'c.sql'],
      files: { 'c.sql': 'SELECT 1;\n'.repeat(500_000) },
      says: ['c.sql', '4 MB'],
      fix: HINT,
    },
    {
      group: 'sql',
      name: 'check: unknown service',
      args: ['check', '--service', 'nobody', '--database-url-env', 'DATABASE_URL', 'c.sql'],
      files: { 'c.sql': 'SELECT 1;\n' },
      says: ['nobody'],
      fix: /users|invoicing|hint/,
    },

    // --- URLs ---
    {
      group: 'url',
      name: 'wrong password',
      args: ['plan', '--database-url-env', 'BAD'],
      env: { BAD: urlWith(url(), { password: 'wrong-secret' }) },
      says: ['password authentication failed', 'user "postgres"'],
      fix: /PGPASSWORD/,
    },
    {
      group: 'url',
      name: 'no password at all',
      args: ['plan'],
      env: { DATABASE_URL: urlWith(url(), { password: '' }) },
      says: ['none was given'],
      fix: /PGPASSWORD/,
    },
    {
      group: 'url',
      name: 'missing database',
      args: ['plan'],
      env: { DATABASE_URL: urlWith(url(), { database: 'nodb' }) },
      says: ['database "nodb" does not exist'],
      fix: /createdb "nodb"/,
    },
    {
      group: 'url',
      name: 'missing role',
      args: ['plan'],
      env: { DATABASE_URL: urlWith(url(), { user: 'ghost' }) },
      says: ['user "ghost"'],
      fix: /role "ghost" does not exist/,
    },
    {
      group: 'url',
      name: 'a mysql:// URL',
      args: ['plan', '--database-url-env', 'M'],
      env: { M: `mysql://root:wrong-secret@127.0.0.1:${port()}/shop` },
      says: ['mysql://'],
      fix: /postgresql:\/\//,
    },
    {
      group: 'url',
      name: 'a malformed URL',
      args: ['plan', '--database-url', 'postgresql://u:wrong-secret@[::1/db'],
      says: ['not a valid URL'],
      fix: /percent-encode/,
    },
    {
      group: 'url',
      name: 'a port out of range',
      args: ['plan', '--database-url', 'postgresql://u@127.0.0.1:99999/db'],
      says: [/not a valid URL|invalid port/],
      fix: HINT,
    },
    {
      group: 'url',
      name: 'connection refused',
      args: ['plan', '--database-url', 'postgresql://u@127.0.0.1:1/db'],
      says: ['127.0.0.1:1'],
      fix: /is the server running/,
    },
    {
      group: 'url',
      name: 'unknown host',
      args: ['plan', '--database-url', 'postgresql://u@no-such-host.invalid/db'],
      says: ['no-such-host.invalid'],
      fix: /host name/,
    },
    {
      group: 'url',
      name: 'an HTTP server port',
      args: ['plan'],
      env: { DATABASE_URL: `postgresql://u:wrong-secret@127.0.0.1:${httpPort}/db` },
      says: [`127.0.0.1:${httpPort} is not a PostgreSQL server`],
      fix: /host and port/,
    },
    {
      group: 'url',
      name: '--database-url-env names an unset variable',
      args: ['plan', '--database-url-env', 'NOT_SET_HERE'],
      says: ['NOT_SET_HERE'],
      fix: /export NOT_SET_HERE=/,
    },
    {
      group: 'url',
      name: '--database-url and --database-url-env',
      args: ['plan', '--database-url', 'postgresql://u@h/d', '--database-url-env', 'X'],
      env: { X: 'postgresql://u@h/d' },
      says: ['--database-url-env'],
      fix: /not both/,
    },

    // --- options ---
    {
      group: 'option',
      name: 'unknown command',
      args: ['frobnicate'],
      says: ["unknown command 'frobnicate'"],
      fix: /usage: pgpact <command>/,
    },
    {
      group: 'option',
      name: 'unknown option',
      args: ['plan', '--frobnicate'],
      says: ['--frobnicate'],
      fix: USAGE,
    },
    {
      group: 'option',
      name: 'option without its value',
      args: ['plan', '--config'],
      says: ['--config'],
      fix: USAGE,
    },
    {
      group: 'option',
      name: 'check --format xml',
      args: ['check', '--format', 'xml', 'c.sql'],
      says: ['--format'],
      fix: /one of text, json, markdown, sarif/,
    },
    {
      group: 'option',
      name: 'check --fail-on never',
      args: ['check', '--fail-on', 'never', 'c.sql'],
      says: ['--fail-on'],
      fix: /breaking or warning/,
    },
    {
      group: 'option',
      name: 'check --usage of a missing file',
      args: ['check', '--usage', 'nope.json', 'c.sql'],
      files: { 'c.sql': 'SELECT 1;\n' },
      says: ['nope.json'],
      fix: /pgpact observe/,
    },
    {
      group: 'option',
      name: 'metrics --port 99999',
      args: ['metrics', '--port', '99999'],
      says: ['--port', '99999'],
      fix: /1 to 65535/,
    },
    {
      group: 'option',
      name: 'top --interval soon',
      args: ['top', '--interval', 'soon'],
      says: ['--interval', 'soon'],
      fix: /e\.g\. 1s/,
    },
    {
      group: 'option',
      name: 'top --cpus zero',
      args: ['top', '--cpus', 'zero'],
      says: ['--cpus', 'zero'],
      fix: /--cpus 8/,
    },
    {
      group: 'option',
      name: 'migrate --batch-size=-1',
      args: ['migrate', 'start', 'm.yaml', '--batch-size=-1'],
      files: { 'm.yaml': SPLIT },
      says: ['--batch-size', '-1'],
      fix: /positive whole number/,
    },
    {
      group: 'option',
      name: 'migrate --lock-timeout forever',
      args: ['migrate', 'start', 'm.yaml', '--lock-timeout', 'forever'],
      files: { 'm.yaml': SPLIT },
      says: ['--lock-timeout', 'forever'],
      fix: /number and a unit/,
    },
    {
      group: 'option',
      name: 'dashboard on 0.0.0.0 without a token',
      args: ['dashboard', '--host', '0.0.0.0'],
      says: ['0.0.0.0'],
      fix: /PGPACT_DASHBOARD_TOKEN/,
    },
    {
      group: 'option',
      name: 'dashboard token too short',
      args: ['dashboard'],
      env: { PGPACT_DASHBOARD_TOKEN: 'short' },
      says: ['too short'],
      fix: /at least 16/,
    },

    // --- environment ---
    {
      group: 'environment',
      name: 'PGPACT_HOME under a file',
      args: ['db', 'start'],
      env: { PGPACT_HOME: 'afile/home', DATABASE_URL: undefined },
      files: { afile: '' },
      says: ['afile'],
      fix: /PGPACT_HOME/,
    },
    {
      group: 'environment',
      name: 'DATABASE_URL is not a URL',
      args: ['plan'],
      env: { DATABASE_URL: 'localhost:5432' },
      says: [/URL/],
      fix: HINT,
    },
    {
      group: 'environment',
      name: 'DATABASE_URL is a mysql:// URL',
      args: ['plan'],
      env: { DATABASE_URL: 'mysql://root@localhost/shop' },
      says: ['mysql://'],
      fix: /postgresql:\/\//,
    },
    {
      group: 'environment',
      name: 'PGPASSWORD is wrong',
      args: ['plan'],
      env: { DATABASE_URL: urlWith(url(), { password: '' }), PGPASSWORD: 'wrong-secret' },
      says: ['password authentication failed'],
      fix: /PGPASSWORD/,
    },
    {
      group: 'environment',
      name: 'a password file readable by others is ignored',
      args: ['plan'],
      env: { DATABASE_URL: urlWith(url(), { password: '' }), PGPASSFILE: 'passfile' },
      files: { passfile: `*:*:*:*:${decodeURIComponent(new URL(url()).password)}\n` },
      says: ['none was given'],
      fix: /0600/,
    },
    {
      group: 'environment',
      name: 'DATABASE_URL names a missing database',
      args: ['analyze', 'q.sql'],
      files: { 'q.sql': 'SELECT 1;\n' },
      env: { DATABASE_URL: urlWith(url(), { database: 'nodb' }) },
      says: ['"nodb"'],
      fix: /the server has: /,
    },
  ];
}

const STACK = /^\s+at .+:\d+(:\d+)?\)?$/m;

/** Every file under a folder with its hash: what a case must leave as it found it. */
function filesOf(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else
        result[path.relative(dir, full)] = createHash('sha256')
          .update(fs.readFileSync(full))
          .digest('hex');
    }
  };
  walk(dir);
  return result;
}

/** The catalog (relations, columns, schemas, roles, grants, databases) and the data of users.account. */
async function catalogOf(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string }>(`
      SELECT string_agg(x, E'\\n' ORDER BY x) AS t FROM (
        SELECT 'rel ' || c.oid::regclass::text || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '') AS x
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        UNION ALL SELECT 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
          || ' ' || coalesce(a.attacl::text, '')
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL SELECT 'schema ' || nspname || ' ' || nspowner::regrole::text || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
        UNION ALL SELECT 'role ' || rolname || ' ' || rolcanlogin || ' ' || rolconnlimit FROM pg_roles
        UNION ALL SELECT 'setting ' || coalesce(setrole::regrole::text, '-') || ' ' || setconfig::text FROM pg_db_role_setting
        UNION ALL SELECT 'db ' || datname FROM pg_database
        UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT 'data ' || md5(string_agg(a::text, ',' ORDER BY id)) FROM users.account a
      ) s`);
    return rows[0]!.t;
  });
}

beforeAll(async () => {
  server = await startTestServer();
  db = await server.createDatabase('corpus');
  await withClient(db, (c) =>
    c.query(`CREATE SCHEMA users; CREATE SCHEMA invoicing;
      CREATE TABLE users.account (id int PRIMARY KEY, name text, street_and_number text NOT NULL);
      INSERT INTO users.account SELECT g, 'user ' || g, 'Main ' || g FROM generate_series(1, 50) g;`),
  );
  httpServer = http.createServer((_req, res) => res.end('hello\n'));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  httpPort = (httpServer.address() as { port: number }).port;
});
afterAll(async () => {
  httpServer?.closeAllConnections();
  httpServer?.close();
  await server?.destroy();
});

it('the corpus has at least 60 cases across every kind of input', () => {
  const all = cases();
  expect(all.length).toBeGreaterThanOrEqual(60);
  expect(new Set(all.map((c) => c.group)).size).toBe(6);
  expect(new Set(all.map((c) => `${c.group}: ${c.name}`)).size).toBe(all.length);
});

/** Runs one case in its own folder; returns what went wrong (empty when nothing). */
async function runCase(c: Case): Promise<string[]> {
  const dir = tempDir('pgpact-corpus-');
  const files: Record<string, string | Buffer | null> = {
    'pgpact.yaml': MANIFEST,
    'c.sql': 'ALTER TABLE users.account ADD COLUMN note text;\n',
    ...c.files,
  };
  for (const [name, content] of Object.entries(files)) {
    if (content === null) continue;
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
    if (name === 'passfile') fs.chmodSync(path.join(dir, name), 0o644);
  }
  const before = filesOf(dir);
  const env: Record<string, string | undefined> = {
    DATABASE_URL: db,
    HOME: dir,
    PGPACT_HOME: path.join(dir, '.pgpact'),
    ...c.env,
  };
  for (const key of ['PGPACT_HOME', 'PGPASSFILE']) {
    const value = env[key];
    if (value !== undefined && !path.isAbsolute(value)) env[key] = path.join(dir, value);
  }
  const r = await runCli(c.args, {
    cwd: dir,
    env,
    ...(c.input !== undefined ? { input: c.input } : {}),
  });
  const text = `${r.out}${r.err}`;
  const wrong: string[] = [];
  if (r.code !== (c.code ?? 2)) wrong.push(`exit ${r.code}, expected ${c.code ?? 2}`);
  for (const s of c.says) {
    if (typeof s === 'string' ? !text.includes(s) : !s.test(text)) wrong.push(`does not name ${s}`);
  }
  if (typeof c.fix === 'string' ? !text.includes(c.fix) : !c.fix.test(text))
    wrong.push(`gives no fix matching ${c.fix}`);
  if (STACK.test(text)) wrong.push('prints a stack trace');
  if (/INTERNAL|bug in pgpact/.test(text)) wrong.push('reports an internal error');
  if (text.includes('wrong-secret') || text.includes(decodeURIComponent(new URL(db).password)))
    wrong.push('prints a password');
  if (r.out !== '' && r.code !== 0) wrong.push(`writes to stdout: ${r.out.slice(0, 200)}`);
  const after = filesOf(dir);
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    const added = Object.keys(after).filter((f) => !(f in before));
    const changed = Object.keys(before).filter((f) => after[f] !== before[f]);
    wrong.push(
      `changes files: added ${added.slice(0, 5).join(', ')}${added.length > 5 ? ` (+${added.length - 5})` : ''}; changed or removed ${changed.join(', ')}`,
    );
  }
  return wrong.length === 0
    ? []
    : [`${c.group}: ${c.name}: ${wrong.join('; ')}\n    stderr: ${r.err.slice(0, 600)}`];
}

it('every bad input: the exit code, a message naming the input and the fix, no stack trace, catalog and files unchanged', async () => {
  const all = cases();
  const catalog = await catalogOf(db);
  const failures: string[] = [];
  // A few at a time: the machine is shared; the catalog is compared after every batch.
  const width = 3;
  for (let i = 0; i < all.length; i += width) {
    const batch = all.slice(i, i + width);
    for (const result of await Promise.all(batch.map(runCase))) failures.push(...result);
    const now = await catalogOf(db);
    if (now !== catalog) {
      failures.push(`the catalog changed during: ${batch.map((c) => c.name).join(', ')}`);
      break;
    }
  }
  expect(failures, failures.join('\n')).toEqual([]);
}, 1_200_000);
