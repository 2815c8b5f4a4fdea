import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../../../src/postgres/quote.js';

/** The roles of the monolith's three services: one login role each, created by hand long ago. */
export const MONOLITH_ROLES = ['users', 'invoicing', 'reporting'] as const;

/**
 * The monolith's schema as its own migrations left it: every table in `public`, owned by
 * the admin who ran them, and each service's login role allowed to read and write every
 * table (the grant teams give when they split an application's one database user per
 * service). No pgpact yet.
 */
export async function createMonolithSchema(
  admin: pg.ClientBase,
  passwords: Record<(typeof MONOLITH_ROLES)[number], string>,
): Promise<void> {
  await admin.query(`
    CREATE TABLE public.account (
      id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      street_and_number text NOT NULL,
      zip               text NOT NULL,
      city              text NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX account_created_at_idx ON public.account (created_at);
    CREATE TABLE public.invoice (
      id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      account_id                bigint NOT NULL,
      billing_name              text NOT NULL,
      billing_street_and_number text NOT NULL,
      billing_zip               text NOT NULL,
      billing_city              text NOT NULL,
      amount                    numeric(12, 2) NOT NULL CHECK (amount > 0),
      created_at                timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX invoice_account_id_idx ON public.invoice (account_id);`);
  for (const role of MONOLITH_ROLES) {
    const r = quoteIdent(role);
    await admin.query(`CREATE ROLE ${r} LOGIN PASSWORD ${quoteLiteral(passwords[role])}`);
    await admin.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    );
  }
}
