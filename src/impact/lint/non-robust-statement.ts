import type { Finding } from '../../findings.js';
import type { LintRule } from './lint-rule.js';
import { alterTableCommands, asStr, lintFinding, statementBody } from './lint-rule.js';

/** Whether a statement fails when run a second time (no IF [NOT] EXISTS). */
function notRepeatable(
  type: string,
  body: Record<string, unknown>,
  s: Parameters<typeof alterTableCommands>[0],
): string | undefined {
  if (type === 'IndexStmt' && body.if_not_exists !== true)
    return 'CREATE INDEX without IF NOT EXISTS';
  if (type === 'CreateStmt' && body.if_not_exists !== true)
    return 'CREATE TABLE without IF NOT EXISTS';
  if (type === 'DropStmt' && body.missing_ok !== true) return 'DROP without IF EXISTS';
  for (const { cmd } of alterTableCommands(s)) {
    const sub = asStr(cmd.subtype);
    if (
      (sub === 'AT_AddColumn' || sub === 'AT_DropColumn' || sub === 'AT_DropConstraint') &&
      cmd.missing_ok !== true
    )
      return `${sub === 'AT_AddColumn' ? 'ADD COLUMN without IF NOT EXISTS' : 'DROP without IF EXISTS'}`;
  }
  return undefined;
}

/**
 * A file that cannot run in one transaction (it has CONCURRENTLY statements) stops half
 * applied when a statement fails; run again, its earlier statements must not fail.
 */
export const nonRobustStatement: LintRule = {
  kind: 'non-robust-statement',
  squawk: ['prefer-robust-stmts'],
  description:
    'In a file that cannot run in one transaction, a statement would fail when the file is retried.',
  check: (ctx) => {
    const files = new Set(
      ctx.statements.filter((s) => s.facts.outsideTransaction).map((s) => s.statement.file),
    );
    return ctx.statements.flatMap((s): Finding[] => {
      if (!files.has(s.statement.file)) return [];
      const [type, body] = statementBody(s);
      const why = notRepeatable(type, body, s);
      if (!why) return [];
      const rel = s.facts.acts[0]?.rel;
      return [
        lintFinding(ctx, s, {
          kind: 'non-robust-statement',
          severity: 'info',
          ...(rel ? { rel } : {}),
          message: `${why} in a file that runs outside one transaction: if a later statement fails, retrying the file fails here`,
          suggestion:
            type === 'IndexStmt'
              ? 'DROP INDEX CONCURRENTLY IF EXISTS first (a failed CONCURRENTLY build leaves an INVALID index), then CREATE INDEX CONCURRENTLY IF NOT EXISTS'
              : 'add IF NOT EXISTS / IF EXISTS so the file can be run again',
        }),
      ];
    });
  },
};
