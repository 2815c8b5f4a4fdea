import { quoteIdent } from '../postgres/quote.js';
import type { Fields } from './fields.js';
import { referencesSql } from './plan-sql.js';
import { expression, type ReadContext } from './read-column.js';
import type { ForeignKeyTarget } from './types.js';

/** create_table's table-level `constraints` (pgroll): read here, written into CREATE TABLE. */

export type TableConstraint = {
  name: string;
  deferrable?: boolean;
  initiallyDeferred?: boolean;
} & (
  | { type: 'primary_key' | 'unique'; columns: string[]; include?: string[] }
  | { type: 'check'; check: string; noInherit?: boolean }
  | {
      type: 'foreign_key';
      columns: string[];
      references: ForeignKeyTarget & { onUpdate?: string; matchFull?: boolean };
    }
  | { type: 'exclude'; method: string; elements: string; predicate?: string }
);

const ACTIONS = ['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT'];

function action(f: Fields, key: string): string | undefined {
  const text = f.string(key)?.toUpperCase().replace(/\s+/g, ' ').trim();
  if (text === undefined || ACTIONS.includes(text)) return text;
  f.report(key, `unknown ${key} \`${text}\``, ACTIONS.join(', '));
  return undefined;
}

/** Raw SQL a clause is built from (exclusion elements): one clause, nothing that could end it. */
function clause(f: Fields, key: string): string | undefined {
  const text = f.string(key, true);
  if (text === undefined) return undefined;
  let depth = 0;
  for (const ch of text) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0 || /;|--|\/\*/.test(text)) {
    f.report(key, `\`${key}\` must be one clause: balanced parentheses, no \`;\` or comments`);
    return undefined;
  }
  return text;
}

/** Reads one table constraint. */
export function readTableConstraint(f: Fields, ctx: ReadContext): TableConstraint | undefined {
  const name = f.name('name', true);
  const type = f.string('type', true);
  const deferrable = f.boolean('deferrable');
  const initiallyDeferred = f.boolean('initially_deferred');
  const base = {
    ...(name === undefined ? {} : { name }),
    ...(deferrable ? { deferrable } : {}),
    ...(initiallyDeferred ? { initiallyDeferred } : {}),
  };
  let out: TableConstraint | undefined;
  if (type === 'primary_key' || type === 'unique') {
    const columns = f.names('columns', true);
    const params = f.object('index_parameters', 'the index parameters');
    const include = params?.names('include_columns');
    params?.reportUnknown();
    // pgroll's nulls_not_distinct needs Postgres 15+: written when given.
    f.ignore('nulls_not_distinct');
    if (columns)
      out = { ...base, type, columns, ...(include ? { include } : {}) } as TableConstraint;
  } else if (type === 'check') {
    const check = expression(f, 'check', ctx, true);
    const noInherit = f.boolean('no_inherit');
    if (check !== undefined)
      out = { ...base, type, check, ...(noInherit ? { noInherit } : {}) } as TableConstraint;
  } else if (type === 'foreign_key') {
    const columns = f.names('columns', true);
    const r = f.object('references', 'the referenced table', true);
    const table = r?.table('table', ctx.defaultSchema);
    const refColumns = r?.names('columns', true);
    const onDelete = r ? action(r, 'on_delete') : undefined;
    const onUpdate = r ? action(r, 'on_update') : undefined;
    const match = r?.string('match_type')?.toUpperCase();
    if (match !== undefined && match !== 'SIMPLE' && match !== 'FULL')
      r?.report('match_type', `unknown match_type \`${match}\``, 'SIMPLE or FULL');
    r?.ignore('on_delete_set_columns');
    r?.reportUnknown();
    if (columns && table && refColumns)
      out = {
        ...base,
        type,
        columns,
        references: {
          table,
          columns: refColumns,
          ...(onDelete ? { onDelete } : {}),
          ...(onUpdate ? { onUpdate } : {}),
          ...(match === 'FULL' ? { matchFull: true } : {}),
        },
      } as TableConstraint;
  } else if (type === 'exclude') {
    const x = f.object('exclude', 'the exclusion', true);
    const method = x?.string('index_method') ?? 'gist';
    if (!/^[a-z_][a-z0-9_]*$/.test(method))
      x?.report('index_method', `unknown index method \`${method}\``);
    const elements = x ? clause(x, 'elements') : undefined;
    const predicate = x ? expression(x, 'predicate', ctx, false) : undefined;
    x?.reportUnknown();
    if (elements !== undefined && /^[a-z_][a-z0-9_]*$/.test(method))
      out = {
        ...base,
        type,
        method,
        elements,
        ...(predicate === undefined ? {} : { predicate }),
      } as TableConstraint;
  } else if (type !== undefined) {
    f.report(
      'type',
      `unknown constraint type \`${type}\``,
      'primary_key, unique, check, foreign_key, exclude',
    );
  }
  f.reportUnknown();
  return name === undefined ? undefined : out;
}

/** The constraint as a CREATE TABLE element. */
export function tableConstraintSql(c: TableConstraint): string {
  const list = (names: string[]) => names.map(quoteIdent).join(', ');
  let body: string;
  switch (c.type) {
    case 'primary_key':
    case 'unique':
      body = `${c.type === 'unique' ? 'UNIQUE' : 'PRIMARY KEY'} (${list(c.columns)})${c.include ? ` INCLUDE (${list(c.include)})` : ''}`;
      break;
    case 'check':
      body = `CHECK (${c.check})${c.noInherit ? ' NO INHERIT' : ''}`;
      break;
    case 'foreign_key':
      body = `FOREIGN KEY (${list(c.columns)}) ${referencesSql(c.references)}${c.references.matchFull ? ' MATCH FULL' : ''}${c.references.onUpdate ? ` ON UPDATE ${c.references.onUpdate}` : ''}`;
      break;
    case 'exclude':
      body = `EXCLUDE USING ${quoteIdent(c.method)} (${c.elements})${c.predicate === undefined ? '' : ` WHERE (${c.predicate})`}`;
      break;
  }
  const deferral = `${c.deferrable ? ' DEFERRABLE' : ''}${c.initiallyDeferred ? ' INITIALLY DEFERRED' : ''}`;
  return `CONSTRAINT ${quoteIdent(c.name)} ${body}${deferral}`;
}
