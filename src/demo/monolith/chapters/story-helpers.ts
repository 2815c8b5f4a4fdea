import { withClient } from '../../../postgres/client.js';
import { quoteIdent, quoteQualified } from '../../../postgres/quote.js';
import type { Figure } from '../../types.js';
import type { MonolithContext } from '../types.js';

/** Each service's own database URL (its role and password), by service name. */
export function serviceUrls(ctx: MonolithContext): Record<string, string> {
  return Object.fromEntries(Object.values(ctx.services).map((s) => [s.name, s.databaseUrl]));
}

/** The traffic over a window: one printable line, the error count, the first failures, and a figure. */
export function trafficSummary(
  ctx: MonolithContext,
  from: number,
  to: number,
): { line: string; errors: number; failures: string; figure: Figure } {
  const stats = ctx.traffic.stats(from, to);
  const per = Object.entries(stats.services).map(
    ([name, s]) => `${name} ${s.requests}${s.errors > 0 ? ` (${s.errors} failed)` : ''}`,
  );
  return {
    line: `${stats.total.requests} requests in ${((to - from) / 1000).toFixed(1)} s, ${stats.total.errors} failed (${per.join(', ')})`,
    errors: stats.total.errors,
    failures: stats.recentErrors
      .slice(0, 5)
      .map((e) => `${e.service} ${e.operation} ${e.status}: ${e.message}`)
      .join('; '),
    figure: {
      requests: stats.total.requests,
      errors: stats.total.errors,
      services: Object.fromEntries(
        Object.entries(stats.services).map(([n, s]) => [
          n,
          { requests: s.requests, errors: s.errors },
        ]),
      ),
    },
  };
}

/** Whether a role may run a statement: allowed, or the SQLSTATE and message refusing it. */
export interface ProbeResult {
  allowed: boolean;
  sqlstate: string | null;
  message: string;
}

/**
 * Runs a statement with a role's privileges (the admin's session, SET ROLE) in a transaction
 * rolled back, kept out of pg_stat_statements: the probe asks Postgres what the role may do
 * without counting as the role's use (init and observe would take it for one).
 */
export async function probeAs(adminUrl: string, role: string, sql: string): Promise<ProbeResult> {
  return withClient(adminUrl, async (c) => {
    await c.query('BEGIN');
    try {
      await c.query("SET LOCAL pg_stat_statements.track = 'none'");
      await c.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
      const result = await c.query(sql);
      return { allowed: true, sqlstate: null, message: `${result.rowCount ?? 0} row(s)` };
    } catch (error) {
      const e = error as { code?: string; message?: string };
      return { allowed: false, sqlstate: e.code ?? null, message: e.message ?? String(error) };
    } finally {
      await c.query('ROLLBACK');
    }
  });
}

/** A probe's outcome in a few words. */
export function describeProbe(p: ProbeResult): string {
  return p.allowed ? `allowed (${p.message})` : `refused: ${p.sqlstate} ${p.message}`;
}

/** The write reporting has no business doing: changing invoices (of accounts the traffic leaves alone). */
export function forbiddenWrite(invoiceSchema: string): string {
  return `UPDATE ${quoteQualified(invoiceSchema, 'invoice')} SET amount = 1 WHERE account_id = 1030`;
}
