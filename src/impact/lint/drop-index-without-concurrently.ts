import type { Finding } from '../../findings.js';
import type { LintRule } from './lint-rule.js';
import { asArr, asObj, lintFinding, nameParts, statementBody } from './lint-rule.js';

/** DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: reads wait too. */
export const dropIndexWithoutConcurrently: LintRule = {
  kind: 'drop-index-without-concurrently',
  squawk: ['require-concurrent-index-deletion'],
  description:
    'An index of an existing table is dropped without CONCURRENTLY: every query on the table waits.',
  check: (ctx) =>
    ctx.statements.flatMap((s): Finding[] => {
      const [type, body] = statementBody(s);
      if (type !== 'DropStmt' || body.removeType !== 'OBJECT_INDEX' || body.concurrent === true)
        return [];
      return asArr(body.objects).flatMap((o) => {
        const parts = nameParts(asObj(asObj(o)?.List)?.items);
        const name = parts[parts.length - 1];
        const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
        const table = ctx.base.relations.find(
          (r) =>
            (schema === undefined || r.schema === schema) && r.indexes.some((i) => i.name === name),
        );
        if (!table) return [];
        return [
          lintFinding(ctx, s, {
            kind: 'drop-index-without-concurrently',
            severity: 'warning',
            rel: { schema: table.schema, name: table.name },
            withSize: true,
            message: `DROP INDEX ${name} takes an ACCESS EXCLUSIVE lock on ${table.schema}.${table.name}: reads and writes wait behind it`,
            suggestion: `DROP INDEX CONCURRENTLY IF EXISTS ${name} (outside a transaction block)`,
          }),
        ];
      });
    }),
};
