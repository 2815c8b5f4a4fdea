import type { LintRule } from './lint-rule.js';
import { asArr, asObj, asStr, lintFinding, rangeVarName, statementBody } from './lint-rule.js';

/** REINDEX without CONCURRENTLY blocks writes (and reads using the index) while it rebuilds. */
export const reindexWithoutConcurrently: LintRule = {
  kind: 'reindex-without-concurrently',
  squawk: ['require-concurrent-reindex'],
  description:
    'REINDEX runs without CONCURRENTLY: writes to the table wait until the indexes are rebuilt.',
  check: (ctx) =>
    ctx.statements.flatMap((s) => {
      const [type, body] = statementBody(s);
      if (type !== 'ReindexStmt') return [];
      const concurrently = asArr(body.params).some(
        (p) => asStr(asObj(asObj(p)?.DefElem)?.defname) === 'concurrently',
      );
      if (concurrently) return [];
      const rel = rangeVarName(body.relation);
      return [
        lintFinding(ctx, s, {
          kind: 'reindex-without-concurrently',
          severity: 'warning',
          ...(rel ? { rel } : {}),
          withSize: true,
          message: 'REINDEX without CONCURRENTLY blocks writes while every index is rebuilt',
          suggestion: 'REINDEX ... CONCURRENTLY (outside a transaction block)',
        }),
      ];
    }),
};
