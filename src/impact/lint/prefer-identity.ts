import type { LintRule } from './lint-rule.js';
import { columnDefinitions, lintFinding } from './lint-rule.js';

export const SERIAL_TYPES = new Set([
  'serial',
  'serial4',
  'serial2',
  'smallserial',
  'serial8',
  'bigserial',
]);

/** serial columns own a separate sequence with its own grants: identity columns do not. */
export const preferIdentity: LintRule = {
  kind: 'serial-column',
  squawk: ['prefer-identity'],
  description:
    'A column is declared serial: its sequence needs its own grants and can be written around; identity columns cannot.',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      columnDefinitions(s)
        .filter((d) => SERIAL_TYPES.has(d.type))
        .map((d) =>
          lintFinding(ctx, s, {
            kind: 'serial-column',
            severity: 'info',
            ...(d.rel ? { rel: d.rel } : {}),
            message: `${d.column} is ${d.type}: a separate sequence other services need USAGE on, and inserts may bypass it`,
            suggestion: `declare ${d.column} as bigint GENERATED ALWAYS AS IDENTITY`,
          }),
        ),
    ),
};
