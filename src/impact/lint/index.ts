import type { Finding } from '../../findings.js';
import { charColumn } from './char-column.js';
import { concurrentlyInTransaction } from './concurrently-in-transaction.js';
import { databaseDropped } from './database-dropped.js';
import { detachPartitionWithoutConcurrently } from './detach-partition-without-concurrently.js';
import { domainConstraint } from './domain-constraint.js';
import { dropIndexWithoutConcurrently } from './drop-index-without-concurrently.js';
import { enumValueAppended } from './enum-value-appended.js';
import { identifierTooLong } from './identifier-too-long.js';
import type { LintContext, LintRule } from './lint-rule.js';
import { nonRobustStatement } from './non-robust-statement.js';
import { notNullDropped } from './not-null-dropped.js';
import { preferBigint } from './prefer-bigint.js';
import { preferIdentity } from './prefer-identity.js';
import { reindexWithoutConcurrently } from './reindex-without-concurrently.js';
import { rewriteCommand } from './rewrite-command.js';
import { timestampWithoutTimeZone } from './timestamp-without-time-zone.js';
import { transactionNesting } from './transaction-nesting.js';
import { truncateCascade } from './truncate-cascade.js';
import { uncommittedTransaction } from './uncommitted-transaction.js';
import { validateInSameTransaction } from './validate-in-same-transaction.js';
import { varcharLength } from './varchar-length.js';

export type { LintContext, LintRule } from './lint-rule.js';

/** The static rules, read from the parse tree of every statement (Squawk's rules that the shadow does not already answer). */
export const LINT_RULES: LintRule[] = [
  charColumn,
  varcharLength,
  timestampWithoutTimeZone,
  preferIdentity,
  preferBigint,
  domainConstraint,
  databaseDropped,
  notNullDropped,
  truncateCascade,
  dropIndexWithoutConcurrently,
  reindexWithoutConcurrently,
  detachPartitionWithoutConcurrently,
  rewriteCommand,
  enumValueAppended,
  identifierTooLong,
  transactionNesting,
  uncommittedTransaction,
  concurrentlyInTransaction,
  validateInSameTransaction,
  nonRobustStatement,
];

/** Runs every lint rule over every statement, those after a failure included. */
export function lintMigration(ctx: LintContext): Finding[] {
  return LINT_RULES.flatMap((rule) => rule.check(ctx));
}
