import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { logEvent, toHttpError } from '../shared/database.js';
import { createRouter, HttpError, type Route } from '../shared/http.js';
import { SCHEMA_PER_SERVICE, type Tables } from '../shared/tables.js';
import {
  intParam,
  parseId,
  rejectUnknownFields,
  requireObject,
  stringField,
} from '../shared/validate.js';

/** Service A of the article: it maintains users (schema `users`, table `users.account`). */

/** An account as the users service returns it. */
export interface Account {
  id: number;
  name: string;
  street_and_number: string;
  zip: string;
  city: string;
  created_at: string;
}

const FIELDS = ['name', 'street_and_number', 'zip', 'city'] as const;
const LIMITS: Record<(typeof FIELDS)[number], number> = {
  name: 200,
  street_and_number: 200,
  zip: 20,
  city: 100,
};
const COLUMNS = 'id, name, street_and_number, zip, city, created_at';

function toAccount(row: Record<string, unknown>): Account {
  return {
    id: Number(row.id),
    name: String(row.name),
    street_and_number: String(row.street_and_number),
    zip: String(row.zip),
    city: String(row.city),
    created_at: (row.created_at as Date).toISOString(),
  };
}

/** GET /accounts (keyset pages) and GET /accounts/:id, for one version's columns and row shape. */
export function accountReadRoutes<A extends { id: number }>(
  pool: pg.Pool,
  columns: string,
  toAccount: (row: Record<string, unknown>) => A,
  tables: Tables = SCHEMA_PER_SERVICE,
): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/accounts',
      async handle(request) {
        const limit = intParam(request.query, 'limit', { min: 1, max: 100, fallback: 20 });
        const after = request.query.has('after') ? parseId(request.query.get('after'), 'after') : 0;
        const { rows } = await pool.query(
          `SELECT ${columns} FROM ${tables.account} WHERE id > $1 ORDER BY id LIMIT $2`,
          [after, limit],
        );
        const accounts = rows.map(toAccount);
        const next = accounts.length === limit ? accounts[accounts.length - 1]!.id : null;
        return { status: 200, body: { accounts, next_after: next } };
      },
    },
    {
      method: 'GET',
      pattern: '/accounts/:id',
      async handle(request) {
        const id = parseId(request.params.id);
        const { rows } = await pool.query(
          `SELECT ${columns} FROM ${tables.account} WHERE id = $1`,
          [id],
        );
        if (rows.length === 0) throw new HttpError(404, 'account_not_found', `no account ${id}`);
        return { status: 200, body: toAccount(rows[0]!) };
      },
    },
  ];
}

/** The routes of the users service over a pool connected as the `users` role. */
export function usersRoutes(pool: pg.Pool, tables: Tables = SCHEMA_PER_SERVICE): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/health',
      async handle() {
        await pool.query('SELECT 1');
        return { status: 200, body: { status: 'ok', service: 'users' } };
      },
    },
    {
      method: 'POST',
      pattern: '/accounts',
      async handle(request) {
        const body = requireObject(await request.body());
        rejectUnknownFields(body, FIELDS);
        const values = FIELDS.map((f) => stringField(body, f, { max: LIMITS[f] }));
        const { rows } = await pool.query(
          `INSERT INTO ${tables.account} (name, street_and_number, zip, city) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
          values,
        );
        return { status: 201, body: toAccount(rows[0]!) };
      },
    },
    ...accountReadRoutes(pool, COLUMNS, toAccount, tables),
    {
      method: 'PATCH',
      pattern: '/accounts/:id',
      async handle(request) {
        const id = parseId(request.params.id);
        const body = requireObject(await request.body());
        rejectUnknownFields(body, FIELDS);
        const changes = FIELDS.flatMap((f) => {
          const value = stringField(body, f, { max: LIMITS[f], optional: true });
          return value === undefined ? [] : [[f, value] as const];
        });
        if (changes.length === 0) {
          throw new HttpError(
            400,
            'nothing_to_change',
            `give at least one of ${FIELDS.join(', ')}`,
          );
        }
        // Column names come from the fixed FIELDS list, never from the request.
        const set = changes.map(([f], i) => `${f} = $${i + 2}`).join(', ');
        const { rows } = await pool.query(
          `UPDATE ${tables.account} SET ${set} WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, ...changes.map(([, v]) => v)],
        );
        if (rows.length === 0) throw new HttpError(404, 'account_not_found', `no account ${id}`);
        return { status: 200, body: toAccount(rows[0]!) };
      },
    },
  ];
}

/** The users service as a request listener. */
export function createUsersApp(
  pool: pg.Pool,
  tables: Tables = SCHEMA_PER_SERVICE,
): RequestListener {
  return createRouter(usersRoutes(pool, tables), toHttpError, (error, request) =>
    logEvent('request_failed', { service: 'users', request, message: (error as Error).message }),
  );
}
