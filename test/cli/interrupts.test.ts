import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { cleanEnv, finished, runCli, spawnCli } from './run.js';

/** Interrupts and failures of the environment are reported as such, never as a bug in pgpact. */

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

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

async function accounts(url: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`CREATE SCHEMA users;
      CREATE TABLE users.account (id int PRIMARY KEY, street_and_number text NOT NULL);
      INSERT INTO users.account SELECT g, 'Main ' || g FROM generate_series(1, 100) g;`),
  );
}

/** Holds a lock on users.account so migrate start waits on it; resolves once pgpact's session waits. */
async function holdTable(
  url: string,
): Promise<{ release(): Promise<void>; waiter(): Promise<number> }> {
  const holder = new pg.Client({ connectionString: url });
  // The server may be shut down under it (a test does): that is not this test's error.
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE users.account IN ACCESS SHARE MODE');
  return {
    async release() {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    },
    async waiter() {
      for (let i = 0; i < 600; i += 1) {
        // From another session: the holder's transaction would keep one snapshot of the statistics.
        const { rows } = await withClient(url, (c) =>
          c.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
          ),
        );
        if (rows[0]) return rows[0].pid;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('migrate start never waited for the lock');
    },
  };
}

describe('migrate start stopped half-way', () => {
  it('Ctrl-C exits 130 with what happened and how to resume; the same command resumes', async () => {
    const url = await server.createDatabase('sigint');
    await accounts(url);
    const dir = tempDir('pgpact-sigint-');
    const file = path.join(dir, 'split.yaml');
    fs.writeFileSync(file, SPLIT);
    const lock = await holdTable(url);
    const args = ['migrate', 'start', file, '--lock-timeout', '1s'];
    const child = spawnCli(args, { cwd: dir, env: { DATABASE_URL: url } });
    const done = finished(child);
    try {
      await lock.waiter();
      child.kill('SIGINT');
      const r = await done;
      expect(r.code, r.err).toBe(130);
      expect(r.err).toContain('[INTERRUPTED]');
      expect(r.err).toContain('pgpact migrate status');
      expect(r.err).not.toContain('INTERNAL');
      expect(r.err).not.toContain('bug in pgpact');
      expect(r.err).not.toMatch(STACK);
    } finally {
      await lock.release();
    }
    const resumed = await runCli(args, { cwd: dir, env: { DATABASE_URL: url } });
    expect(resumed.code, resumed.err).toBe(0);
  });

  it('the server ending the session (57P01, admin shutdown) exits 2 naming the lost connection, not a bug', async () => {
    const url = await server.createDatabase('terminated');
    await accounts(url);
    const dir = tempDir('pgpact-57p01-');
    const file = path.join(dir, 'split.yaml');
    fs.writeFileSync(file, SPLIT);
    const lock = await holdTable(url);
    const child = spawnCli(['migrate', 'start', file, '--lock-timeout', '1s'], {
      cwd: dir,
      env: { DATABASE_URL: url },
    });
    const done = finished(child);
    try {
      const pid = await lock.waiter();
      await withClient(url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
      const r = await done;
      expect(r.code, r.err).toBe(2);
      // migrate names its own failure (MIGRATION_FAILED, with its way out); elsewhere CONNECTION_LOST.
      expect(r.err).toMatch(/\[(CONNECTION_LOST|MIGRATION_FAILED)\]/);
      expect(r.err).toMatch(/connection|terminat/i);
      expect(r.err).toContain('57P01');
      expect(r.err).toMatch(
        /to resume: `pgpact migrate status`|rerun pgpact migrate start .* to resume/,
      );
      expect(r.err).not.toContain('INTERNAL');
      expect(r.err).not.toMatch(STACK);
    } finally {
      await lock.release();
    }
  });
});

describe('a closed stdout', () => {
  it('`pgpact plan | head -1` prints one line and exits 0, nothing on stderr', async () => {
    const url = await server.createDatabase('epipe');
    const dir = tempDir('pgpact-epipe-');
    // Enough services that plan writes far more than a pipe holds.
    const services = Array.from(
      { length: 300 },
      (_, i) => `  service_${i}:\n    owns: [schema_${i}]\n`,
    ).join('');
    fs.writeFileSync(path.join(dir, 'pgpact.yaml'), `version: 1\nservices:\n${services}`);
    const cli = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(import.meta.resolve('tsx'))} ${JSON.stringify(path.resolve(import.meta.dirname, 'fixtures/pgpact.ts'))}`;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${cli} plan | head -1`], {
      cwd: dir,
      env: cleanEnv({ DATABASE_URL: url }),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Nothing was applied: plan only prints.
    const schemas = await withClient(url, (c) =>
      c.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'schema\\_%'`),
    );
    expect(schemas.rows[0]!.n).toBe(0);
  });

  it('a reader that closes at once: the command still exits 0 with no stack trace', async () => {
    const child = spawnCli(['--help']);
    child.stdout?.destroy();
    const r = await finished(child);
    expect(r.err).not.toMatch(STACK);
    expect(r.err).not.toContain('EPIPE');
    expect(r.code).toBe(0);
  });
});

describe('the server going away', () => {
  it('a server shut down mid-command (immediate shutdown) exits 2: the lost connection and how to resume', async () => {
    const doomed = await startTestServer();
    try {
      const url = await doomed.createDatabase('doomed');
      await accounts(url);
      const dir = tempDir('pgpact-doomed-');
      const file = path.join(dir, 'split.yaml');
      fs.writeFileSync(file, SPLIT);
      const lock = await holdTable(url);
      const child = spawnCli(['migrate', 'start', file, '--lock-timeout', '1s'], {
        cwd: dir,
        env: { DATABASE_URL: url },
      });
      const done = finished(child);
      await lock.waiter();
      // SIGQUIT to the postmaster: Postgres's immediate shutdown, as when the server dies.
      const pid = Number(
        fs.readFileSync(path.join(doomed.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      process.kill(pid, 'SIGQUIT');
      const r = await done;
      await lock.release().catch(() => undefined);
      expect(r.code, r.err).toBe(2);
      // migrate names its own failure (MIGRATION_FAILED, with its way out); elsewhere CONNECTION_LOST.
      expect(r.err).toMatch(/\[(CONNECTION_LOST|MIGRATION_FAILED)\]/);
      expect(r.err).toMatch(/connection|terminat/i);
      expect(r.err).toMatch(
        /to resume: `pgpact migrate status`|rerun pgpact migrate start .* to resume/,
      );
      expect(r.err).not.toContain('INTERNAL');
      expect(r.err).not.toMatch(STACK);
    } finally {
      await doomed.destroy().catch(() => undefined);
    }
  });
});

/** Mounts a tiny tmpfs (root only) and fills it: every write on it then fails with ENOSPC. */
function fullDisk(): { dir: string; release(): void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = tempDir('pgpact-full-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  if (mounted.status !== 0) return undefined;
  try {
    fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(1024 * 1024));
  } catch {
    // ENOSPC: full, as wanted.
  }
  return { dir, release: () => spawnSync('umount', [dir]) };
}

describe('the environment', () => {
  it('a full disk (ENOSPC) while observe saves its snapshot: exit 2, what happened and the fix', async (ctx) => {
    const full = fullDisk();
    // Mounting a tmpfs needs root and a system that allows it.
    if (full === undefined) return ctx.skip();
    try {
      const url = await server.createDatabase('enospc');
      const out = path.join(full.dir, 'usage.json');
      const r = await runCli(['observe', '--out', out, '--since-reset'], {
        cwd: full.dir,
        env: { DATABASE_URL: url },
      });
      expect(r.code, r.err).toBe(2);
      // Written through the state folder's writer (STATE_DIR_UNWRITABLE) or any other (ENVIRONMENT).
      expect(r.err).toMatch(/\[(ENVIRONMENT|STATE_DIR_UNWRITABLE)\]/);
      expect(r.err).toContain('no space left on the device');
      expect(r.err).toMatch(/hint: /);
      expect(r.err).not.toContain('INTERNAL');
      expect(r.err).not.toMatch(STACK);
    } finally {
      full.release();
    }
  });

  it('an unwritable PGPACT_HOME (EACCES): exit 2 naming the path and the fix, not a bug', async () => {
    const dir = tempDir('pgpact-eacces-');
    const asRoot = process.getuid?.() === 0;
    // Root may write anywhere: run as nobody, for whom a root-owned 0755 folder is read-only.
    fs.chmodSync(dir, asRoot ? 0o755 : 0o555);
    const r = await runCli(['db', 'start'], {
      cwd: dir,
      env: { PGPACT_HOME: path.join(dir, 'home'), HOME: dir },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    fs.chmodSync(dir, 0o700);
    expect(r.code, r.err).toBe(2);
    // The state folder's writer names its own code; any other file operation is ENVIRONMENT.
    expect(r.err).toMatch(/\[(ENVIRONMENT|STATE_DIR_UNWRITABLE)\]/);
    expect(r.err).toContain('permission denied');
    expect(r.err).toContain(path.join(dir, 'home'));
    expect(r.err).toContain('PGPACT_HOME');
    expect(r.err).not.toContain('INTERNAL');
    expect(r.err).not.toMatch(STACK);
  });

  it('PGPACT_HOME under a file: exit 2 naming the path and PGPACT_HOME, not a bug', async () => {
    const dir = tempDir('pgpact-home-');
    const file = path.join(dir, 'not-a-directory');
    fs.writeFileSync(file, '');
    const r = await runCli(['db', 'start'], {
      cwd: dir,
      env: { PGPACT_HOME: path.join(file, 'home') },
    });
    expect(r.code, r.err).toBe(2);
    // The state folder's writer names its own code; any other file operation is ENVIRONMENT.
    expect(r.err).toMatch(/\[(ENVIRONMENT|STATE_DIR_UNWRITABLE)\]/);
    expect(r.err).toContain(file);
    expect(r.err).toContain('PGPACT_HOME');
    expect(r.err).not.toContain('INTERNAL');
    expect(r.err).not.toMatch(STACK);
  });
});
