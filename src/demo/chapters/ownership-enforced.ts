import { isServerError } from '../../errors.js';
import { withClient } from '../../postgres/client.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter, DemoContext, Figure } from '../types.js';

/** What happened when a service's role ran one statement. */
interface Attempt {
  service: string;
  sql: string;
  allowed: boolean;
  sqlstate?: string;
  message?: string;
}

async function attempt(
  ctx: DemoContext,
  service: string,
  sql: string,
  params: unknown[],
): Promise<Attempt> {
  const url = ctx.services[service]!.databaseUrl;
  return withClient(
    url,
    async (c) => {
      try {
        await c.query(sql, params);
        return { service, sql, allowed: true };
      } catch (error) {
        if (!isServerError(error)) throw error;
        return { service, sql, allowed: false, sqlstate: error.code, message: error.message };
      }
    },
    { applicationName: `pgpact-demo (as ${service})` },
  );
}

function describe(a: Attempt): string {
  return a.allowed
    ? `as ${a.service}: allowed`
    : `as ${a.service}: ERROR ${a.sqlstate}: ${a.message}`;
}

function asFigure(a: Attempt): Figure {
  return {
    service: a.service,
    sql: a.sql,
    allowed: a.allowed,
    sqlstate: a.sqlstate ?? null,
    message: a.message ?? null,
  };
}

/** Chapter 1: each schema has an owner, and Postgres itself enforces it. */
export const ownershipEnforced: DemoChapter = {
  id: 'ownership-enforced',
  title: 'Ownership is enforced by Postgres itself',
  articleQuote:
    'Each table owned by service A belongs to a special schema also owned by A. And if another service needs that data, then it is clear who is in charge of that data.',
  async run(ctx) {
    const report = new ChapterReport();
    const id = await withClient(ctx.services.users!.databaseUrl, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'SELECT id FROM users.account ORDER BY id LIMIT 1',
      );
      return Number(rows[0]!.id);
    });
    const write = 'UPDATE users.account SET city = $2 WHERE id = $1';
    const ddl = 'ALTER TABLE users.account ADD COLUMN invoicing_note text';
    const declared =
      'SELECT id, name, street_and_number, zip, city FROM users.account WHERE id = $1';
    const undeclared = 'SELECT created_at FROM users.account WHERE id = $1';
    const ownerWrite = 'UPDATE users.account SET city = city WHERE id = $1';

    const steps: [string, Attempt, boolean][] = [
      [
        'invoicing writes service A’s table',
        await attempt(ctx, 'invoicing', write, [id, 'Invoicingville']),
        false,
      ],
      ['invoicing changes its shape', await attempt(ctx, 'invoicing', ddl, []), false],
      [
        'invoicing reads the columns of its contract',
        await attempt(ctx, 'invoicing', declared, [id]),
        true,
      ],
      [
        'invoicing reads a column outside its contract',
        await attempt(ctx, 'invoicing', undeclared, [id]),
        false,
      ],
      [
        'users, the owner, writes its own table',
        await attempt(ctx, 'users', ownerWrite, [id]),
        true,
      ],
    ];
    for (const [what, a, expected] of steps) {
      report.did(`${what}: ${a.sql.replace('$2', "'Invoicingville'").replace('$1', String(id))}`);
      report.measured(`${what} → ${describe(a)}`);
      if (expected)
        report.expect(
          a.allowed,
          `${what} was denied (${a.sqlstate} ${a.message}), expected allowed`,
        );
      else {
        report.expect(!a.allowed, `${what} was allowed, expected permission denied`);
        if (!a.allowed)
          report.expect(
            a.sqlstate === '42501',
            `${what} failed with ${a.sqlstate}, expected 42501 (insufficient_privilege)`,
          );
      }
    }
    report.figure(
      'attempts',
      steps.map(([what, a]) => ({ what, ...(asFigure(a) as Record<string, Figure>) })),
    );
    return report.result();
  },
};
