import type { LintRule } from './lint-rule.js';
import { columnDefinitions, lintFinding } from './lint-rule.js';

/** varchar(n): shrinking the limit later rewrites the table, so a CHECK is easier to change. */
export const varcharLength: LintRule = {
  kind: 'varchar-length',
  squawk: ['prefer-text-field'],
  description:
    'A column is declared varchar(n): changing the limit later needs an ACCESS EXCLUSIVE lock (and a rewrite when it shrinks).',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      columnDefinitions(s)
        .filter((d) => d.type === 'varchar' && d.typmods > 0)
        .map((d) =>
          lintFinding(ctx, s, {
            kind: 'varchar-length',
            severity: 'info',
            ...(d.rel ? { rel: d.rel } : {}),
            message: `${d.column} is varchar(n): changing the limit later locks the table`,
            suggestion: `declare ${d.column} as text with CHECK (length(${d.column}) <= n): the CHECK can be replaced NOT VALID without a lock that blocks reads`,
          }),
        ),
    ),
};
