import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type {
  CouplingMap,
  DashboardState,
  RuntimeState,
  Section,
} from '../../src/server/api-types.js';
import { type RunningDashboard, startDashboard } from '../../src/server/dashboard.js';
import { describeEachServer } from '../helpers/postgres.js';
import {
  type ArticleSystem,
  provisionArticleSystem,
  SPLIT_STREET_REPORT,
} from './article-system.js';
import { buildWebBundle } from './web-bundle.js';

/** A plain HTTP request to the dashboard (fetch would hide Set-Cookie and the Host header). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function json<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await request(url, { headers });
  expect(res.status, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(res.body) as T;
}

/** Reads Server-Sent Events from /api/events until `until` says stop. */
function readEvents(
  url: string,
  until: (events: { event: string; data: unknown }[]) => boolean,
  timeoutMs = 10_000,
) {
  return new Promise<{ event: string; data: unknown }[]>((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    const req = http.get(url, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (name && data) events.push({ event: name, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`events seen: ${events.map((e) => e.event).join(', ')}`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
  });
}

describeEachServer('the dashboard API', (server) => {
  let system: ArticleSystem;
  let dashboard: RunningDashboard;

  beforeAll(async () => {
    await buildWebBundle();
    system = await provisionArticleSystem(server());
    dashboard = await startDashboard({
      databaseUrl: system.adminUrl,
      port: 0,
      manifestFile: system.manifestFile,
      usageFile: system.usageFile,
      logFile: server().logFile,
      intervalMs: 300,
    });
  });
  afterAll(async () => {
    await dashboard?.close();
    system?.cleanup();
  });

  it('serves the page, its script and stylesheet with a strict content security policy', async () => {
    const page = await request(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    const script = await request(`${dashboard.url}app.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body.length).toBeGreaterThan(10_000);
    expect((await request(`${dashboard.url}app.css`)).headers['content-type']).toMatch(
      /^text\/css/,
    );
  });

  it('answers /api/state with every section: the map from manifest, catalog and usage; runtime sampled live', async () => {
    const state = await json<DashboardState>(`${dashboard.url}api/state`);
    expect(state).toMatchObject({
      version: 1,
      database: new URL(system.adminUrl).pathname.slice(1),
      intervalMs: 300,
    });
    expect(state.checkReport).toEqual({ available: true, data: null });
    // No migration ever ran here: nothing in flight, no history (test/server/migrations-api.test.ts runs one).
    expect(state.migrations).toMatchObject({
      available: true,
      data: { inFlight: null, recent: [] },
    });

    expect(state.map.available).toBe(true);
    const map = (state.map as { data: CouplingMap }).data;
    expect(map.services.map((s) => [s.name, s.owns, s.inManifest])).toEqual([
      ['invoicing', ['invoicing'], true],
      ['reporting', [], true],
      ['users', ['users'], true],
    ]);
    const invoicing = map.edges.find(
      (e) => e.service === 'invoicing' && e.table === 'users.account',
    )!;
    expect(invoicing).toMatchObject({
      access: 'read',
      declared: true,
      observed: true,
      status: 'ok',
      broken: false,
      undeclaredColumns: [],
    });
    const reporting = map.edges.find(
      (e) => e.service === 'reporting' && e.table === 'users.account',
    )!;
    expect(reporting).toMatchObject({
      status: 'beyond-contract',
      declaredColumns: ['id', 'created_at'],
      undeclaredColumns: ['city', 'name', 'zip'],
    });
    const account = map.tables.find((t) => t.id === 'users.account')!;
    expect(account.ownerService).toBe('users');
    const street = account.columns.find((c) => c.name === 'street_and_number')!;
    expect(street.readers).toEqual([
      { service: 'invoicing', declared: true, observed: true, calls: 3, broken: false },
    ]);
    // The legacy-free example has no unowned table; the dashboard's own role never shows up as a consumer.
    expect(map.services.some((s) => s.name === dashboard.monitorRole)).toBe(false);

    await expect
      .poll(
        async () => (await json<DashboardState>(`${dashboard.url}api/state`)).runtime.available,
        { timeout: 5000 },
      )
      .toBe(true);
  });

  it('answers each section on its own endpoint with the same shapes', async () => {
    const map = await json<Section<CouplingMap>>(`${dashboard.url}api/map`);
    expect(map.available && map.data.tables.map((t) => t.id)).toEqual([
      'invoicing.invoice',
      'users.account',
    ]);
    const runtime = await json<Section<RuntimeState>>(`${dashboard.url}api/runtime`);
    if (!runtime.available) throw new Error(runtime.reason);
    expect(runtime.data.intervalMs).toBe(300);
    expect(runtime.data.samples.length).toBeGreaterThan(0);
    expect(
      runtime.data.samples
        .at(-1)!
        .services.map((s) => s.service)
        .sort(),
    ).toEqual(['invoicing', 'reporting', 'users']);
    for (const s of runtime.data.samples.at(-1)!.services) {
      expect(Number.isInteger(s.busy) && s.busy >= 0).toBe(true);
    }
    expect(Array.isArray(runtime.data.lockWaits) && Array.isArray(runtime.data.deadlocks)).toBe(
      true,
    );
    expect(await json(`${dashboard.url}api/migrations`)).toEqual({
      available: true,
      data: { inFlight: null, recent: [], notes: [] },
    });
    expect(await json(`${dashboard.url}api/check-report`)).toEqual({ available: true, data: null });
    expect(await json(`${dashboard.url}api/health`)).toEqual({ ok: true });
  });

  it('loads a check report: the broken edge is marked on the map, and pushed to open pages', async () => {
    const pushed = readEvents(`${dashboard.url}api/events`, (events) =>
      events.some((e) => e.event === 'map' && JSON.stringify(e.data).includes('"broken":true')),
    );
    const res = await request(`${dashboard.url}api/check-report?source=split.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(SPLIT_STREET_REPORT),
    });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      available: true,
      data: { breaking: true, source: 'split.json' },
    });
    const events = await pushed;
    expect(events.slice(0, 4).map((e) => e.event)).toEqual([
      'map',
      'migrations',
      'runtime',
      'check-report',
    ]);
    const map = (await json<Section<CouplingMap>>(`${dashboard.url}api/map`)) as {
      data: CouplingMap;
    };
    const edge = map.data.edges.find(
      (e) => e.service === 'invoicing' && e.table === 'users.account',
    )!;
    expect(edge.broken).toBe(true);
    expect(edge.findings.map((f) => f.kind)).toEqual(['column-dropped']);
    const street = map.data.tables
      .find((t) => t.id === 'users.account')!
      .columns.find((c) => c.name === 'street_and_number')!;
    expect(street.readers[0]).toMatchObject({ service: 'invoicing', broken: true });
    expect(
      map.data.edges.find((e) => e.service === 'reporting' && e.table === 'users.account')!.broken,
    ).toBe(false);

    const cleared = await request(`${dashboard.url}api/check-report`, { method: 'DELETE' });
    expect(JSON.parse(cleared.body)).toEqual({ available: true, data: null });
    const after = (await json<Section<CouplingMap>>(`${dashboard.url}api/map`)) as {
      data: CouplingMap;
    };
    expect(after.data.edges.some((e) => e.broken)).toBe(false);
  });

  it('refuses a malformed report with every problem, a non-JSON body type, unknown paths and methods', async () => {
    const bad = await request(`${dashboard.url}api/check-report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        breaking: 'yes',
        findings: [{ severity: 'fatal', object: 1, consumers: [{ service: 'x' }] }],
      }),
    });
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.body) as { error: string; problems: string[] };
    expect(body.error).toBe('USAGE');
    expect(body.problems).toEqual([
      'breaking: expected true or false',
      'findings[0].severity: expected one of breaking, warning, info',
      'findings[0].kind: expected a string',
      'findings[0].object: expected "schema", "schema.table" or "schema.table.column"',
      'findings[0].message: expected a string',
      'findings[0].consumers[0]: expected {"service": string, "source": "declared" | "observed"}',
    ]);
    const notJson = await request(`${dashboard.url}api/check-report`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: '{}',
    });
    expect(notJson.status).toBe(415);
    const form = await request(`${dashboard.url}api/check-report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    expect(form.status).toBe(415);
    expect((await request(`${dashboard.url}api/nothing`)).status).toBe(404);
    const wrongMethod = await request(`${dashboard.url}api/state`, { method: 'POST' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, HEAD');
  });

  it('serves Prometheus metrics per service on /metrics', async () => {
    const res = await request(`${dashboard.url}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^pgpact_up 1$/m);
    expect(res.body).toMatch(
      /pgpact_service_connections\{service="invoicing",state="active"\} \d+/,
    );
  });

  it('answers a tokenless loopback dashboard only under localhost names (no DNS rebinding)', async () => {
    const res = await request(`${dashboard.url}api/state`, {
      headers: { Host: 'attacker.example:80' },
    });
    expect(res.status).toBe(403);
    expect(
      (
        await request(`${dashboard.url}api/state`, {
          headers: { Host: `localhost:${dashboard.port}` },
        })
      ).status,
    ).toBe(200);
  });
});
