import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { inTransaction, logEvent, toHttpError } from '../shared/database.js';
import { createRouter, HttpError, type Route } from '../shared/http.js';
import { parseAmount, parseId, rejectUnknownFields, requireObject } from '../shared/validate.js';
import { getInvoiceRoute, insertInvoice } from './app.js';

/**
 * Service B, version 2: team B caught up with team A's split of `street_and_number`.
 * It reads `street` and `number` from `users.account` (its contract must declare them:
 * `users.account: [id, name, street, number, zip, city]`), and no longer the old column,
 * so `pgpact migrate complete` may drop it. Its own table and HTTP API are unchanged:
 * an invoice keeps one billing address line, `billing_street_and_number`, composed as
 * `street number` when the invoice is made (the same text v1 stored).
 */

/** The billing address line of an invoice: street, a space, house number. */
function addressLine(street: unknown, number: unknown): string | undefined {
  if (typeof street !== 'string' || typeof number !== 'string') return undefined;
  return `${street} ${number}`;
}

/**
 * A database error as HTTP. The invoicing role owns its own schema, so a missing column or
 * privilege can only be users.account not (yet) readable the v2 way: 503, saying why.
 */
function toHttpErrorV2(error: unknown): HttpError {
  const code = (error as { code?: unknown }).code;
  if (code === '42703')
    return new HttpError(
      503,
      'schema_not_ready',
      'users.account has no street and number yet: team A has not started its migration',
    );
  if (code === '42501')
    return new HttpError(
      503,
      'contract_not_applied',
      'the invoicing role may not read users.account street and number: apply the contract that declares them',
    );
  return toHttpError(error);
}

/** The routes of invoicing v2 over a pool connected as the `invoicing` role. */
export function invoicingV2Routes(pool: pg.Pool): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/health',
      async handle() {
        await pool.query('SELECT street, number FROM users.account LIMIT 0');
        return { status: 200, body: { status: 'ok', service: 'invoicing', version: 2 } };
      },
    },
    {
      method: 'POST',
      pattern: '/invoices',
      async handle(request) {
        const body = requireObject(await request.body());
        rejectUnknownFields(body, ['account_id', 'amount']);
        const accountId = parseId(body.account_id, 'account_id');
        const amount = parseAmount(body.amount);
        const row = await inTransaction(pool, async (client) => {
          // Exactly the columns of the v2 contract: users.account (id, name, street, number, zip, city).
          const account = await client.query(
            'SELECT id, name, street, number, zip, city FROM users.account WHERE id = $1',
            [accountId],
          );
          const a = account.rows[0];
          if (!a)
            throw new HttpError(422, 'account_not_found', `account ${accountId} does not exist`);
          const line = addressLine(a.street, a.number);
          if (line === undefined) {
            throw new HttpError(
              422,
              'account_address_incomplete',
              `account ${accountId} has no street and number`,
            );
          }
          return insertInvoice(
            client,
            accountId,
            { name: a.name, street_and_number: line, zip: a.zip, city: a.city },
            amount,
          );
        });
        return { status: 201, body: row };
      },
    },
    getInvoiceRoute(pool),
  ];
}

/** Invoicing v2 as a request listener. */
export function createInvoicingV2App(pool: pg.Pool): RequestListener {
  return createRouter(invoicingV2Routes(pool), toHttpErrorV2, (error, request) =>
    logEvent('request_failed', {
      service: 'invoicing',
      request,
      message: (error as Error).message,
    }),
  );
}
