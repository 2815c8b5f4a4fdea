import type { LintRule } from './lint-rule.js';
import { columnDefinitions, lintFinding } from './lint-rule.js';

/** timestamp without time zone stores wall-clock time: services in other zones read it wrongly. */
export const timestampWithoutTimeZone: LintRule = {
  kind: 'timestamp-without-time-zone',
  squawk: ['prefer-timestamptz'],
  description:
    'A column is declared timestamp without time zone: readers in other time zones get shifted instants.',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      columnDefinitions(s)
        .filter((d) => d.type === 'timestamp')
        .map((d) =>
          lintFinding(ctx, s, {
            kind: 'timestamp-without-time-zone',
            severity: 'info',
            ...(d.rel ? { rel: d.rel } : {}),
            message: `${d.column} is timestamp without time zone: every service reading it must agree on the zone it was written in`,
            suggestion: `declare ${d.column} as timestamptz`,
          }),
        ),
    ),
};
