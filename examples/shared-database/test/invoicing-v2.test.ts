import { afterAll, beforeAll, expect, it } from 'vitest';
import { completeMigration } from '../../../src/migrate/complete.js';
import { startMigration } from '../../../src/migrate/start.js';
import { migrationStatus } from '../../../src/migrate/status.js';
import { applyProvisioning } from '../../../src/provision/apply.js';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { createInvoicingApp } from '../invoicing/app.js';
import { createInvoicingV2App } from '../invoicing/app-v2.js';
import { createUsersV2App } from '../users/app-v2.js';
import { createUsersApp } from '../users/app.js';
import {
  call,
  type ProvisionedExample,
  provisionExample,
  type RunningApp,
  startApp,
} from './provisioned-example.js';
import { exampleManifest, loadSplit, withInvoicingReads } from './split-migration.js';

describeEachServer('invoicing v2 (B, reads street and number)', (server) => {
  let example: ProvisionedExample;
  let usersV1: RunningApp;
  let invoicingV1: RunningApp;
  let invoicingV2: RunningApp;
  let accountId: number;
  const v1Contract = ['id', 'name', 'street_and_number', 'zip', 'city'];
  const v2Contract = ['id', 'name', 'street', 'number', 'zip', 'city'];
  const invoice = (app: RunningApp) =>
    call('POST', `${app.url}/invoices`, { account_id: accountId, amount: '42.10' });
  const invoiceCount = () =>
    example
      .admin((c) => c.query('SELECT count(*)::int AS n FROM invoicing.invoice'))
      .then((r) => r.rows[0].n as number);

  beforeAll(async () => {
    example = await provisionExample(server());
    usersV1 = await startApp('users', example.urls.users, createUsersApp);
    invoicingV1 = await startApp('invoicing', example.urls.invoicing, createInvoicingApp);
    invoicingV2 = await startApp('invoicing', example.urls.invoicing, createInvoicingV2App);
    accountId = (
      await call('POST', `${usersV1.url}/accounts`, {
        name: 'Jürgen Weber',
        street_and_number: 'Am Markt 3',
        zip: '01067',
        city: 'Dresden',
      })
    ).body.id;
  });
  afterAll(async () => {
    await invoicingV2?.stop();
    await invoicingV1?.stop();
    await usersV1?.stop();
    example?.cleanup();
  });

  it('answers 503 saying why until the split has started and its contract is applied, storing nothing', async () => {
    const early = await invoice(invoicingV2);
    expect([early.status, early.body.error.code]).toEqual([503, 'schema_not_ready']);
    const { migration } = await loadSplit();
    await startMigration(example.adminUrl, migration);
    // The v1 contract grants street_and_number only.
    const health = await call('GET', `${invoicingV2.url}/health`);
    expect([health.status, health.body.error.code]).toEqual([503, 'contract_not_applied']);
    const denied = await invoice(invoicingV2);
    expect([denied.status, denied.body.error.code]).toEqual([503, 'contract_not_applied']);
    expect(await invoiceCount()).toBe(0);
  });

  it('bills the same address line as v1 once the contract grants street and number', async () => {
    const manifest = exampleManifest();
    await applyProvisioning(
      example.adminUrl,
      withInvoicingReads(manifest, [...new Set([...v1Contract, ...v2Contract])]),
      { stateDir: example.stateDir },
    );
    expect((await call('GET', `${invoicingV2.url}/health`)).body).toEqual({
      status: 'ok',
      service: 'invoicing',
      version: 2,
    });
    const [old, next] = [await invoice(invoicingV1), await invoice(invoicingV2)];
    expect(next.status).toBe(201);
    expect(next.body.billing).toEqual(old.body.billing);
    expect(next.body.billing.street_and_number).toBe('Am Markt 3');

    // Users v2 writes the new columns only; both invoicing versions read the same address.
    const usersV2 = await startApp('users', example.urls.users, createUsersV2App);
    try {
      await call('PATCH', `${usersV2.url}/accounts/${accountId}`, {
        street: 'Straße des 17. Juni',
        number: '135',
      });
    } finally {
      await usersV2.stop();
    }
    const [a, b] = [await invoice(invoicingV1), await invoice(invoicingV2)];
    expect([a.body.billing.street_and_number, b.body.billing.street_and_number]).toEqual([
      'Straße des 17. Juni 135',
      'Straße des 17. Juni 135',
    ]);
    const stored = await example.admin((c) =>
      c.query('SELECT billing_street_and_number FROM invoicing.invoice WHERE id = $1', [b.body.id]),
    );
    expect(stored.rows).toEqual([{ billing_street_and_number: 'Straße des 17. Juni 135' }]);
    expect((await call('GET', `${invoicingV2.url}/invoices/${b.body.id}`)).body).toEqual(b.body);
  });

  it('is not seen reading street_and_number: complete goes through once v1 is quiet and the contract is changed', async () => {
    const finalManifest = withInvoicingReads(exampleManifest(), v2Contract);
    await migrationStatus(example.adminUrl, { manifest: finalManifest, quietForMs: 0 });
    // Only v2 runs between the two looks: its statements do not touch the old column.
    expect((await invoice(invoicingV2)).status).toBe(201);
    const done = await completeMigration(example.adminUrl, {
      manifest: finalManifest,
      quietForMs: 0,
    });
    expect(done.outcome).toBe('completed');
    await applyProvisioning(example.adminUrl, finalManifest, { stateDir: example.stateDir });
    const after = await invoice(invoicingV2);
    expect([after.status, after.body.billing.street_and_number]).toEqual([
      201,
      'Straße des 17. Juni 135',
    ]);
    expect((await invoice(invoicingV1)).status).toBe(500);
  });

  it('answers bad input as v1 does', async () => {
    const before = await invoiceCount();
    for (const body of [{ account_id: accountId, amount: 0 }, { amount: 5 }, 'x']) {
      expect((await call('POST', `${invoicingV2.url}/invoices`, body)).status).toBe(400);
    }
    const missing = await call('POST', `${invoicingV2.url}/invoices`, {
      account_id: 99999999,
      amount: 5,
    });
    expect([missing.status, missing.body.error.code]).toEqual([422, 'account_not_found']);
    expect((await call('GET', `${invoicingV2.url}/invoices/99999999`)).status).toBe(404);
    expect(await invoiceCount()).toBe(before);
  });
});
