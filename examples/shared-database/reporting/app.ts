import type { RequestListener } from 'node:http';
import type pg from 'pg';
import { logEvent, toHttpError } from '../shared/database.js';
import { createRouter, type Route } from '../shared/http.js';
import { SCHEMA_PER_SERVICE, type Tables } from '../shared/tables.js';
import { intParam } from '../shared/validate.js';

/**
 * Service C: the consumer nobody was told about. Its contract declares only
 * `users.account (id, created_at)` and `invoicing.invoice`, yet customers-by-city
 * also reads `city`, `zip` and `name` — in audit mode this works, and is reported.
 */

/** One row of the customers-by-city report. */
export interface CityRow {
  city: string;
  customers: number;
  zip_codes: number;
  sample_customers: string[];
  revenue: string;
}

/** The routes of the reporting service over a pool connected as the `reporting` role. */
export function reportingRoutes(pool: pg.Pool, tables: Tables = SCHEMA_PER_SERVICE): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/health',
      async handle() {
        await pool.query('SELECT 1');
        return { status: 200, body: { status: 'ok', service: 'reporting' } };
      },
    },
    {
      method: 'GET',
      pattern: '/reports/customers-by-city',
      async handle(request) {
        const limit = intParam(request.query, 'limit', { min: 1, max: 1000, fallback: 20 });
        const { rows } = await pool.query(
          `SELECT a.city,
                  count(*)::int AS customers,
                  count(DISTINCT a.zip)::int AS zip_codes,
                  (array_agg(a.name ORDER BY a.name))[1:3] AS sample_customers,
                  COALESCE(sum(i.revenue), 0)::text AS revenue
           FROM ${tables.account} a
           LEFT JOIN (SELECT account_id, sum(amount) AS revenue FROM ${tables.invoice} GROUP BY account_id) i
             ON i.account_id = a.id
           GROUP BY a.city
           ORDER BY customers DESC, a.city
           LIMIT $1`,
          [limit],
        );
        const cities: CityRow[] = rows.map((r) => ({
          city: String(r.city),
          customers: Number(r.customers),
          zip_codes: Number(r.zip_codes),
          sample_customers: (r.sample_customers as string[]) ?? [],
          revenue: String(r.revenue),
        }));
        return { status: 200, body: { cities } };
      },
    },
    {
      method: 'GET',
      pattern: '/reports/accounts-per-month',
      async handle(request) {
        const months = intParam(request.query, 'months', { min: 1, max: 120, fallback: 12 });
        const { rows } = await pool.query(
          `SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month, count(id)::int AS accounts
           FROM ${tables.account}
           WHERE created_at >= date_trunc('month', now()) - make_interval(months => $1 - 1)
           GROUP BY 1
           ORDER BY 1`,
          [months],
        );
        return {
          status: 200,
          body: {
            months: rows.map((r) => ({ month: String(r.month), accounts: Number(r.accounts) })),
          },
        };
      },
    },
  ];
}

/** The reporting service as a request listener. */
export function createReportingApp(
  pool: pg.Pool,
  tables: Tables = SCHEMA_PER_SERVICE,
): RequestListener {
  return createRouter(reportingRoutes(pool, tables), toHttpError, (error, request) =>
    logEvent('request_failed', {
      service: 'reporting',
      request,
      message: (error as Error).message,
    }),
  );
}
