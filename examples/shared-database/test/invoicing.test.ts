import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { createInvoicingApp } from '../invoicing/app.js';
import { createUsersApp } from '../users/app.js';
import {
  call,
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';

describeEachServer('invoicing service (B)', (server) => {
  let example: ProvisionedExample;
  let users: RunningApp;
  let invoicing: RunningApp;
  let accountId: number;
  const account = {
    name: 'Jürgen Weber',
    street_and_number: 'Am Markt 3',
    zip: '01067',
    city: 'Dresden',
  };

  beforeAll(async () => {
    example = await provisionExample(server());
    users = await startApp('users', example.urls.users, createUsersApp);
    invoicing = await startApp('invoicing', example.urls.invoicing, createInvoicingApp);
    accountId = (await call('POST', `${users.url}/accounts`, account)).body.id;
  });
  afterAll(async () => {
    await invoicing?.stop();
    await users?.stop();
    example?.cleanup();
  });

  it('creates an invoice with a snapshot of the account’s name and address, read through its contract', async () => {
    const created = await call('POST', `${invoicing.url}/invoices`, {
      account_id: accountId,
      amount: 129.9,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      account_id: accountId,
      amount: '129.90',
      billing: account,
    });
    const row = await example.admin((c) =>
      c.query(
        `SELECT account_id::int, billing_name, billing_street_and_number, billing_zip, billing_city, amount::text
         FROM invoicing.invoice WHERE id = $1`,
        [created.body.id],
      ),
    );
    expect(row.rows[0]).toEqual({
      account_id: accountId,
      billing_name: account.name,
      billing_street_and_number: account.street_and_number,
      billing_zip: account.zip,
      billing_city: account.city,
      amount: '129.90',
    });
  });

  it('keeps the billing address of an invoice when the account moves later', async () => {
    const { body: invoice } = await call('POST', `${invoicing.url}/invoices`, {
      account_id: accountId,
      amount: '10',
    });
    await call('PATCH', `${users.url}/accounts/${accountId}`, { city: 'Leipzig', zip: '04109' });
    const read = await call('GET', `${invoicing.url}/invoices/${invoice.id}`);
    expect(read.status).toBe(200);
    expect(read.body.billing.city).toBe('Dresden');
    const next = await call('POST', `${invoicing.url}/invoices`, {
      account_id: accountId,
      amount: '10.5',
    });
    expect(next.body.billing).toMatchObject({ city: 'Leipzig', zip: '04109' });
    expect(next.body.amount).toBe('10.50');
  });

  it('answers 422 for an account that does not exist, 404 for a missing invoice', async () => {
    const answer = await call('POST', `${invoicing.url}/invoices`, {
      account_id: 99999999,
      amount: 5,
    });
    expect([answer.status, answer.body.error.code]).toEqual([422, 'account_not_found']);
    expect((await call('GET', `${invoicing.url}/invoices/99999999`)).status).toBe(404);
    expect((await call('GET', `${invoicing.url}/invoices/x`)).status).toBe(400);
  });

  it('rejects bad amounts, ids and fields with 400 and stores nothing', async () => {
    const before = await example.admin((c) =>
      c.query('SELECT count(*)::int AS n FROM invoicing.invoice'),
    );
    const bodies: unknown[] = [
      { account_id: accountId, amount: 0 },
      { account_id: accountId, amount: -5 },
      { account_id: accountId, amount: '12.345' },
      { account_id: accountId, amount: 'twelve' },
      { account_id: accountId, amount: 1e12 },
      { account_id: accountId, amount: Number.NaN },
      { account_id: accountId },
      { amount: 5 },
      { account_id: 'abc', amount: 5 },
      { account_id: 1.5, amount: 5 },
      { account_id: accountId, amount: 5, discount: 1 },
      'just a string',
    ];
    for (const body of bodies) {
      const answer = await call('POST', `${invoicing.url}/invoices`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.message).toBeTypeOf('string');
    }
    const after = await example.admin((c) =>
      c.query('SELECT count(*)::int AS n FROM invoicing.invoice'),
    );
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('cannot write service A’s table with its own role', async () => {
    const denied = await invoicing.pool
      .query('UPDATE users.account SET city = $1', ['x'])
      .catch((e: { code: string }) => e.code);
    expect(denied).toBe('42501');
  });
});
