import { afterAll, beforeAll, expect, it } from 'vitest';
import { withClient } from '../../../src/postgres/client.js';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { createReportingApp } from '../reporting/app.js';
import { seedAccounts, seedInvoices } from '../setup/seed.js';
import {
  call,
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';

describeEachServer('reporting service (C)', (server) => {
  let example: ProvisionedExample;
  let reporting: RunningApp;

  beforeAll(async () => {
    example = await provisionExample(server());
    await withClient(example.urls.users, (c) => seedAccounts(c, 500));
    await withClient(example.urls.invoicing, (c) => seedInvoices(c, 300, 2));
    reporting = await startApp('reporting', example.urls.reporting, createReportingApp);
  });
  afterAll(async () => {
    await reporting?.stop();
    example?.cleanup();
  });

  it('reports customers by city, with zip codes, sample names and revenue, matching the tables', async () => {
    const answer = await call('GET', `${reporting.url}/reports/customers-by-city?limit=100`);
    expect(answer.status).toBe(200);
    const expected = await example.admin(async (c) => {
      const { rows } = await c.query(
        `SELECT a.city, count(*)::int AS customers, count(DISTINCT a.zip)::int AS zip_codes,
                COALESCE((SELECT sum(i.amount) FROM invoicing.invoice i JOIN users.account b ON b.id = i.account_id
                          WHERE b.city = a.city), 0)::text AS revenue
         FROM users.account a GROUP BY a.city ORDER BY customers DESC, a.city`,
      );
      return rows;
    });
    expect(
      answer.body.cities.map(
        ({ sample_customers, ...rest }: { sample_customers: string[] }) => rest,
      ),
    ).toEqual(expected);
    const munich = answer.body.cities.find((c: { city: string }) => c.city === 'München');
    expect(munich.sample_customers).toHaveLength(3);
    expect([...munich.sample_customers].sort()).toEqual(munich.sample_customers);
    const two = await call('GET', `${reporting.url}/reports/customers-by-city?limit=2`);
    expect(two.body.cities).toEqual(answer.body.cities.slice(0, 2));
  });

  it('reports accounts created per month over the requested months', async () => {
    const answer = await call('GET', `${reporting.url}/reports/accounts-per-month?months=24`);
    expect(answer.status).toBe(200);
    const { rows } = await example.admin((c) =>
      c.query(
        `SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month, count(*)::int AS accounts
         FROM users.account WHERE created_at >= date_trunc('month', now()) - interval '23 months'
         GROUP BY 1 ORDER BY 1`,
      ),
    );
    expect(answer.body.months).toEqual(rows);
    expect(rows.length).toBeGreaterThan(12);
  });

  it('answers bad parameters with 400', async () => {
    for (const query of ['months=0', 'months=121', 'months=x', 'months=1.5']) {
      const answer = await call('GET', `${reporting.url}/reports/accounts-per-month?${query}`);
      expect([query, answer.status, answer.body.error.code]).toEqual([query, 400, 'invalid_query']);
    }
    expect((await call('GET', `${reporting.url}/reports/customers-by-city?limit=-1`)).status).toBe(
      400,
    );
    expect((await call('POST', `${reporting.url}/reports/customers-by-city`, {})).status).toBe(405);
  });

  it('reads more of users.account than its contract declares: audit mode lets it', async () => {
    // Declared: users.account (id, created_at). customers-by-city also reads city, zip and name.
    const { rows } = await reporting.pool.query(
      'SELECT city, zip, name FROM users.account LIMIT 1',
    );
    expect(Object.keys(rows[0]!)).toEqual(['city', 'zip', 'name']);
  });
});
