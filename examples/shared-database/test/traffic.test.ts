import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../../src/postgres/client.js';
import { startTestServer, type TestServer } from '../../../test/helpers/postgres.js';
import { createInvoicingApp } from '../invoicing/app.js';
import { createReportingApp } from '../reporting/app.js';
import { seedAccounts } from '../setup/seed.js';
import { startTraffic } from '../traffic/generator.js';
import { percentile, TrafficRecorder } from '../traffic/stats.js';
import { createUsersApp } from '../users/app.js';
import {
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';

describe('traffic statistics', () => {
  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1)]).toEqual([
      50, 99, 100,
    ]);
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('counts requests, errors and rates per service within a window only', () => {
    const recorder = new TrafficRecorder(['users', 'invoicing']);
    for (let i = 0; i < 10; i++)
      recorder.record(
        { at: 1000 + i * 100, service: 'users', operation: 'get', ms: i, ok: i !== 3 },
        i === 3 ? { status: 500, message: 'boom' } : undefined,
      );
    recorder.record({ at: 5000, service: 'invoicing', operation: 'get', ms: 1, ok: true });
    const stats = recorder.stats(1000, 2000);
    expect(stats.services.users).toMatchObject({
      requests: 10,
      errors: 1,
      ratePerSecond: 10,
      maxMs: 9,
      operations: { get: 10 },
    });
    expect(stats.services.invoicing!.requests).toBe(0);
    expect(stats.recentErrors).toEqual([
      { at: 1300, service: 'users', operation: 'get', status: 500, message: 'boom' },
    ]);
  });
});

describe('traffic against the three services', () => {
  let server: TestServer;
  let example: ProvisionedExample;
  let apps: RunningApp[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    example = await provisionExample(server);
    await withClient(example.urls.users, (c) => seedAccounts(c, 200));
    apps = [
      await startApp('users', example.urls.users, createUsersApp),
      await startApp('invoicing', example.urls.invoicing, createInvoicingApp),
      await startApp('reporting', example.urls.reporting, createReportingApp),
    ];
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    example?.cleanup();
    await server?.destroy();
  });

  it('drives a steady mix against all three with no errors, and writes real rows', async () => {
    const [users, invoicing, reporting] = apps;
    const before = await example.admin((c) =>
      c.query('SELECT count(*)::int AS n FROM invoicing.invoice'),
    );
    const traffic = await startTraffic({
      targets: { users: users!.url, invoicing: invoicing!.url, reporting: reporting!.url },
      ratePerSecond: 80,
      durationMs: 2000,
    });
    const stats = await traffic.done;
    expect(stats.total.errors).toBe(0);
    expect(stats.total.requests).toBeGreaterThan(120);
    expect(stats.total.ratePerSecond).toBeGreaterThan(60);
    for (const name of ['users', 'invoicing', 'reporting']) {
      const s = stats.services[name]!;
      expect(s.requests, name).toBeGreaterThan(0);
      expect(s.p50Ms).toBeGreaterThan(0);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
    }
    expect(Object.keys(stats.services.users!.operations).sort()).toEqual([
      'create-account',
      'get-account',
      'update-account',
    ]);
    const after = await example.admin((c) =>
      c.query('SELECT count(*)::int AS n FROM invoicing.invoice'),
    );
    expect(after.rows[0].n).toBeGreaterThan(before.rows[0].n);
  });

  it('counts a service that does not answer as errors, and stops when aborted', async () => {
    const [users, invoicing] = apps;
    const controller = new AbortController();
    const traffic = await startTraffic({
      targets: { users: users!.url, invoicing: invoicing!.url, reporting: 'http://127.0.0.1:1' },
      ratePerSecond: 50,
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 1000));
    controller.abort();
    const stats = await traffic.done;
    expect(stats.services.reporting!.errors).toBe(stats.services.reporting!.requests);
    expect(stats.services.reporting!.requests).toBeGreaterThan(0);
    expect(stats.services.users!.errors).toBe(0);
    expect(stats.recentErrors[0]).toMatchObject({ service: 'reporting', status: 0 });
  });
});
