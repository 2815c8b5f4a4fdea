import type pg from 'pg';
import { SCHEMA_PER_SERVICE, type Tables } from '../shared/tables.js';
import { CITIES, FIRST_NAMES, LAST_NAMES, STREETS } from './sample-data.js';

/**
 * Seeds realistic volumes, each service writing only its own tables with its own role:
 * accounts as `users` (created over the last two years), invoices as `invoicing`
 * (billing snapshots read through its contract on users.account).
 */

/** Inserts `count` accounts as the users role; returns how many rows were inserted. */
export async function seedAccounts(
  users: pg.ClientBase,
  count: number,
  tables: Tables = SCHEMA_PER_SERVICE,
): Promise<number> {
  const result = await users.query(
    `INSERT INTO ${tables.account} (name, street_and_number, zip, city, created_at)
     SELECT f.first[1 + (g * 7) % cardinality(f.first)] || ' ' || f.last[1 + (g * 13) % cardinality(f.last)],
            f.street[1 + g % cardinality(f.street)] || ' ' || (1 + g % 120),
            lpad((f.zip[1 + (g * 3) % cardinality(f.zip)]::int + g % 40)::text, 5, '0'),
            f.city[1 + (g * 3) % cardinality(f.city)],
            now() - (g % 730) * interval '1 day' - (g % 1440) * interval '1 minute'
     FROM generate_series(1, $1::int) AS g,
          (SELECT $2::text[] AS first, $3::text[] AS last, $4::text[] AS street, $5::text[] AS city, $6::text[] AS zip) AS f`,
    [count, FIRST_NAMES, LAST_NAMES, STREETS, CITIES.map((c) => c.city), CITIES.map((c) => c.zip)],
  );
  return result.rowCount ?? 0;
}

/** Inserts `perAccount` invoices for each of the first `accounts` accounts, as the invoicing role. */
export async function seedInvoices(
  invoicing: pg.ClientBase,
  accounts: number,
  perAccount = 2,
  tables: Tables = SCHEMA_PER_SERVICE,
): Promise<number> {
  const result = await invoicing.query(
    `INSERT INTO ${tables.invoice} (account_id, billing_name, billing_street_and_number, billing_zip, billing_city, amount, created_at)
     SELECT a.id, a.name, a.street_and_number, a.zip, a.city,
            round((9.90 + (a.id * 37 + k * 11) % 500)::numeric, 2),
            now() - k * interval '30 days'
     FROM (SELECT id, name, street_and_number, zip, city FROM ${tables.account} ORDER BY id LIMIT $1) AS a,
          generate_series(1, $2::int) AS k`,
    [accounts, perAccount],
  );
  return result.rowCount ?? 0;
}
