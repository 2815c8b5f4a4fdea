import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import {
  hostHeaderIsLocal,
  isLoopbackHost,
  resolveToken,
  tokenMatches,
} from '../../src/server/auth.js';
import { type RunningDashboard, startDashboard } from '../../src/server/dashboard.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';
import { buildWebBundle } from './web-bundle.js';

const TOKEN = 'a-long-random-dashboard-token-4f9c2e';

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      http
        .get(url, { headers }, (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        })
        .on('error', reject);
    },
  );
}

describe('the token rules', () => {
  it('knows loopback addresses from others', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '192.168.1.10',
      '10.0.0.1',
      'example.com',
      'localhost.example.com',
      '128.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
    expect(hostHeaderIsLocal('localhost:5480')).toBe(true);
    expect(hostHeaderIsLocal('[::1]:5480')).toBe(true);
    expect(hostHeaderIsLocal('127.0.0.1')).toBe(true);
    expect(hostHeaderIsLocal('evil.example:5480')).toBe(false);
    expect(hostHeaderIsLocal(undefined)).toBe(false);
  });

  it('requires a token of at least 16 characters off loopback, and keeps it optional on loopback', () => {
    expect(() => resolveToken('0.0.0.0', undefined)).toThrow(PgpactError);
    expect(() => resolveToken('0.0.0.0', '')).toThrow(/without a token/);
    expect(() => resolveToken('192.168.1.10', 'short')).toThrow(/too short/);
    expect(resolveToken('0.0.0.0', TOKEN)).toBe(TOKEN);
    expect(resolveToken('127.0.0.1', undefined)).toBeUndefined();
    expect(resolveToken('127.0.0.1', TOKEN)).toBe(TOKEN);
  });

  it('compares tokens exactly, whatever their length', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokenMatches(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(tokenMatches(TOKEN, '')).toBe(false);
    expect(tokenMatches(TOKEN, undefined)).toBe(false);
    expect(tokenMatches('ünïcödé-token-0123456789', 'ünïcödé-token-0123456789')).toBe(true);
  });
});

describe('a dashboard bound to all interfaces', () => {
  let server: TestServer;
  let url: string;
  let dashboard: RunningDashboard;

  beforeAll(async () => {
    await buildWebBundle();
    server = await startTestServer();
    url = await server.createDatabase('token');
  });
  afterAll(async () => {
    await dashboard?.close();
    await server?.destroy();
  });

  it('refuses to start without a token, before touching the database', async () => {
    await expect(
      startDashboard({
        databaseUrl: 'postgresql://nobody@127.0.0.1:1/none',
        host: '0.0.0.0',
        port: 0,
      }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(
        /refusing to serve the dashboard on 0\.0\.0\.0 without a token/,
      ),
    });
  });

  it('with a token: 401 without it or with a wrong one, 200 with the Bearer header or the cookie ?token= sets', async () => {
    dashboard = await startDashboard({
      databaseUrl: url,
      host: '0.0.0.0',
      port: 0,
      token: TOKEN,
      intervalMs: 500,
    });
    // Bound to every interface; the test talks to it over loopback only.
    const base = `http://127.0.0.1:${dashboard.port}`;
    for (const path of [
      '/api/state',
      '/api/map',
      '/api/runtime',
      '/api/events',
      '/metrics',
      '/app.js',
    ]) {
      const res = await get(`${base}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(
      (await get(`${base}/api/state`, { Authorization: 'Bearer wrong-token-wrong-token' })).status,
    ).toBe(401);
    expect((await get(`${base}/api/state`, { Authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await get(`${base}/api/state?token=${TOKEN}`)).status).toBe(401);
    const page = await get(`${base}/`);
    expect(page.status).toBe(401);
    expect(page.body).toContain('A token is required');
    expect(page.body).not.toContain(TOKEN);

    const ok = await get(`${base}/api/state`, { Authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).version).toBe(1);

    const login = await get(`${base}/?token=${encodeURIComponent(TOKEN)}#map`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = login.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    expect((await get(`${base}/`, { Cookie: pair })).status).toBe(200);
    expect((await get(`${base}/api/map`, { Cookie: pair })).status).toBe(200);
    expect((await get(`${base}/api/state`, { Cookie: 'pgpact_dashboard_token=nope' })).status).toBe(
      401,
    );
    // The health check says nothing and needs no token.
    expect((await get(`${base}/api/health`)).status).toBe(200);
    // With a token the Host header is not what protects it.
    expect(
      (
        await get(`${base}/api/state`, {
          Authorization: `Bearer ${TOKEN}`,
          Host: 'dashboard.example',
        })
      ).status,
    ).toBe(200);
  });
});
