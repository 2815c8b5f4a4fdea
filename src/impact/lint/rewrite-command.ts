import type { Finding } from '../../findings.js';
import type { LintRule } from './lint-rule.js';
import { asArr, asObj, asStr, lintFinding, rangeVarName, statementBody } from './lint-rule.js';

/** VACUUM FULL and CLUSTER copy the whole table under an ACCESS EXCLUSIVE lock. */
export const rewriteCommand: LintRule = {
  kind: 'rewrite-command',
  squawk: ['prefer-repack'],
  description: 'VACUUM FULL or CLUSTER rewrites a table under an ACCESS EXCLUSIVE lock.',
  check: (ctx) =>
    ctx.statements.flatMap((s): Finding[] => {
      const [type, body] = statementBody(s);
      let rels: ReturnType<typeof rangeVarName>[] = [];
      let what = '';
      if (type === 'ClusterStmt') {
        rels = [rangeVarName(body.relation)];
        what = 'CLUSTER';
      } else if (
        type === 'VacuumStmt' &&
        asArr(body.options).some((o) => asStr(asObj(asObj(o)?.DefElem)?.defname) === 'full')
      ) {
        rels = asArr(body.rels).map((r) => rangeVarName(asObj(asObj(r)?.VacuumRelation)?.relation));
        if (rels.length === 0) rels = [undefined];
        what = 'VACUUM FULL';
      } else {
        return [];
      }
      return rels.map((rel) =>
        lintFinding(ctx, s, {
          kind: 'rewrite-command',
          severity: 'warning',
          ...(rel ? { rel } : {}),
          withSize: true,
          message: `${what} copies the whole table${rel ? '' : ' (every table of the database)'} under an ACCESS EXCLUSIVE lock: every query on it waits`,
          suggestion: 'use pg_repack (or pg_squeeze), which rebuilds the table online',
        }),
      );
    }),
};
