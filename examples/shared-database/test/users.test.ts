import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { createPool } from '../shared/database.js';
import { listen } from '../shared/service-process.js';
import { createUsersApp } from '../users/app.js';
import {
  call,
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';

describeEachServer('users service (A)', (server) => {
  let example: ProvisionedExample;
  let app: RunningApp;

  beforeAll(async () => {
    example = await provisionExample(server());
    app = await startApp('users', example.urls.users, createUsersApp);
  });
  afterAll(async () => {
    await app?.stop();
    example?.cleanup();
  });

  const account = {
    name: "Zoë O'Neill",
    street_and_number: 'Schillerstraße 7',
    zip: '80331',
    city: 'München',
  };

  it('creates an account and stores exactly what was sent, non-ASCII included', async () => {
    const created = await call('POST', `${app.url}/accounts`, account);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...account, id: expect.any(Number) });
    const rows = await example.admin((c) =>
      c.query('SELECT name, street_and_number, zip, city FROM users.account WHERE id = $1', [
        created.body.id,
      ]),
    );
    expect(rows.rows).toEqual([account]);
  });

  it('reads an account, and answers 404 for a missing one and 400 for a malformed id', async () => {
    const { body } = await call('POST', `${app.url}/accounts`, account);
    const read = await call('GET', `${app.url}/accounts/${body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(body);
    expect((await call('GET', `${app.url}/accounts/99999999`)).status).toBe(404);
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999999999999', '%E0%A4%A']) {
      const answer = await call('GET', `${app.url}/accounts/${bad}`);
      expect([400, 404], bad).toContain(answer.status);
      expect(answer.body.error.code).toBeTypeOf('string');
    }
    expect((await call('GET', `${app.url}/accounts/abc`)).body.error.code).toBe('invalid_id');
  });

  it('updates only the given fields', async () => {
    const { body } = await call('POST', `${app.url}/accounts`, account);
    const patched = await call('PATCH', `${app.url}/accounts/${body.id}`, {
      city: 'Köln',
      zip: '50667',
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...body, city: 'Köln', zip: '50667' });
    const row = await example.admin((c) =>
      c.query('SELECT city, zip, name FROM users.account WHERE id = $1', [body.id]),
    );
    expect(row.rows[0]).toEqual({ city: 'Köln', zip: '50667', name: account.name });
    expect((await call('PATCH', `${app.url}/accounts/99999999`, { city: 'x' })).status).toBe(404);
  });

  it('lists accounts page by page', async () => {
    for (let i = 0; i < 3; i++)
      await call('POST', `${app.url}/accounts`, { ...account, name: `page ${i}` });
    const first = await call('GET', `${app.url}/accounts?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.accounts).toHaveLength(2);
    const second = await call('GET', `${app.url}/accounts?limit=2&after=${first.body.next_after}`);
    expect(second.body.accounts[0].id).toBeGreaterThan(first.body.accounts[1].id);
    expect((await call('GET', `${app.url}/accounts?limit=0`)).status).toBe(400);
    expect((await call('GET', `${app.url}/accounts?limit=abc`)).status).toBe(400);
  });

  it('answers bad input with 4xx and a JSON error, and keeps serving', async () => {
    const cases: [string, string | undefined, unknown, number, string][] = [
      ['POST', '{not json', undefined, 400, 'body_invalid_json'],
      ['POST', '', undefined, 400, 'body_missing'],
      ['POST', undefined, [account], 400, 'body_not_object'],
      ['POST', undefined, { ...account, name: '' }, 400, 'invalid_field'],
      ['POST', undefined, { ...account, name: 42 }, 400, 'invalid_field'],
      ['POST', undefined, { ...account, zip: undefined }, 400, 'invalid_field'],
      ['POST', undefined, { ...account, name: 'x'.repeat(201) }, 400, 'invalid_field'],
      ['POST', undefined, { ...account, street: 'Hauptstraße 1' }, 400, 'unknown_field'],
      ['POST', 'x'.repeat(70_000), undefined, 413, 'body_too_large'],
    ];
    for (const [method, raw, body, status, code] of cases) {
      const answer = await call(method, `${app.url}/accounts`, body, raw);
      expect(
        [answer.status, answer.body.error.code],
        JSON.stringify(body ?? raw).slice(0, 60),
      ).toEqual([status, code]);
    }
    const { body } = await call('POST', `${app.url}/accounts`, account);
    expect((await call('PATCH', `${app.url}/accounts/${body.id}`, {})).body.error.code).toBe(
      'nothing_to_change',
    );
    expect((await call('PATCH', `${app.url}/accounts/${body.id}`, { id: 5 })).body.error.code).toBe(
      'unknown_field',
    );
    expect((await call('GET', `${app.url}/nothing-here`)).status).toBe(404);
    const wrongMethod = await call('DELETE', `${app.url}/accounts/${body.id}`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, PATCH');
    expect((await call('GET', `${app.url}/health`)).body).toEqual({
      status: 'ok',
      service: 'users',
    });
  });

  it('connects as its own role with its own application_name', async () => {
    await call('GET', `${app.url}/health`);
    const { rows } = await example.admin((c) =>
      c.query(
        `SELECT DISTINCT usename, application_name FROM pg_stat_activity WHERE datname = current_database() AND usename = 'users'`,
      ),
    );
    expect(rows).toEqual([{ usename: 'users', application_name: 'users' }]);
  });

  it('answers 503, not a crash, when its database is unreachable', async () => {
    const broken = new URL(example.urls.users);
    broken.port = '1';
    const pool = createPool({
      databaseUrl: broken.toString(),
      applicationName: 'users',
      poolSize: 1,
    });
    const down = await listen(createUsersApp(pool), 0);
    try {
      const health = await call('GET', `${down.url}/health`);
      expect(health.status).toBe(503);
      expect(health.body.error.code).toBe('database_unavailable');
      expect((await call('GET', `${down.url}/accounts/1`)).status).toBe(503);
    } finally {
      await down.close();
      await pool.end();
    }
  });
});
