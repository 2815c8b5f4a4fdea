/**
 * The apply invariant: a statement a role may run before and after apply returns the
 * same thing. Statements run as each role (SET ROLE from the admin connection), each in a
 * savepoint, and everything is rolled back.
 */
import { withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';

/** What one statement did: its rows (as JSON), or the SQLSTATE it failed with. */
export type Outcome = { rows: string } | { error: string; message: string };

/** Runs each statement as the role and rolls everything back. */
export async function outcomesAs(
  url: string,
  role: string,
  statements: string[],
): Promise<Outcome[]> {
  return withClient(url, async (client) => {
    const outcomes: Outcome[] = [];
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
    for (const sql of statements) {
      await client.query('SAVEPOINT probe');
      try {
        const result = await client.query(sql);
        outcomes.push({ rows: JSON.stringify(result.rows) });
      } catch (error) {
        const e = error as { code?: string; message?: string };
        outcomes.push({ error: e.code ?? 'unknown', message: e.message ?? '' });
      }
      await client.query('ROLLBACK TO SAVEPOINT probe');
    }
    await client.query('ROLLBACK');
    return outcomes;
  });
}

/** Whether the role was refused the statement for want of a privilege. */
export function denied(outcome: Outcome): boolean {
  return 'error' in outcome && outcome.error === '42501';
}

/**
 * Statements allowed both before and after whose outcome changed, one line each
 * (a statement failing the same way, a check violation say, counts as unchanged).
 */
export function changedOutcomes(
  role: string,
  statements: string[],
  before: Outcome[],
  after: Outcome[],
): string[] {
  return statements.flatMap((sql, i) => {
    const b = before[i]!;
    const a = after[i]!;
    if (denied(b) || denied(a)) return [];
    const same =
      'rows' in b ? 'rows' in a && a.rows === b.rows : 'error' in a && a.error === b.error;
    return same
      ? []
      : [`${role}: ${sql}\n  before ${JSON.stringify(b)}\n  after  ${JSON.stringify(a)}`];
  });
}
