import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { startServiceProcess } from '../../src/demo/service-process.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';

describe('an example service as a process', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-test-svc-'));
  });
  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints its port, answers, and exits 0 on SIGTERM after closing its pool', async () => {
    const logFile = path.join(dir, 'users.log');
    const svc = await startServiceProcess({
      name: 'users',
      entry: 'users/main',
      env: { DATABASE_URL: server.url, PORT: '0', POOL_SIZE: '2' },
      logFile,
      outlive: false,
    });
    expect(svc.port).toBeGreaterThan(0);
    const health = await fetch(`${svc.url}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok', service: 'users' }]);
    process.kill(svc.pid, 'SIGTERM');
    expect(await svc.exited).toBe(0);
    expect(fs.readFileSync(logFile, 'utf8')).toMatch(/"event":"stopped"/);
  });

  it('refuses a missing DATABASE_URL or a bad PORT with exit code 2 and says why', async () => {
    for (const [env, why] of [
      [{ PORT: '0' }, /DATABASE_URL is required/],
      [{ DATABASE_URL: server.url, PORT: 'eighty' }, /PORT must be an integer/],
      [{ DATABASE_URL: server.url, POOL_SIZE: '0' }, /POOL_SIZE must be an integer from 1/],
    ] as const) {
      const logFile = path.join(dir, 'bad.log');
      const error = await startServiceProcess({
        name: 'users',
        entry: 'users/main',
        env: { ...env },
        logFile,
        outlive: false,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgpactError);
      expect((error as PgpactError).message).toMatch(/exited before listening \(code 2\)/);
      expect((error as PgpactError).detail).toMatch(why);
    }
  });

  it('answers with a JSON error, not a crash, when the database goes away, and keeps running', async () => {
    const other = await startTestServer();
    const svc = await startServiceProcess({
      name: 'reporting',
      entry: 'reporting/main',
      env: { DATABASE_URL: other.url, PORT: '0' },
      logFile: path.join(dir, 'reporting.log'),
      outlive: false,
    });
    try {
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      await other.destroy();
      const down = await fetch(`${svc.url}/health`);
      expect(down.status).toBe(503);
      expect(((await down.json()) as { error: { code: string } }).error.code).toBe(
        'database_unavailable',
      );
      expect(
        svc.pid > 0 &&
          (await Promise.race([
            svc.exited,
            new Promise((r) => setTimeout(() => r('running'), 300)),
          ])),
      ).toBe('running');
    } finally {
      await svc.stop();
    }
  });
});
