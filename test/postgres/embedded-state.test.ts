import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { embeddedServerFiles } from '../../src/postgres/embedded.js';
import { embeddedBinaries, freePort, initCluster } from '../../src/postgres/local-server.js';
import { tempDir } from '../helpers/temp-dir.js';

const ROOT = path.join(import.meta.dirname, '..', '..');

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

const saved = { home: process.env.PGPACT_HOME, url: process.env.DATABASE_URL };
afterAll(() => {
  for (const [key, value] of [
    ['PGPACT_HOME', saved.home],
    ['DATABASE_URL', saved.url],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

/** Where a state directory's server files would go when running as root. */
function tempServerDir(home: string): string {
  const digest = createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `pgpact-home-${digest}`);
}

describe('commands that only read never create or start an embedded Postgres', () => {
  let dir: string;
  let home: string;
  beforeEach(() => {
    dir = tempDir('pgpact-no-embedded-');
    home = path.join(dir, '.pgpact');
    process.env.PGPACT_HOME = home;
    delete process.env.DATABASE_URL;
    fs.writeFileSync(
      path.join(dir, 'pgpact.yaml'),
      'version: 1\nservices:\n  users:\n    owns: [users]\n',
    );
    fs.writeFileSync(path.join(dir, 'q.sql'), 'SELECT 1;\n');
  });

  const CASES = [
    ['db', 'url'],
    ['observe'],
    ['observe', '--suggest'],
    ['top', '--once'],
    ['metrics'],
    ['plan', '--config', 'DIR/pgpact.yaml'],
    ['analyze', 'DIR/q.sql'],
    ['dashboard', '--port', '0'],
    ['migrate', 'status'],
    ['migrate', 'complete'],
    ['migrate', 'rollback'],
  ];

  it.each(CASES.map((args) => [args.join(' ').replace(/DIR\/\S+/, 'FILE'), args]))(
    'pgpact %s: exit 2, says how to point at a database, creates nothing',
    async (_label, args) => {
      const o = capture();
      const code = await runCommand(
        (args as string[]).map((a) => a.replace('DIR', dir)),
        o,
      );
      expect(code).toBe(2);
      expect(o.stderr).toContain('no embedded Postgres here');
      expect(o.stderr).toContain('--database-url');
      expect(o.stderr).toContain('pgpact db start');
      expect(fs.existsSync(home)).toBe(false);
      expect(fs.existsSync(tempServerDir(home))).toBe(false);
    },
  );

  it('db status says there is none and creates nothing', async () => {
    const o = capture();
    expect(await runCommand(['db', 'status'], o)).toBe(1);
    expect(o.stdout).toContain('no embedded Postgres yet');
    expect(fs.existsSync(home)).toBe(false);
    expect(fs.existsSync(tempServerDir(home))).toBe(false);
  });
});

describe('an unusable PGPACT_HOME fails fast and says how to fix it', () => {
  const run = (home: string, args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/cli/main.ts').then((m) => m.main(${JSON.stringify(args)}))`,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PGPACT_HOME: home, DATABASE_URL: '' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );

  it.each([
    ['/proc/nope', 'its parent does not exist or takes no new folders'],
    ['FILE/.pgpact', 'a part of the path is a file'],
  ])('PGPACT_HOME=%s pgpact db start: exit 2 within the timeout', (home, why) => {
    let target = home;
    if (home.startsWith('FILE/')) {
      const file = path.join(tempDir('pgpact-home-file-'), 'plain-file');
      fs.writeFileSync(file, '');
      target = path.join(file, '.pgpact');
    }
    const result = run(target, ['db', 'start']);
    expect(result.error).toBeUndefined(); // not killed by the timeout
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`cannot create or write the folder ${target}`);
    expect(result.stderr).toContain(why);
    expect(result.stderr).toContain('PGPACT_HOME');
    expect(result.stderr).not.toMatch(/INTERNAL|\n\s+at /);
  });
});

describe('the embedded Postgres under PGPACT_HOME', () => {
  it('db start keeps its state private (0700 folder, 0600 files); db url never starts a stopped one', async () => {
    const dir = tempDir('pgpact-embedded-');
    const home = path.join(dir, '.pgpact');
    process.env.PGPACT_HOME = home;
    delete process.env.DATABASE_URL;
    try {
      // As root the server's files live under the temp folder: ones whose project is gone go.
      const orphan = path.join(os.tmpdir(), 'pgpact-home-0123456789ab');
      const recent = path.join(os.tmpdir(), 'pgpact-home-ba9876543210');
      for (const d of [orphan, recent]) {
        fs.mkdirSync(path.join(d, 'server', 'data'), { recursive: true });
        fs.writeFileSync(path.join(d, 'state-dir'), path.join(dir, 'gone', '.pgpact'));
      }
      const old = new Date(Date.now() - 3600_000);
      fs.utimesSync(orphan, old, old);
      const start = capture();
      expect(await runCommand(['db', 'start'], start)).toBe(0);
      if (process.getuid?.() === 0) {
        expect(fs.existsSync(orphan)).toBe(false);
        expect(fs.existsSync(recent)).toBe(true);
      }
      fs.rmSync(orphan, { recursive: true, force: true });
      fs.rmSync(recent, { recursive: true, force: true });
      expect(start.stdout).toContain('embedded Postgres running');
      expect(start.stdout).not.toMatch(/postgres:[^*@]+@/);
      // Everything pgpact keeps: the state folder, and the server's folder (inside it, or as root
      // under the temp folder, whose top folder lets the `postgres` OS user through).
      const serverRoot = path.dirname(embeddedServerFiles(home).dataDir);
      for (const top of [home, serverRoot]) {
        for (const entry of fs.readdirSync(top, { recursive: true, withFileTypes: true })) {
          const p = path.join(entry.parentPath, entry.name);
          if (entry.isFile()) expect([p, fs.statSync(p).mode & 0o777]).toEqual([p, 0o600]);
          if (entry.isDirectory()) expect([p, fs.statSync(p).mode & 0o777]).toEqual([p, 0o700]);
        }
        expect(fs.statSync(top).mode & 0o777).toBe(0o700);
      }
      const url = capture();
      expect(await runCommand(['db', 'url'], url)).toBe(0);
      expect(url.stdout).toMatch(/^postgresql:\/\/postgres:/);
      const observe = capture();
      expect(await runCommand(['observe'], observe)).toBeLessThanOrEqual(1);
      expect(fs.statSync(path.join(home, 'usage.json')).mode & 0o777).toBe(0o600);
      expect(await runCommand(['db', 'stop'], capture())).toBe(0);
      const stopped = capture();
      expect(await runCommand(['db', 'url'], stopped)).toBe(2);
      expect(stopped.stderr).toContain('is stopped');
      expect(stopped.stderr).toContain('pgpact db start');
      expect(fs.existsSync(path.join(embeddedServerFiles(home).dataDir, 'postmaster.pid'))).toBe(
        false,
      );
    } finally {
      await runCommand(['db', 'stop', '--remove'], capture());
    }
    expect(fs.existsSync(tempServerDir(home))).toBe(false);
  }, 180_000);

  it.runIf(process.getuid?.() === 0)(
    'as root, a server an earlier version made inside the state folder is still used (narrowed to 0700 or not)',
    async () => {
      const dir = tempDir('pgpact-legacy-');
      fs.chmodSync(dir, 0o755);
      const home = path.join(dir, '.pgpact');
      fs.mkdirSync(home, { mode: 0o711 });
      fs.chmodSync(home, 0o711);
      const rootDir = path.join(home, 'server');
      const binaries = await embeddedBinaries();
      const { password } = await initCluster(binaries, rootDir);
      fs.writeFileSync(
        path.join(home, 'server.json'),
        JSON.stringify({ port: await freePort(), password, majorVersion: 18 }),
        { mode: 0o600 },
      );
      // Any later write into the state folder narrows it to 0700.
      fs.chmodSync(home, 0o700);
      process.env.PGPACT_HOME = home;
      delete process.env.DATABASE_URL;
      try {
        expect(embeddedServerFiles(home).dataDir).toBe(path.join(rootDir, 'data'));
        expect(await runCommand(['db', 'start'], capture())).toBe(0);
        fs.chmodSync(home, 0o700);
        const status = capture();
        expect(await runCommand(['db', 'status'], status)).toBe(0);
        expect(status.stdout).toContain('running');
        fs.chmodSync(home, 0o700);
        const stop = capture();
        expect(await runCommand(['db', 'stop'], stop)).toBe(0);
        expect(stop.stdout).toContain('embedded Postgres stopped');
      } finally {
        await runCommand(['db', 'stop', '--remove'], capture());
      }
    },
    180_000,
  );
});
