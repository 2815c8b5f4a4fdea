import type { LintRule } from './lint-rule.js';
import { alterTableCommands, asObj, lintFinding, rangeVarName } from './lint-rule.js';

/** DETACH PARTITION without CONCURRENTLY locks the whole partitioned table ACCESS EXCLUSIVE. */
export const detachPartitionWithoutConcurrently: LintRule = {
  kind: 'detach-partition-without-concurrently',
  squawk: ['require-concurrent-partition-detach'],
  description:
    'A partition is detached without CONCURRENTLY: every query on the partitioned table waits.',
  check: (ctx) =>
    ctx.statements.flatMap((s) =>
      alterTableCommands(s)
        .filter(({ cmd }) => cmd.subtype === 'AT_DetachPartition')
        .filter(({ cmd }) => asObj(asObj(cmd.def)?.PartitionCmd)?.concurrent !== true)
        .map(({ rel, cmd }) => {
          const part = rangeVarName(asObj(asObj(cmd.def)?.PartitionCmd)?.name);
          return lintFinding(ctx, s, {
            kind: 'detach-partition-without-concurrently',
            severity: 'warning',
            ...(rel ? { rel } : {}),
            withSize: true,
            message: `DETACH PARTITION ${part?.name ?? ''} takes an ACCESS EXCLUSIVE lock on the partitioned table`,
            suggestion:
              'ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (outside a transaction block)',
          });
        }),
    ),
};
