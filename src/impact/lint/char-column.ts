import type { LintRule } from './lint-rule.js';
import { columnDefinitions, lintFinding } from './lint-rule.js';

/** char(n) pads with blanks and is no faster than text: a length change later locks the table. */
export const charColumn: LintRule = {
  kind: 'char-column',
  squawk: ['ban-char-field'],
  description:
    'A column is declared char(n): blank-padded, and changing its length later rewrites or locks the table.',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      columnDefinitions(s)
        .filter((d) => d.type === 'bpchar')
        .map((d) =>
          lintFinding(ctx, s, {
            kind: 'char-column',
            severity: 'info',
            ...(d.rel ? { rel: d.rel } : {}),
            message: `${d.column} is char(n): values are padded with blanks and comparisons ignore trailing spaces`,
            suggestion: `declare ${d.column} as text (with a CHECK on length() if the limit matters)`,
          }),
        ),
    ),
};
