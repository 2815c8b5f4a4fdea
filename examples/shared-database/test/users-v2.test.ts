import { afterAll, beforeAll, expect, it } from 'vitest';
import { completeMigration } from '../../../src/migrate/complete.js';
import { startMigration } from '../../../src/migrate/start.js';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { createUsersApp } from '../users/app.js';
import { createUsersV2App } from '../users/app-v2.js';
import {
  call,
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';
import { loadSplit } from './split-migration.js';

describeEachServer('users v2 (A, street and number)', (server) => {
  let example: ProvisionedExample;
  let v1: RunningApp;
  let v2: RunningApp;
  let before: number;

  const account = { name: 'Zoë Weber', zip: '80331', city: 'München' };
  const row = (id: number) =>
    example
      .admin((c) =>
        c.query('SELECT street_and_number, street, number FROM users.account WHERE id = $1', [id]),
      )
      .then((r) => r.rows[0]);

  beforeAll(async () => {
    example = await provisionExample(server());
    v1 = await startApp('users', example.urls.users, createUsersApp);
    v2 = await startApp('users', example.urls.users, createUsersV2App);
    before = (
      await call('POST', `${v1.url}/accounts`, { ...account, street_and_number: 'Am Markt 3' })
    ).body.id;
  });
  afterAll(async () => {
    await v2?.stop();
    await v1?.stop();
    example?.cleanup();
  });

  it('before the migration, answers 503 schema_not_ready and writes nothing', async () => {
    const health = await call('GET', `${v2.url}/health`);
    expect([health.status, health.body.error.code]).toEqual([503, 'schema_not_ready']);
    const created = await call('POST', `${v2.url}/accounts`, {
      ...account,
      street: 'Gartenweg',
      number: '1',
    });
    expect([created.status, created.body.error.code]).toEqual([503, 'schema_not_ready']);
    expect(created.body.error.message).toMatch(/pgpact migrate start/);
    const { rows } = await example.admin((c) =>
      c.query('SELECT count(*)::int AS n FROM users.account'),
    );
    expect(rows[0].n).toBe(1);
  });

  it('after migrate start, writes street and number; the old column follows for v1 readers', async () => {
    const { migration } = await loadSplit();
    await startMigration(example.adminUrl, migration);
    expect((await call('GET', `${v2.url}/health`)).body).toEqual({
      status: 'ok',
      service: 'users',
      version: 2,
    });
    // The row written before the migration was backfilled.
    expect((await call('GET', `${v2.url}/accounts/${before}`)).body).toMatchObject({
      street: 'Am Markt',
      number: '3',
      street_and_number: 'Am Markt 3',
    });
    const created = await call('POST', `${v2.url}/accounts`, {
      ...account,
      street: 'Schillerstraße',
      number: '7a',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      ...account,
      street: 'Schillerstraße',
      number: '7a',
      street_and_number: 'Schillerstraße 7a',
    });
    expect(await row(created.body.id)).toEqual({
      street_and_number: 'Schillerstraße 7a',
      street: 'Schillerstraße',
      number: '7a',
    });
    const oldRead = await call('GET', `${v1.url}/accounts/${created.body.id}`);
    expect(oldRead.body.street_and_number).toBe('Schillerstraße 7a');

    // Only the number changes: the trigger recomposes the old column.
    const moved = await call('PATCH', `${v2.url}/accounts/${created.body.id}`, { number: '9' });
    expect(moved.body).toMatchObject({
      street: 'Schillerstraße',
      street_and_number: 'Schillerstraße 9',
    });
    expect((await row(created.body.id)).street_and_number).toBe('Schillerstraße 9');
    // v1 still writes the old column; v2 reads the split.
    await call('PATCH', `${v1.url}/accounts/${created.body.id}`, {
      street_and_number: 'Am Ring 2',
    });
    expect((await call('GET', `${v2.url}/accounts/${created.body.id}`)).body).toMatchObject({
      street: 'Am Ring',
      number: '2',
    });
  });

  it('splits street_and_number from old clients exactly as the trigger splits what v1 writes', async () => {
    const addresses = [
      'Hauptstraße 12a',
      'Straße des 17. Juni 135',
      'Am  Kanal 4',
      "O'Neill-Weg 1-3",
      'Rue de l\u00a0Église 5',
    ];
    for (const street_and_number of addresses) {
      const viaV1 = await call('POST', `${v1.url}/accounts`, { ...account, street_and_number });
      const viaV2 = await call('POST', `${v2.url}/accounts`, { ...account, street_and_number });
      expect(viaV2.status, street_and_number).toBe(201);
      expect(await row(viaV2.body.id), street_and_number).toEqual(await row(viaV1.body.id));
      expect(viaV2.body.street_and_number).toBe(street_and_number);
    }
    const patched = await call('PATCH', `${v2.url}/accounts/${before}`, {
      street_and_number: 'Lindenallee 40',
    });
    expect(patched.body).toMatchObject({ street: 'Lindenallee', number: '40' });
  });

  it('refuses what both shapes cannot carry, and bad input as v1 does', async () => {
    const cases: [string, unknown, string][] = [
      ['POST', { ...account, street_and_number: 'Hauptstraße' }, 'invalid_field'],
      ['POST', { ...account, street: 'Am Markt', number: '3 a' }, 'invalid_field'],
      ['POST', { ...account, street: 'Am Markt' }, 'invalid_field'],
      ['POST', { ...account }, 'invalid_field'],
      [
        'POST',
        { ...account, street: 'Am Markt', number: '3', street_and_number: 'Am Markt 3' },
        'conflicting_fields',
      ],
      ['POST', { ...account, street: 'Am Markt', number: '3', floor: '2' }, 'unknown_field'],
      ['POST', { ...account, street: 'Am Markt', number: 'x'.repeat(21) }, 'invalid_field'],
      ['PATCH', { number: 'b', street_and_number: 'Am Markt 3' }, 'conflicting_fields'],
      ['PATCH', {}, 'nothing_to_change'],
      ['PATCH', { number: '' }, 'invalid_field'],
    ];
    for (const [method, body, code] of cases) {
      const url = method === 'POST' ? `${v2.url}/accounts` : `${v2.url}/accounts/${before}`;
      const answer = await call(method, url, body);
      expect([answer.status, answer.body.error.code], JSON.stringify(body)).toEqual([400, code]);
    }
    expect((await call('PATCH', `${v2.url}/accounts/99999999`, { number: '1' })).status).toBe(404);
    expect((await call('GET', `${v2.url}/accounts/abc`)).status).toBe(400);
  });

  it('keeps working once complete dropped street_and_number: it never reads or writes it', async () => {
    await completeMigration(example.adminUrl, { force: true });
    const created = await call('POST', `${v2.url}/accounts`, {
      ...account,
      street_and_number: 'Goethestraße 8',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ street: 'Goethestraße', number: '8' });
    const patched = await call('PATCH', `${v2.url}/accounts/${created.body.id}`, {
      street: 'Am Markt',
      number: '1',
      city: 'Köln',
    });
    expect(patched.body).toMatchObject({ street_and_number: 'Am Markt 1', city: 'Köln' });
    const page = await call('GET', `${v2.url}/accounts?limit=100`);
    expect(page.body.accounts.length).toBeGreaterThan(5);
    for (const a of page.body.accounts) expect(a.street_and_number).toBe(`${a.street} ${a.number}`);
    expect((await call('GET', `${v1.url}/accounts/${before}`)).status).toBe(500);
  });
});
