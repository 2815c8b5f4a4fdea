import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import { renameColumnRefs } from './expressions.js';
import { tableKey, truncateIdentifier } from './names.js';
import { planUniqueIndexConstraint } from './plan-operations.js';
import { doBlock, qualified } from './plan-sql.js';
import type { PlanState, TableWork } from './plan-state.js';

/**
 * A replaced column's indexes and unique, check and foreign-key constraints, duplicated onto the
 * column taking its place (pgroll's habit): built during the expand under a `_pgpact_dup_` name,
 * renamed to the original name at complete once the old column (and so the original) is gone.
 * Where the new type does not fit one of them (a check calling a function of the old type, a
 * foreign key to a column of the old type), it is left behind, as pgroll does.
 */

/** The name a duplicate carries until complete. */
export function duplicateName(name: string): string {
  return truncateIdentifier(`_pgpact_dup_${name}`);
}

/** Runs `sql`, ignoring the errors saying the new type does not fit (42804, 42883, 22P02, 42846). */
function tolerant(sql: string): string {
  return doBlock(
    `EXECUTE ${quoteLiteral(sql)}; EXCEPTION WHEN datatype_mismatch OR undefined_function OR invalid_text_representation OR cannot_coerce THEN NULL;`,
  );
}

function ifConstraint(w: TableWork, name: string, sql: string): string {
  const t = quoteLiteral(qualified(w.table));
  return doBlock(
    `IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ${t}::regclass AND conname = ${quoteLiteral(name)}) THEN EXECUTE ${quoteLiteral(sql)}; END IF;`,
  );
}

/** Plans the duplicates of `old`'s indexes and constraints on `replacement`. */
export function planCarryOver(
  ctx: PlanState,
  w: TableWork,
  old: string,
  replacement: string,
): void {
  const t = qualified(w.table);
  const key = tableKey(w.table);
  const backing = new Set(
    w.relation.constraints.filter((c) => 'pux'.includes(c.type)).map((c) => c.name),
  );
  for (const c of w.relation.constraints) {
    if (!c.columns.includes(old) || c.type === 'p') continue;
    const dup = duplicateName(c.name);
    if (c.type === 'u') {
      const columns = c.columns.map((x) => (x === old ? replacement : x));
      planUniqueIndexConstraint(ctx, w.table, dup, columns, `unique ${dup} on ${key}`);
    } else if (c.type === 'c' || c.type === 'f') {
      const definition = renameColumnRefs(c.definition, old, replacement);
      w.constraints.push({
        sql: tolerant(`ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(dup)} ${definition} NOT VALID`),
        guard: { kind: 'constraint-missing', table: w.table, name: dup },
      });
      if (c.validated)
        ctx.plan.validate.push({
          kind: 'ddl',
          id: `validate:${key}:${dup}`,
          description: `validate ${dup}`,
          statements: [
            {
              sql: ifConstraint(w, dup, `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(dup)}`),
            },
          ],
        });
    } else {
      ctx.plan.notes.push(
        `${key}.${old}: constraint ${c.name} (${c.definition}) is not carried over to ${replacement}; add it again`,
      );
      continue;
    }
    w.complete.push({
      sql: ifConstraint(
        w,
        dup,
        `ALTER TABLE ${t} RENAME CONSTRAINT ${quoteIdent(dup)} TO ${quoteIdent(c.name)}`,
      ),
    });
  }
  for (const index of w.relation.indexes) {
    if (backing.has(index.name)) continue;
    const using = index.definition.indexOf(' USING ');
    if (using < 0) continue;
    const tail = index.definition.slice(using);
    const rewritten = renameColumnRefs(tail, old, replacement);
    if (rewritten === tail) continue;
    const dup = duplicateName(index.name);
    ctx.plan.validate.push({
      kind: 'create-index',
      id: `index:${w.table.schema}.${dup}`,
      description: `index ${dup} on ${key}`,
      schema: w.table.schema,
      name: dup,
      sql: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(dup)} ON ${t}${rewritten}`,
    });
    const from = quoteLiteral(`${quoteIdent(w.table.schema)}.${quoteIdent(dup)}`);
    w.complete.push({
      sql: doBlock(
        `IF to_regclass(${from}) IS NOT NULL THEN EXECUTE ${quoteLiteral(`ALTER INDEX ${quoteIdent(w.table.schema)}.${quoteIdent(dup)} RENAME TO ${quoteIdent(index.name)}`)}; END IF;`,
      ),
    });
  }
}
