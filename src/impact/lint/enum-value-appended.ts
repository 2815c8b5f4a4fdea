import type { LintRule } from './lint-rule.js';
import { asStr, lintFinding, nameParts, statementBody } from './lint-rule.js';

/** ADD VALUE without BEFORE/AFTER sorts last, which ORDER BY on the enum then shows. */
export const enumValueAppended: LintRule = {
  kind: 'enum-value-appended',
  squawk: ['require-enum-value-ordering'],
  description: 'An enum value is added without BEFORE or AFTER: it sorts last.',
  check: (ctx) =>
    ctx.statements.flatMap((s) => {
      const [type, body] = statementBody(s);
      const value = asStr(body.newVal);
      if (
        type !== 'AlterEnumStmt' ||
        value === undefined ||
        asStr(body.newValNeighbor) !== undefined
      )
        return [];
      const enumName = nameParts(body.typeName).join('.');
      return [
        lintFinding(ctx, s, {
          kind: 'enum-value-appended',
          severity: 'info',
          object: enumName,
          message: `'${value}' is added at the end of ${enumName}: comparisons and ORDER BY put it after every other value`,
          suggestion: `say where it belongs: ADD VALUE '${value}' BEFORE (or AFTER) an existing value`,
        }),
      ];
    }),
};
