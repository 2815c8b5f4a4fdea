import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { logEvent, toHttpError } from '../shared/database.js';
import { createRouter, HttpError, type Route } from '../shared/http.js';
import { parseId, rejectUnknownFields, requireObject, stringField } from '../shared/validate.js';
import { isOneWord, joinLikeMigration, splitStreetAndNumber } from './address.js';
import { accountReadRoutes } from './app.js';

/**
 * Service A, version 2: the address is `street` and `number` (team A's split of
 * `street_and_number`). It writes only the new columns; while the migration is in
 * progress the sync trigger derives `street_and_number` for the readers of the old
 * shape, and after it completes that column is gone. Needs `pgpact migrate start`
 * of split-street-and-number first (until then it answers 503 `schema_not_ready`).
 */

/** An account as users v2 returns it: the new shape, and the old one derived for old clients. */
export interface AccountV2 {
  id: number;
  name: string;
  street: string | null;
  number: string | null;
  /** `street number`, as the migration's down expression composes it. */
  street_and_number: string | null;
  zip: string;
  city: string;
  created_at: string;
}

/** Fields a client may send; `street_and_number` is accepted for old clients and split. */
const FIELDS = ['name', 'street', 'number', 'street_and_number', 'zip', 'city'] as const;
type Field = (typeof FIELDS)[number];
const LIMITS: Record<Field, number> = {
  name: 200,
  street: 200,
  number: 20,
  street_and_number: 200,
  zip: 20,
  city: 100,
};
/** The columns users v2 writes (never street_and_number). */
type Column = 'name' | 'street' | 'number' | 'zip' | 'city';
const COLUMNS = 'id, name, street, number, zip, city, created_at';

const text = (value: unknown): string | null => (value === null ? null : String(value));

function toAccount(row: Record<string, unknown>): AccountV2 {
  const street = text(row.street);
  const number = text(row.number);
  return {
    id: Number(row.id),
    name: String(row.name),
    street,
    number,
    street_and_number:
      street === null || number === null ? null : joinLikeMigration(street, number),
    zip: String(row.zip),
    city: String(row.city),
    created_at: (row.created_at as Date).toISOString(),
  };
}

/**
 * The columns to write from a request body (only those present when partial): the address
 * as street and number, whichever shape the client sent, never both.
 */
function columnsOf(body: Record<string, unknown>, partial: boolean): [Column, string][] {
  rejectUnknownFields(body, FIELDS);
  const field = (name: Field, optional: boolean) =>
    stringField(body, name, { max: LIMITS[name], optional });
  const combined = field('street_and_number', true);
  const newShape = body.street !== undefined || body.number !== undefined;
  if (combined !== undefined && newShape) {
    throw new HttpError(
      400,
      'conflicting_fields',
      'give either street and number, or street_and_number, not both',
    );
  }
  const columns: [Column, string][] = [];
  const name = field('name', partial);
  if (name !== undefined) columns.push(['name', name]);
  if (combined !== undefined) {
    const split = splitStreetAndNumber(combined);
    if (!split) {
      throw new HttpError(
        400,
        'invalid_field',
        'street_and_number must end with a house number after a space, e.g. "Am Markt 3"',
      );
    }
    columns.push(['street', split.street], ['number', split.number]);
  } else {
    if (!partial && !newShape) {
      throw new HttpError(
        400,
        'invalid_field',
        'street and number (or street_and_number) are required',
      );
    }
    const street = field('street', partial);
    const number = field('number', partial);
    if (number !== undefined && !isOneWord(number)) {
      throw new HttpError(400, 'invalid_field', 'number must be one word, e.g. "12a" or "7-9"');
    }
    if (street !== undefined) columns.push(['street', street]);
    if (number !== undefined) columns.push(['number', number]);
  }
  for (const f of ['zip', 'city'] as const) {
    const value = field(f, partial);
    if (value !== undefined) columns.push([f, value]);
  }
  return columns;
}

/** The routes of users v2 over a pool connected as the `users` role. */
export function usersV2Routes(pool: pg.Pool): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/health',
      async handle() {
        await pool.query('SELECT street, number FROM users.account LIMIT 0');
        return { status: 200, body: { status: 'ok', service: 'users', version: 2 } };
      },
    },
    {
      method: 'POST',
      pattern: '/accounts',
      async handle(request) {
        const columns = columnsOf(requireObject(await request.body()), false);
        // Column names come from the fixed Column list, never from the request.
        const { rows } = await pool.query(
          `INSERT INTO users.account (${columns.map(([c]) => c).join(', ')})
           VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${COLUMNS}`,
          columns.map(([, v]) => v),
        );
        return { status: 201, body: toAccount(rows[0]!) };
      },
    },
    ...accountReadRoutes(pool, COLUMNS, toAccount),
    {
      method: 'PATCH',
      pattern: '/accounts/:id',
      async handle(request) {
        const id = parseId(request.params.id);
        const changes = columnsOf(requireObject(await request.body()), true);
        if (changes.length === 0) {
          throw new HttpError(
            400,
            'nothing_to_change',
            `give at least one of ${FIELDS.join(', ')}`,
          );
        }
        const set = changes.map(([c], i) => `${c} = $${i + 2}`).join(', ');
        const { rows } = await pool.query(
          `UPDATE users.account SET ${set} WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, ...changes.map(([, v]) => v)],
        );
        if (rows.length === 0) throw new HttpError(404, 'account_not_found', `no account ${id}`);
        return { status: 200, body: toAccount(rows[0]!) };
      },
    },
  ];
}

/** A database error as HTTP; a missing street or number means the migration has not started. */
function toHttpErrorV2(error: unknown): HttpError {
  if ((error as { code?: unknown }).code === '42703') {
    return new HttpError(
      503,
      'schema_not_ready',
      'users.account has no street and number yet: run pgpact migrate start split-street-and-number first',
    );
  }
  return toHttpError(error);
}

/** Users v2 as a request listener. */
export function createUsersV2App(pool: pg.Pool): RequestListener {
  return createRouter(usersV2Routes(pool), toHttpErrorV2, (error, request) =>
    logEvent('request_failed', { service: 'users', request, message: (error as Error).message }),
  );
}
