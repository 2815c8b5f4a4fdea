import type { LintRule } from './lint-rule.js';
import { lintFinding } from './lint-rule.js';
import { transactionBlocks } from './transaction-blocks.js';

/** CONCURRENTLY cannot run inside a transaction block: the file fails there. */
export const concurrentlyInTransaction: LintRule = {
  kind: 'concurrently-in-transaction',
  squawk: ['ban-concurrent-index-creation-in-transaction'],
  description:
    'A CONCURRENTLY statement (or VACUUM) is inside an explicit transaction block, where Postgres refuses it.',
  check: (ctx) => {
    const blocks = transactionBlocks(ctx.statements);
    return ctx.statements
      .filter((s) => s.facts.outsideTransaction && blocks.openedBy.has(s))
      .map((s) =>
        lintFinding(ctx, s, {
          kind: 'concurrently-in-transaction',
          severity: 'warning',
          ...(s.facts.acts[0]?.rel ? { rel: s.facts.acts[0].rel } : {}),
          message: `this statement cannot run inside the transaction opened at line ${blocks.openedBy.get(s)!.statement.line}: Postgres refuses it`,
          suggestion: 'move it to its own migration file, outside BEGIN/COMMIT',
        }),
      );
  },
};
