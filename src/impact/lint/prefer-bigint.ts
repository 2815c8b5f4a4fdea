import type { LintRule } from './lint-rule.js';
import {
  asArr,
  asStr,
  columnDefinitions,
  lintFinding,
  nameParts,
  statementBody,
  asObj,
} from './lint-rule.js';
import { SERIAL_TYPES } from './prefer-identity.js';

const SMALL = new Set([
  'int2',
  'int4',
  'int',
  'integer',
  'smallint',
  'serial',
  'serial4',
  'serial2',
  'smallserial',
]);

/** Table-level PRIMARY KEY columns of a CREATE TABLE. */
function tableKeyColumns(body: Record<string, unknown>): Set<string> {
  const keys = new Set<string>();
  for (const e of asArr(body.tableElts)) {
    const c = asObj(asObj(e)?.Constraint);
    if (c?.contype === 'CONSTR_PRIMARY') for (const k of nameParts(c.keys)) keys.add(k);
  }
  return keys;
}

/**
 * 32- and 16-bit keys run out (2.1 billion, 32,767) and widening them rewrites the table
 * and every foreign key pointing at it. Only key columns are flagged: identity, serial and
 * primary key columns; a quantity rarely outgrows int.
 */
export const preferBigint: LintRule = {
  kind: 'small-integer-key',
  squawk: ['prefer-bigint-over-int', 'prefer-bigint-over-smallint'],
  description:
    'A key column (primary key, identity or serial) is int or smallint: it runs out, and widening it rewrites the table.',
  check: (ctx) =>
    ctx.statements.flatMap((s) => {
      const [type, body] = statementBody(s);
      const tableKeys = type === 'CreateStmt' ? tableKeyColumns(body) : new Set<string>();
      return columnDefinitions(s)
        .filter((d) => SMALL.has(d.type))
        .filter(
          (d) =>
            SERIAL_TYPES.has(d.type) ||
            tableKeys.has(d.column) ||
            d.constraints.some((c) =>
              ['CONSTR_PRIMARY', 'CONSTR_IDENTITY'].includes(asStr(c.contype) ?? ''),
            ),
        )
        .map((d) =>
          lintFinding(ctx, s, {
            kind: 'small-integer-key',
            severity: 'info',
            ...(d.rel ? { rel: d.rel } : {}),
            message: `key column ${d.column} is ${d.type}: it runs out at ${d.type.endsWith('2') || d.type.startsWith('small') ? '32,767' : '2,147,483,647'}, and widening it later rewrites the table and its foreign keys`,
            suggestion: `declare ${d.column} as bigint${SERIAL_TYPES.has(d.type) ? ' GENERATED ALWAYS AS IDENTITY' : ''}`,
          }),
        );
    }),
};
