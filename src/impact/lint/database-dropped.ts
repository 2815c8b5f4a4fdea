import type { LintRule } from './lint-rule.js';
import { asStr, lintFinding, statementBody } from './lint-rule.js';

/** DROP DATABASE in a migration: every service of the database loses everything. */
export const databaseDropped: LintRule = {
  kind: 'database-dropped',
  squawk: ['ban-drop-database'],
  description: 'A migration drops a database.',
  check: (ctx) =>
    ctx.statements.flatMap((s) => {
      const [type, body] = statementBody(s);
      if (type !== 'DropdbStmt') return [];
      const name = asStr(body.dbname) ?? '?';
      return [
        lintFinding(ctx, s, {
          kind: 'database-dropped',
          severity: 'breaking',
          object: name,
          message: `DROP DATABASE ${name}: every service using it loses all its data`,
          suggestion:
            'never drop a database from a migration; retire it by hand once no service connects',
        }),
      ];
    }),
};
