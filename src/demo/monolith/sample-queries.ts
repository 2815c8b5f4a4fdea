import { withClient } from '../../postgres/client.js';

/**
 * The statements each service runs, on rows the traffic never touches (accounts 1001 to
 * 1100: beyond the 500 the traffic learns at its warm-up, so it neither updates them nor
 * invoices them), so the same statement gives the same answer before and after a change
 * that must change nothing. Writes run in a transaction that is rolled back; they return
 * no generated key (a sequence moves on even when rolled back).
 */
export const SAMPLE_QUERIES: { service: string; sql: string }[] = [
  {
    service: 'users',
    sql: 'SELECT id, name, city FROM public.account WHERE id BETWEEN 1001 AND 1010 ORDER BY id',
  },
  {
    service: 'users',
    sql: "UPDATE public.account SET city = 'Bern' WHERE id = 1005 RETURNING name, zip, city",
  },
  {
    service: 'users',
    sql: "INSERT INTO public.account (name, street_and_number, zip, city) VALUES ('Probe', 'Weg 1', '10115', 'Berlin') RETURNING name, city",
  },
  {
    service: 'invoicing',
    sql: 'SELECT name, street_and_number, zip, city FROM public.account WHERE id = 1020',
  },
  {
    service: 'invoicing',
    sql: 'SELECT account_id, amount::text FROM public.invoice WHERE account_id BETWEEN 1001 AND 1010 ORDER BY id',
  },
  {
    service: 'invoicing',
    sql: "INSERT INTO public.invoice (account_id, billing_name, billing_street_and_number, billing_zip, billing_city, amount) VALUES (1020, 'Probe', 'Weg 1', '10115', 'Berlin', 12.50) RETURNING account_id, amount::text",
  },
  {
    service: 'reporting',
    sql: `SELECT a.city, count(*)::int AS invoices, sum(i.amount)::text AS revenue
          FROM public.account a JOIN public.invoice i ON i.account_id = a.id
          WHERE a.id BETWEEN 1001 AND 1100 GROUP BY a.city ORDER BY a.city`,
  },
  {
    service: 'reporting',
    sql: "SELECT to_char(created_at, 'YYYY') AS year, count(*)::int FROM public.account WHERE id BETWEEN 1001 AND 1100 GROUP BY 1 ORDER BY 1",
  },
];

/** One sample's answer: its rows, or the error's SQLSTATE and message. */
export type SampleAnswer = { rows: unknown[] } | { error: string };

/** Runs every sample as its service's own role (URL per service), each in a transaction rolled back. */
export async function runSampleQueries(
  urls: Record<string, string>,
): Promise<{ service: string; sql: string; answer: SampleAnswer }[]> {
  const answers: { service: string; sql: string; answer: SampleAnswer }[] = [];
  for (const { service, sql } of SAMPLE_QUERIES) {
    const answer = await withClient(
      urls[service]!,
      async (c): Promise<SampleAnswer> => {
        await c.query('BEGIN');
        try {
          return { rows: (await c.query(sql)).rows };
        } catch (error) {
          const e = error as { code?: string; message?: string };
          return { error: `${e.code ?? ''} ${e.message ?? String(error)}`.trim() };
        } finally {
          await c.query('ROLLBACK');
        }
      },
      { applicationName: service },
    );
    answers.push({ service, sql, answer });
  }
  return answers;
}
