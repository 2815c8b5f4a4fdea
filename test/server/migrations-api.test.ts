import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigration } from '../../src/migrate/parse.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import type { MigrationsState, Section } from '../../src/server/api-types.js';
import { type RunningDashboard, startDashboard } from '../../src/server/dashboard.js';
import { describeEachServer } from '../helpers/postgres.js';
import { type ArticleSystem, provisionArticleSystem } from './article-system.js';
import { buildWebBundle } from './web-bundle.js';

const SPLIT = path.resolve('test/migrate/fixtures/split-street.yaml');

async function migrations(dashboard: RunningDashboard): Promise<Section<MigrationsState>> {
  const res = await fetch(`${dashboard.url}api/migrations`);
  expect(res.status).toBe(200);
  return (await res.json()) as Section<MigrationsState>;
}

async function inFlight(dashboard: RunningDashboard) {
  const section = await migrations(dashboard);
  if (!section.available) throw new Error(section.reason);
  return section.data.inFlight;
}

/** Waits for a `migrations` Server-Sent Event whose section satisfies `match`. */
function migrationsEvent(
  dashboard: RunningDashboard,
  match: (section: Section<MigrationsState>) => boolean,
  timeoutMs = 15_000,
): Promise<Section<MigrationsState>> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${dashboard.url}api/events`, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!/^event: migrations$/m.test(frame)) continue;
          const section = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as Section<MigrationsState>;
          if (match(section)) {
            clearTimeout(timer);
            req.destroy();
            resolve(section);
          }
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no matching migrations event'));
    }, timeoutMs);
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
  });
}

describeEachServer('the dashboard’s migrations section', (server) => {
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
      intervalMs: 300,
    });
  });
  afterAll(async () => {
    await dashboard?.close();
    system?.cleanup();
  });

  it('before any migration: available, nothing in flight, no history', async () => {
    expect(await migrations(dashboard)).toEqual({
      available: true,
      data: { inFlight: null, recent: [], notes: [] },
    });
  });

  it('a migration started after the dashboard: pushed live, with phase, progress, the shapes, invoicing declared and a role reading the old column observed', async () => {
    const pushed = migrationsEvent(
      dashboard,
      (s) => s.available && s.data.inFlight?.name === 'split-street-and-number',
    );
    await startMigration(system.adminUrl, await loadMigration(SPLIT));
    // The event stream carries it without a reload; pgpact.migrations appeared after the
    // dashboard started, so its monitoring role was granted SELECT on it on the way.
    const event = await pushed;
    expect(event.available && event.data.inFlight?.phase).toBe('active');

    // reporting's contract is [id, created_at]: it reads the old column anyway (audit mode).
    await withClient(system.urlOf('reporting'), (c) =>
      c.query('SELECT id, street_and_number FROM users.account WHERE id = $1', [1]),
    );
    await withClient(system.urlOf('invoicing'), (c) =>
      c.query(
        'SELECT id, name, street_and_number, zip, city FROM users.account WHERE id = $1',
        [2],
      ),
    );
    await expect
      .poll(
        async () =>
          (await inFlight(dashboard))?.consumers.map((c) => [c.name, c.declared, c.observed]),
        { timeout: 10_000, interval: 300 },
      )
      .toEqual([
        ['invoicing', true, true],
        ['reporting', false, true],
      ]);
    const m = (await inFlight(dashboard))!;
    expect(m).toMatchObject({
      name: 'split-street-and-number',
      file: SPLIT,
      services: ['users'],
      phase: 'active',
      oldShape: ['users.account.street_and_number'],
      newShape: ['users.account.street', 'users.account.number'],
      observation: { available: true },
      declaredChecked: true,
      canComplete: false,
      backfill: {
        done: 2,
        total: 2,
        percent: 100,
        finished: true,
        stalled: false,
        tables: [{ table: 'users.account', done: 2, total: 2, finished: true }],
      },
    });
    const [invoicing, reporting] = m.consumers;
    expect(invoicing).toMatchObject({
      service: 'invoicing',
      role: 'invoicing',
      blocking: true,
      access: ['read'],
      columns: ['users.account.street_and_number'],
      changes: [
        'invoicing: change reads users.account from [id, name, street_and_number, zip, city] to [id, name, street, number, zip, city]',
        'invoicing: deploy a version that uses street, number instead of street_and_number',
      ],
      locations: [expect.stringMatching(/pgpact\.yaml:\d+$/)],
    });
    expect(invoicing!.statements[0]).toMatchObject({ callsSinceStart: 1 });
    expect(invoicing!.statements[0]!.lastCallSeenAt).toBeUndefined();
    expect(reporting).toMatchObject({
      service: 'reporting',
      declared: false,
      observed: true,
      blocking: true,
      changes: [
        'reporting: deploy a version that uses street, number instead of street_and_number',
      ],
    });
    expect(reporting!.statements[0]!.query).toMatch(
      /SELECT id, street_and_number FROM users\.account/,
    );

    // invoicing keeps reading: the dashboard sees its count grow between two readings.
    await withClient(system.urlOf('invoicing'), (c) =>
      c.query(
        'SELECT id, name, street_and_number, zip, city FROM users.account WHERE id = $1',
        [1],
      ),
    );
    await expect
      .poll(
        async () =>
          (await inFlight(dashboard))?.consumers.find((c) => c.name === 'invoicing')?.statements[0],
        { timeout: 10_000, interval: 300 },
      )
      .toMatchObject({ callsSinceStart: 2, lastCallSeenAt: expect.any(String) });

    // Read-only: the dashboard stored no observation (status and complete do), and its role
    // may read pgpact's tables but not write them.
    await withClient(system.adminUrl, async (c) => {
      const row = await c.query('SELECT observations FROM pgpact.migrations');
      expect(row.rows).toEqual([{ observations: {} }]);
      const rights = await c.query(
        `SELECT has_table_privilege($1, 'pgpact.migrations', 'SELECT') AS reads,
                has_table_privilege($1, 'pgpact.migrations', 'UPDATE') AS writes,
                has_table_privilege($1, 'users.account', 'SELECT') AS service_data`,
        [dashboard.monitorRole],
      );
      expect(rights.rows).toEqual([{ reads: true, writes: false, service_data: false }]);
    });
  });

  it('after a rollback: nothing in flight, the rollback listed in the recent history', async () => {
    await rollbackMigration(system.adminUrl);
    await expect
      .poll(async () => (await inFlight(dashboard)) === null, { timeout: 10_000, interval: 300 })
      .toBe(true);
    const section = await migrations(dashboard);
    if (!section.available) throw new Error(section.reason);
    expect(section.data.recent).toEqual([
      {
        name: 'split-street-and-number',
        file: SPLIT,
        outcome: 'rolled_back',
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        forcedPast: [],
      },
    ]);
  });
});
