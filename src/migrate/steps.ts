import { toPostgresError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';
import { quoteQualified } from '../postgres/quote.js';
import { markStepDone } from './bookkeeping.js';
import { qualified } from './plan-sql.js';
import type { Guard, GuardedStatement, Step } from './plan-types.js';
import { MARKER, marked, type RetryPolicy, withRetry } from './sql-run.js';

/** What running steps needs: the connection holding the migration lock, the migration's name and the retry policy. */
export interface StepContext {
  client: Queryable;
  migration: string;
  stepsDone: string[];
  retry: RetryPolicy;
  onStep?: (message: string) => void;
}

async function guardHolds(client: Queryable, guard: Guard): Promise<boolean> {
  const table = qualified(guard.table);
  switch (guard.kind) {
    case 'table-exists': {
      const { rows } = await client.query<{ ok: boolean }>(
        `${MARKER} SELECT to_regclass($1) IS NOT NULL AS ok`,
        [table],
      );
      return rows[0]!.ok;
    }
    case 'column-exists': {
      const { rows } = await client.query(
        `${MARKER} SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped`,
        [table, guard.column],
      );
      return rows.length > 0;
    }
    case 'constraint-missing': {
      const { rows } = await client.query(
        `${MARKER} SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2`,
        [table, guard.name],
      );
      return rows.length === 0;
    }
  }
}

/** Runs guarded statements in one transaction under lock_timeout; `extra` runs last in the same transaction. */
export async function runInTransaction(
  ctx: StepContext,
  description: string,
  statements: GuardedStatement[],
  extra?: (client: Queryable) => Promise<void>,
): Promise<void> {
  const { client } = ctx;
  await withRetry(ctx.retry, description, client, async () => {
    await client.query('BEGIN');
    try {
      await client.query(
        `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ctx.retry.lockTimeoutMs))}`,
      );
      for (const statement of statements) {
        if (statement.guard && !(await guardHolds(client, statement.guard))) continue;
        try {
          await client.query(marked(statement.sql));
        } catch (error) {
          throw toPostgresError(error, statement.sql);
        }
      }
      if (extra) await extra(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

async function indexState(
  client: Queryable,
  schema: string,
  name: string,
): Promise<'absent' | 'valid' | 'invalid'> {
  const { rows } = await client.query<{ valid: boolean }>(
    `${MARKER} SELECT i.indisvalid AND i.indisready AS valid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_index i ON i.indexrelid = c.oid WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return rows.length === 0 ? 'absent' : rows[0]!.valid ? 'valid' : 'invalid';
}

/** Runs one statement outside a transaction (CREATE/DROP INDEX CONCURRENTLY) under lock_timeout. */
async function runConcurrently(ctx: StepContext, sql: string): Promise<void> {
  await ctx.client.query(`SET lock_timeout = ${Math.max(1, Math.round(ctx.retry.lockTimeoutMs))}`);
  try {
    await ctx.client.query(marked(sql));
  } catch (error) {
    throw toPostgresError(error, sql);
  } finally {
    await ctx.client.query('RESET lock_timeout').catch(() => undefined);
  }
}

/** Runs one step idempotently: a step done before (or half done by a killed run) is completed or skipped. */
export async function runStep(ctx: StepContext, step: Step): Promise<void> {
  ctx.onStep?.(step.description);
  switch (step.kind) {
    case 'ddl':
    case 'once': {
      // Recorded in the step's own transaction: a rerun after a kill skips exactly the steps
      // whose effect committed. Statements that are safe to repeat alone are not enough: a
      // contract that drops a column and renames its replacement to the same name would, run
      // again, drop the replacement (issue 14).
      if (ctx.stepsDone.includes(step.id)) return;
      if (
        step.kind === 'once' &&
        step.onlyIfDone !== undefined &&
        !ctx.stepsDone.includes(step.onlyIfDone)
      )
        return;
      const statements = step.kind === 'ddl' ? step.statements : [{ sql: step.sql }];
      await runInTransaction(ctx, step.description, statements, (client) =>
        markStepDone(client, ctx.migration, step.id),
      );
      ctx.stepsDone.push(step.id);
      return;
    }
    case 'create-index': {
      const index = quoteQualified(step.schema, step.name);
      await withRetry(ctx.retry, step.description, ctx.client, async () => {
        const state = await indexState(ctx.client, step.schema, step.name);
        if (state === 'valid') return;
        // A killed or timed-out CREATE INDEX CONCURRENTLY leaves an invalid index behind.
        if (state === 'invalid')
          await runConcurrently(ctx, `DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
        await runConcurrently(ctx, step.sql);
      });
      if (step.afterwards) await runInTransaction(ctx, step.description, step.afterwards);
      return;
    }
    case 'drop-index':
      await withRetry(ctx.retry, step.description, ctx.client, () =>
        runConcurrently(
          ctx,
          `DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(step.schema, step.name)}`,
        ),
      );
      return;
  }
}
