import type { LintRule } from './lint-rule.js';
import { lintFinding } from './lint-rule.js';
import { transactionBlocks } from './transaction-blocks.js';

/** BEGIN inside an open block only warns; COMMIT without BEGIN commits the runner's transaction. */
export const transactionNesting: LintRule = {
  kind: 'transaction-nesting',
  squawk: ['transaction-nesting'],
  description: 'BEGIN inside an open transaction, or COMMIT/ROLLBACK with none open in the file.',
  check: (ctx) => {
    const blocks = transactionBlocks(ctx.statements);
    return [
      ...blocks.nestedBegins.map((s) =>
        lintFinding(ctx, s, {
          kind: 'transaction-nesting',
          severity: 'warning',
          message:
            'BEGIN inside a transaction that is already open: Postgres ignores it, and the first COMMIT ends both',
          suggestion: 'remove the inner BEGIN/COMMIT (use SAVEPOINT for a nested unit)',
        }),
      ),
      ...blocks.strayEnds.map((s) =>
        lintFinding(ctx, s, {
          kind: 'transaction-nesting',
          severity: 'warning',
          message:
            'COMMIT or ROLLBACK without a BEGIN in this file: it ends the transaction the migration runner opened, and what follows runs outside it',
          suggestion:
            'let the runner own the transaction: remove transaction control from the file (pgpact apply runs each file in its own transaction)',
        }),
      ),
    ];
  },
};
