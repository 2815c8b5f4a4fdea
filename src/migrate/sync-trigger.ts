import { quoteIdent, quoteLiteral, quoteQualified } from '../postgres/quote.js';
import { asScalar } from './expressions.js';
import type { ExpressionInput, FillRule, TableSync, TwoWayRule } from './plan-types.js';

/**
 * The sync trigger: a BEFORE INSERT OR UPDATE row trigger keeping the old and
 * the new shape equal while both are live. The rule for each two-way pair:
 *
 * - INSERT: if any new column is non-NULL, the new shape was written and the
 *   old columns are derived from it (`down`); otherwise the new columns are
 *   derived from the old ones (`up`).
 * - UPDATE: if a column read by `down` changed, the old columns are derived
 *   from the new ones (the new shape wins when both changed); else if a column
 *   read by `up` changed, or the row has not been reached by the backfill yet
 *   (every new column NULL), the new columns are derived from the old ones.
 *   A row the backfill has not reached yet first gets the new columns a
 *   statement writing only some of them left alone from `up` over its old values.
 * - A fill rule sets its column from its expression whenever a write leaves it NULL.
 *
 * Expressions are written over column names; each referenced column is a
 * PL/pgSQL variable of the same name, declared in a nested block and loaded
 * from NEW or OLD (a changed type's `down` reads the new column under the old
 * name). NEW and OLD are
 * qualified by the function's label so a column called "new" cannot hide them.
 * The trigger does not fire while the session's `pgpact.backfill` setting is
 * `on`: the backfill computes the new columns itself, in one UPDATE per batch.
 */

/** The session setting that tells the sync trigger to stand aside for the backfill. */
export const BACKFILL_SETTING = 'pgpact.backfill';

/** A nested block declaring each input as a variable loaded from NEW or OLD, then running the statements. */
function block(
  inputs: ExpressionInput[],
  table: string,
  from: string,
  statements: string[],
  indent: string,
): string[] {
  if (inputs.length === 0) return statements.map((s) => `${indent}${s}`);
  return [
    `${indent}DECLARE`,
    ...inputs.map(
      (i) =>
        `${indent}  ${quoteIdent(i.name)} ${table}.${quoteIdent(i.column)}%TYPE := ${from}.${quoteIdent(i.column)};`,
    ),
    `${indent}BEGIN`,
    ...statements.map((s) => `${indent}  ${s}`),
    `${indent}END;`,
  ];
}

/** A one-line comment naming the rule: a carriage return or newline in a name must not end it. */
function comment(text: string): string {
  return `-- ${text.replace(/[\u0000-\u001f\u007f]/g, ' ')}`;
}

function anyDistinct(inputs: ExpressionInput[], fn: string): string {
  const columns = [...new Set(inputs.map((i) => i.column))];
  return columns.length === 0
    ? 'false'
    : columns
        .map((c) => `${fn}.NEW.${quoteIdent(c)} IS DISTINCT FROM ${fn}.OLD.${quoteIdent(c)}`)
        .join(' OR ');
}

function twoWay(rule: TwoWayRule, fn: string, table: string): string[] {
  const NEW = `${fn}.NEW`;
  const OLD = `${fn}.OLD`;
  const newColumns = rule.up.map((u) => u.column);
  const setNew = rule.up.map((u) => `${NEW}.${quoteIdent(u.column)} := ${asScalar(u.expression)};`);
  const setOld = rule.down.map(
    (d) => `${NEW}.${quoteIdent(d.column)} := ${asScalar(d.expression)};`,
  );
  const anyNewSet =
    newColumns.map((c) => `${NEW}.${quoteIdent(c)} IS NOT NULL`).join(' OR ') || 'false';
  const lines = [comment(rule.operation), `IF TG_OP = 'INSERT' THEN`];
  if (setOld.length > 0) {
    lines.push(`  IF ${anyNewSet} THEN`, ...block(rule.downInputs, table, NEW, setOld, '    '));
    lines.push('  ELSE', ...block(rule.upInputs, table, NEW, setNew, '    '), '  END IF;');
    lines.push(`ELSIF ${anyDistinct(rule.downInputs, fn)} THEN`);
    if (rule.up.length > 0) {
      // A row the backfill has not reached: derive the new columns this statement left alone.
      const notReached = newColumns.map((c) => `${OLD}.${quoteIdent(c)} IS NULL`).join(' AND ');
      const fills = rule.up.map((u) => {
        const c = quoteIdent(u.column);
        return `IF ${NEW}.${c} IS NOT DISTINCT FROM ${OLD}.${c} THEN ${NEW}.${c} := ${asScalar(u.expression)}; END IF;`;
      });
      lines.push(
        `  IF ${notReached} THEN`,
        ...block(rule.upInputs, table, OLD, fills, '    '),
        '  END IF;',
      );
    }
    lines.push(...block(rule.downInputs, table, NEW, setOld, '  '));
  } else {
    lines.push(
      `  IF NOT (${anyNewSet}) THEN`,
      ...block(rule.upInputs, table, NEW, setNew, '    '),
      '  END IF;',
    );
  }
  // Any write to a row the backfill has not reached yet brings it to the new shape, so
  // constraints on the new columns (NOT VALID until validated) hold for every row written.
  const allNewNull = newColumns.map((c) => `${NEW}.${quoteIdent(c)} IS NULL`).join(' AND ');
  lines.push(
    `ELSIF ${anyDistinct(rule.upInputs, fn)} OR (${allNewNull}) THEN`,
    ...block(rule.upInputs, table, NEW, setNew, '  '),
    'END IF;',
  );
  return lines;
}

function fill(rule: FillRule, fn: string, table: string): string[] {
  const target = `${fn}.NEW.${quoteIdent(rule.column)}`;
  const set = block(
    rule.inputs,
    table,
    `${fn}.NEW`,
    [`${target} := ${asScalar(rule.expression)};`],
    '  ',
  );
  const lines = [comment(rule.operation), `IF ${target} IS NULL THEN`, ...set];
  // The expression may read the column itself (pgroll's `COALESCE(col, …)`): declared with the
  // rest, NULL here; only the other inputs changing derives it again.
  const inputsChanged = anyDistinct(
    rule.inputs.filter((i) => i.column !== rule.column),
    fn,
  );
  if (rule.onInputChange && inputsChanged !== 'false') {
    // An UPDATE through the other shape changed what the value is derived from and left the
    // value itself alone: derive it again (OLD is only read on UPDATE).
    lines.push(
      `ELSIF TG_OP = 'UPDATE' THEN`,
      `  IF ${target} IS NOT DISTINCT FROM ${fn}.OLD.${quoteIdent(rule.column)} AND (${inputsChanged}) THEN`,
      ...set.map((l) => `  ${l}`),
      '  END IF;',
    );
  }
  lines.push('END IF;');
  return lines;
}

/** A dollar-quote tag that does not occur in the body. */
function dollarTag(body: string): string {
  let tag = '$pgpact$';
  for (let i = 0; body.includes(tag); i++) tag = `$pgpact${i}$`;
  return tag;
}

/** CREATE OR REPLACE FUNCTION for a table's sync trigger (schema pgpact). */
export function syncFunctionSql(sync: TableSync): string {
  const fn = sync.functionName;
  const table = quoteQualified(sync.table.schema, sync.table.name);
  const body = sync.rules.flatMap((r) =>
    r.kind === 'two-way' ? twoWay(r, fn, table) : fill(r, fn, table),
  );
  const text = ['BEGIN', ...body.map((l) => `  ${l}`), `  RETURN ${fn}.NEW;`, 'END'].join('\n');
  const tag = dollarTag(text);
  return `CREATE OR REPLACE FUNCTION pgpact.${quoteIdent(fn)}() RETURNS trigger LANGUAGE plpgsql AS ${tag}\n${text}\n${tag}`;
}

/** CREATE OR REPLACE TRIGGER installing the sync function on its table. */
export function syncTriggerSql(sync: TableSync): string {
  return `CREATE OR REPLACE TRIGGER ${quoteIdent(sync.triggerName)} BEFORE INSERT OR UPDATE ON ${quoteQualified(sync.table.schema, sync.table.name)}
  FOR EACH ROW WHEN (current_setting(${quoteLiteral(BACKFILL_SETTING)}, true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION pgpact.${quoteIdent(sync.functionName)}()`;
}

/** Statements removing a table's sync trigger and function (idempotent). */
export function dropSyncSql(sync: TableSync): string[] {
  return [
    `DROP TRIGGER IF EXISTS ${quoteIdent(sync.triggerName)} ON ${quoteQualified(sync.table.schema, sync.table.name)}`,
    `DROP FUNCTION IF EXISTS pgpact.${quoteIdent(sync.functionName)}()`,
  ];
}
