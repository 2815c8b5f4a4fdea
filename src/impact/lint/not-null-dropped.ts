import type { LintRule } from './lint-rule.js';
import { alterTableCommands, asStr, lintFinding } from './lint-rule.js';

/** DROP NOT NULL: readers that assumed a value now get NULLs. */
export const notNullDropped: LintRule = {
  kind: 'not-null-dropped',
  squawk: ['ban-drop-not-null'],
  description: 'A column stops being NOT NULL: services reading it may not expect NULL.',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      alterTableCommands(s)
        .filter(({ cmd }) => cmd.subtype === 'AT_DropNotNull')
        .map(({ rel, cmd }) => {
          const column = asStr(cmd.name) ?? '?';
          const f = lintFinding(ctx, s, {
            kind: 'not-null-dropped',
            severity: 'info',
            ...(rel ? { rel } : {}),
            message: `${column} may now be NULL`,
            suggestion: `make sure every reader of ${column} handles NULL before rows without it are written`,
          });
          const object = `${f.object}.${column}`;
          return f.consumers.length > 0
            ? {
                ...f,
                object,
                severity: 'warning' as const,
                message: `${column} may now be NULL; ${f.consumers.map((c) => c.service).join(', ')} read the table and may not expect it`,
              }
            : { ...f, object };
        }),
    ),
};
