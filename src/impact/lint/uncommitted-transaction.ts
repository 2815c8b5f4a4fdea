import type { LintRule } from './lint-rule.js';
import { lintFinding } from './lint-rule.js';
import { transactionBlocks } from './transaction-blocks.js';

/** A file that ends inside BEGIN leaves its changes to whatever the session does next. */
export const uncommittedTransaction: LintRule = {
  kind: 'uncommitted-transaction',
  squawk: ['ban-uncommitted-transaction'],
  description: 'A file opens a transaction with BEGIN and never commits it.',
  check: (ctx) =>
    transactionBlocks(ctx.statements).unclosed.map((s) =>
      lintFinding(ctx, s, {
        kind: 'uncommitted-transaction',
        severity: 'warning',
        message:
          'BEGIN is never followed by COMMIT in this file: the changes and their locks stay open until the session ends or rolls back',
        suggestion:
          'end the file with COMMIT, or remove the BEGIN and let the runner own the transaction',
      }),
    ),
};
