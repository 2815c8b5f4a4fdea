import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { inTransaction, logEvent, toHttpError } from '../shared/database.js';
import { createRouter, HttpError, type Route } from '../shared/http.js';
import { SCHEMA_PER_SERVICE, type Tables } from '../shared/tables.js';
import { parseAmount, parseId, rejectUnknownFields, requireObject } from '../shared/validate.js';

/**
 * Service B of the article: it generates invoices, and for that reads the name and
 * address columns of service A's `users.account` (its declared contract).
 */

/** An invoice as the invoicing service returns it, with the billing address as it was when invoiced. */
export interface Invoice {
  id: number;
  account_id: number;
  billing: { name: string; street_and_number: string; zip: string; city: string };
  amount: string;
  created_at: string;
}

const COLUMNS =
  'id, account_id, billing_name, billing_street_and_number, billing_zip, billing_city, amount, created_at';

/** Stores an invoice with its billing snapshot (the same row in every version of the service). */
export async function insertInvoice(
  client: pg.PoolClient,
  accountId: number,
  billing: Invoice['billing'],
  amount: string,
  tables: Tables = SCHEMA_PER_SERVICE,
): Promise<Invoice> {
  const inserted = await client.query(
    `INSERT INTO ${tables.invoice} (account_id, billing_name, billing_street_and_number, billing_zip, billing_city, amount)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [accountId, billing.name, billing.street_and_number, billing.zip, billing.city, amount],
  );
  return toInvoice(inserted.rows[0]!);
}

/** GET /invoices/:id, the same in every version of the service. */
export function getInvoiceRoute(pool: pg.Pool, tables: Tables = SCHEMA_PER_SERVICE): Route {
  return {
    method: 'GET',
    pattern: '/invoices/:id',
    async handle(request) {
      const id = parseId(request.params.id);
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM ${tables.invoice} WHERE id = $1`, [
        id,
      ]);
      if (rows.length === 0) throw new HttpError(404, 'invoice_not_found', `no invoice ${id}`);
      return { status: 200, body: toInvoice(rows[0]!) };
    },
  };
}

function toInvoice(row: Record<string, unknown>): Invoice {
  return {
    id: Number(row.id),
    account_id: Number(row.account_id),
    billing: {
      name: String(row.billing_name),
      street_and_number: String(row.billing_street_and_number),
      zip: String(row.billing_zip),
      city: String(row.billing_city),
    },
    amount: String(row.amount),
    created_at: (row.created_at as Date).toISOString(),
  };
}

/** The routes of the invoicing service over a pool connected as the `invoicing` role. */
export function invoicingRoutes(pool: pg.Pool, tables: Tables = SCHEMA_PER_SERVICE): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/health',
      async handle() {
        await pool.query('SELECT 1');
        return { status: 200, body: { status: 'ok', service: 'invoicing' } };
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
          // Exactly the columns of the contract: users.account (id, name, street_and_number, zip, city).
          const account = await client.query(
            `SELECT id, name, street_and_number, zip, city FROM ${tables.account} WHERE id = $1`,
            [accountId],
          );
          const a = account.rows[0];
          if (!a)
            throw new HttpError(422, 'account_not_found', `account ${accountId} does not exist`);
          return insertInvoice(
            client,
            accountId,
            { name: a.name, street_and_number: a.street_and_number, zip: a.zip, city: a.city },
            amount,
            tables,
          );
        });
        return { status: 201, body: row };
      },
    },
    getInvoiceRoute(pool, tables),
  ];
}

/** The invoicing service as a request listener. */
export function createInvoicingApp(
  pool: pg.Pool,
  tables: Tables = SCHEMA_PER_SERVICE,
): RequestListener {
  return createRouter(invoicingRoutes(pool, tables), toHttpError, (error, request) =>
    logEvent('request_failed', {
      service: 'invoicing',
      request,
      message: (error as Error).message,
    }),
  );
}
