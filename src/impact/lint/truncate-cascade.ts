import type { Finding } from '../../findings.js';
import type { RelationInfo } from '../../catalog-types.js';
import { toConsumerRefs } from '../consumers.js';
import type { LintContext, LintRule } from './lint-rule.js';
import {
  asArr,
  asObj,
  findBaseRelation,
  lintFinding,
  rangeVarName,
  statementBody,
} from './lint-rule.js';

/** Tables whose foreign keys reach `start`, directly or through others (what CASCADE empties too). */
function referencingTables(ctx: LintContext, start: RelationInfo): RelationInfo[] {
  const found = new Map<string, RelationInfo>();
  const queue = [start];
  while (queue.length > 0) {
    const t = queue.shift()!;
    for (const r of ctx.base.relations) {
      const key = `${r.schema}.${r.name}`;
      if (found.has(key) || r === start) continue;
      if (
        r.constraints.some(
          (k) =>
            k.type === 'f' && k.references?.schema === t.schema && k.references.name === t.name,
        )
      ) {
        found.set(key, r);
        queue.push(r);
      }
    }
  }
  return [...found.values()];
}

/** TRUNCATE ... CASCADE empties every table with a foreign key to it, other services' included. */
export const truncateCascade: LintRule = {
  kind: 'truncate-cascade',
  squawk: ['ban-truncate-cascade'],
  description: 'TRUNCATE ... CASCADE also empties every table that references the truncated one.',
  check: (ctx) =>
    ctx.statements.flatMap((s): Finding[] => {
      const [type, body] = statementBody(s);
      if (type !== 'TruncateStmt' || body.behavior !== 'DROP_CASCADE') return [];
      return asArr(body.relations).flatMap((r) => {
        const qn = rangeVarName(asObj(r)?.RangeVar);
        if (!qn) return [];
        const base = findBaseRelation(ctx, s, qn);
        const also = base ? referencingTables(ctx, base) : [];
        const f = lintFinding(ctx, s, {
          kind: 'truncate-cascade',
          severity: 'warning',
          rel: qn,
          withSize: true,
          message: `TRUNCATE ... CASCADE empties ${qn.name} and ${also.length > 0 ? `also ${also.map((t) => `${t.schema}.${t.name}`).join(', ')}` : 'every table that references it (none today)'}`,
          suggestion:
            "truncate the referencing tables explicitly, with their owners' agreement, and drop CASCADE",
        });
        const extra = also.flatMap((t) =>
          toConsumerRefs(ctx.consumers.usersOfTable(t.schema, t.name)),
        );
        const seen = new Set(f.consumers.map((c) => c.service));
        return [
          {
            ...f,
            consumers: [
              ...f.consumers,
              ...extra.filter((c) => !seen.has(c.service) && seen.add(c.service)),
            ],
          },
        ];
      });
    }),
};
