import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { finished, spawnCli, waitForOutput } from './run.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

/** A GET with an explicit Host header (fetch does not let a caller set one). */
function get(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('pgpact metrics on loopback refuses a foreign Host header (DNS rebinding) and answers localhost names', async () => {
  const db = await server.createDatabase('metrics_host');
  const child = spawnCli(['metrics', '--port', '0', '--interval', '200ms', '--database-url', db]);
  const done = finished(child);
  try {
    const [, url] = await waitForOutput(child, /at (http:\/\/\S+\/metrics)/);
    const port = new URL(url!).port;
    const foreign = await get(url!, `rebind.attacker.example:${port}`);
    expect(foreign.status).toBe(403);
    expect(foreign.body).not.toContain('pgpact_up');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const local = await get(url!, host);
      expect([200, 503]).toContain(local.status);
    }
  } finally {
    child.kill('SIGINT');
    await done;
  }
});
