import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlWith } from '../../src/postgres/client.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run.js';

/** Connection failures name the cause and the fix; the password is never printed. */

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
let server: TestServer;
let dir: string;
let sqlFile: string;
let httpServer: http.Server;
let sshLike: net.Server;
const listening = (s: net.Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)),
  );
let httpPort: number;
let sshPort: number;

beforeAll(async () => {
  server = await startTestServer();
  dir = tempDir('pgpact-connect-');
  sqlFile = path.join(dir, 'q.sql');
  fs.writeFileSync(sqlFile, 'SELECT 1;\n');
  httpServer = http.createServer((_req, res) => res.end('hello\n'));
  httpPort = await listening(httpServer);
  // A server that speaks first and then waits, as SSH does: Postgres's client would wait for its timeout.
  sshLike = net.createServer((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'));
  sshPort = await listening(sshLike);
});
afterAll(async () => {
  httpServer?.closeAllConnections();
  httpServer?.close();
  sshLike?.close();
  await server?.destroy();
});

/** `pgpact analyze` needs the database's catalog: the simplest command that connects. */
function analyze(env: Record<string, string | undefined>, ...args: string[]) {
  return runCli(['analyze', ...args, sqlFile], { cwd: dir, env: { HOME: dir, ...env } });
}

function password(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

describe('connection failures', () => {
  const cases: {
    name: string;
    url: () => string;
    env?: () => Record<string, string>;
    code: string;
    /** The code when the URL comes from DATABASE_URL, where the embedded-server module checks it first. */
    envCode?: string;
    says: RegExp[];
  }[] = [
    {
      name: 'wrong password (28P01)',
      url: () => urlWith(server.url, { password: 'not-the-password' }),
      code: 'AUTHENTICATION_FAILED',
      says: [/password authentication failed for user "postgres"/, /PGPASSWORD or ~\/\.pgpass/],
    },
    {
      name: 'no password anywhere',
      url: () => urlWith(server.url, { password: '' }),
      code: 'AUTHENTICATION_FAILED',
      says: [/none was given/, /PGPASSWORD/, /\.pgpass/],
    },
    {
      name: 'missing database (3D000) lists the databases',
      url: () => urlWith(server.url, { database: 'no_such_db' }),
      code: 'DATABASE_NOT_FOUND',
      says: [
        /database "no_such_db" does not exist/,
        /the server has: .*postgres/,
        /createdb "no_such_db"/,
      ],
    },
    {
      name: 'missing role',
      url: () => urlWith(server.url, { user: 'ghost' }),
      code: 'AUTHENTICATION_FAILED',
      says: [/user "ghost"/, /role "ghost" does not exist/],
    },
    {
      name: 'a port that answers HTTP',
      url: () => `postgresql://u:secretpw@127.0.0.1:${httpPort}/db`,
      code: 'DATABASE_UNREACHABLE',
      says: [/is not a PostgreSQL server/, /HTTP\/1\.1 400/, /check the host and port/],
    },
    {
      name: 'a port whose server speaks first (SSH)',
      url: () => `postgresql://u:secretpw@127.0.0.1:${sshPort}/db`,
      code: 'DATABASE_UNREACHABLE',
      says: [/is not a PostgreSQL server/, /SSH-2\.0/],
    },
    {
      name: 'connection refused',
      url: () => 'postgresql://u:secretpw@127.0.0.1:1/db',
      code: 'DATABASE_UNREACHABLE',
      says: [/nothing listens on 127\.0\.0\.1:1/, /is the server running/],
    },
    {
      name: 'unknown host',
      url: () => 'postgresql://u:secretpw@no-such-host.invalid:5432/db',
      code: 'DATABASE_UNREACHABLE',
      says: [/unknown host "no-such-host\.invalid"/],
    },
    {
      name: 'a mysql:// URL',
      url: () => `mysql://u:secretpw@127.0.0.1:${new URL(server.url).port}/db`,
      code: 'DATABASE_URL_INVALID',
      says: [/is a mysql:\/\/ URL/, /PostgreSQL only/],
    },
    {
      name: 'a malformed URL',
      url: () => 'postgresql://u:secretpw@[::1/db',
      code: 'DATABASE_URL_INVALID',
      says: [/not a valid URL/],
    },
  ];

  for (const c of cases) {
    for (const via of ['--database-url', 'DATABASE_URL'] as const) {
      it(`${c.name} (${via})`, async () => {
        const url = c.url();
        const r =
          via === 'DATABASE_URL'
            ? await analyze({ DATABASE_URL: url })
            : await analyze({}, '--database-url', url);
        expect(r.code, r.err).toBe(2);
        expect(r.err).toContain(`[${via === 'DATABASE_URL' ? (c.envCode ?? c.code) : c.code}]`);
        for (const pattern of c.says) expect(r.err).toMatch(pattern);
        expect(r.err).not.toContain('timeout expired');
        expect(r.err).not.toContain('INTERNAL');
        expect(r.err).not.toMatch(STACK);
        const secret = password(
          url.startsWith('postgresql://u:secretpw@[') ? 'postgresql://u:secretpw@x/' : url,
        );
        if (secret !== '') expect(`${r.out}${r.err}`).not.toContain(secret);
        expect(r.out).toBe('');
      });
    }
  }
});

describe('secrets kept off the command line', () => {
  it('PGPASSWORD gives the password of a URL without one', async () => {
    const r = await analyze(
      { DATABASE_URL: urlWith(server.url, { password: '' }), PGPASSWORD: password(server.url) },
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toHaveLength(1);
    expect(r.err).toBe('');
  });

  it('~/.pgpass (mode 0600) gives it, matched on host, port, database and user', async () => {
    const home = tempDir('pgpact-home-');
    const u = new URL(server.url);
    fs.writeFileSync(
      path.join(home, '.pgpass'),
      `# other servers first\nother:5432:*:postgres:nope\n127.0.0.1:${u.port}:*:postgres:${password(server.url).replaceAll('\\', '\\\\').replaceAll(':', '\\:')}\n`,
      { mode: 0o600 },
    );
    const r = await runCli(['analyze', '--json', sqlFile], {
      cwd: dir,
      env: { HOME: home, DATABASE_URL: urlWith(server.url, { password: '' }) },
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
  });

  it('PGPASSFILE names the file; one readable by others is ignored, as libpq does', async () => {
    const file = path.join(tempDir('pgpact-passfile-'), 'passwords');
    const u = new URL(server.url);
    fs.writeFileSync(file, `*:${u.port}:*:*:${password(server.url)}\n`, { mode: 0o600 });
    const env = { PGPASSFILE: file, DATABASE_URL: urlWith(server.url, { password: '' }) };
    expect((await analyze(env)).code).toBe(0);
    fs.chmodSync(file, 0o644);
    const open = await analyze(env);
    expect(open.code).toBe(2);
    expect(open.err).toContain('none was given');
  });

  it('--database-url-env NAME reads the URL from that variable, without a warning', async () => {
    const r = await analyze({ MY_DB: server.url }, '--database-url-env', 'MY_DB', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const unset = await analyze({}, '--database-url-env', 'NOT_SET_ANYWHERE');
    expect(unset.code).toBe(2);
    expect(unset.err).toContain('the environment variable NOT_SET_ANYWHERE is not set');
  });

  it('a password on the command line works but warns that ps shows it; never echoed', async () => {
    const r = await analyze({}, '--database-url', server.url, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('warning: --database-url holds a password');
    expect(r.err).toContain('PGPASSWORD');
    expect(`${r.out}${r.err}`).not.toContain(password(server.url));
  });

  it('--token warns that ps shows it and points at PGPACT_DASHBOARD_TOKEN', async () => {
    const token = 'tok-0123456789abcdef';
    const r = await runCli(['dashboard', '--token', token, '--interval', 'often'], { cwd: dir });
    expect(r.err).toContain('--token is visible');
    expect(r.err).toContain('PGPACT_DASHBOARD_TOKEN');
    expect(r.err).not.toContain(token);
    expect(r.code).toBe(2);
  });
});
