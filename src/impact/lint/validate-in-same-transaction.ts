import type { AppliedStatement } from '../apply-migration.js';
import type { LintRule } from './lint-rule.js';
import { lintFinding } from './lint-rule.js';
import { transactionBlocks } from './transaction-blocks.js';

/**
 * ADD CONSTRAINT ... NOT VALID then VALIDATE in the same transaction keeps the ADD's lock
 * (which blocks writes) through the validating scan: NOT VALID buys nothing.
 */
export const validateInSameTransaction: LintRule = {
  kind: 'validate-in-same-transaction',
  squawk: ['constraint-missing-not-valid'],
  description:
    'A constraint is added NOT VALID and validated in the same transaction: the scan runs under the lock that blocks writes.',
  check: (ctx) => {
    const blocks = transactionBlocks(ctx.statements);
    const addedIn = new Map<string, AppliedStatement>();
    return ctx.statements.flatMap((s) => {
      const block = blocks.openedBy.get(s);
      const found = [];
      for (const a of s.facts.acts) {
        const key = `${a.rel?.name}.${a.constraintName}`;
        if (a.verb === 'add-constraint' && a.notValid && block) addedIn.set(key, block);
        if (a.verb === 'validate-constraint' && block && addedIn.get(key) === block) {
          found.push(
            lintFinding(ctx, s, {
              kind: 'validate-in-same-transaction',
              severity: 'warning',
              ...(a.rel ? { rel: a.rel } : {}),
              withSize: true,
              message: `${a.constraintName} is validated in the transaction that added it NOT VALID: the scan runs while the ADD's lock still blocks writes`,
              suggestion:
                'COMMIT after ADD CONSTRAINT ... NOT VALID and VALIDATE CONSTRAINT in a separate transaction (or migration)',
            }),
          );
        }
      }
      return found;
    });
  },
};
