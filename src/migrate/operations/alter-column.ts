import { quoteIdent } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { expression, references, typeName } from '../read-column.js';
import type { ColumnExtras } from '../types.js';
import type { FileSpelling } from './definition.js';
import type { Operation } from './registry.js';

/**
 * pgroll's `alter_column`: one entry that changes any mix of a column's name, type, nullability,
 * default, comment and constraints. The column is replaced (change_type) when its data or
 * constraints change; otherwise each change maps onto its own operation (set_not_null,
 * drop_not_null, set_default, set_comment, rename_column). change_type lists it as a spelling.
 */

/** A string, or null where pgroll writes `null` to remove (comment, default). */
function nullable(
  f: Fields,
  key: string,
  read: () => string | undefined,
): string | null | undefined {
  if (f.value[key] === null) {
    f.ignore(key);
    return null;
  }
  return read();
}

const CHANGES = ['name', 'type', 'nullable', 'default', 'comment', 'unique', 'check', 'references'];

export const alterColumnSpelling: FileSpelling = {
  key: 'alter_column',
  format: 'pgroll',
  read(f, ctx) {
    const table = f.table('table', ctx.defaultSchema);
    const column = f.name('column', true);
    const name = f.name('name');
    const type = typeName(f, 'type', ctx, false);
    const isNullable = f.boolean('nullable');
    const def = nullable(f, 'default', () => expression(f, 'default', ctx, false));
    const comment = nullable(f, 'comment', () => f.string('comment'));
    const uniqueFields = f.object('unique', 'the unique constraint');
    const unique = uniqueFields ? { name: uniqueFields.name('name') } : undefined;
    uniqueFields?.reportUnknown();
    const checkFields = f.object('check', 'the check constraint');
    let check: ColumnExtras['check'];
    if (checkFields) {
      const expr = expression(checkFields, 'constraint', ctx, true);
      const checkName = checkFields.name('name');
      checkFields.ignore('no_inherit');
      checkFields.reportUnknown();
      if (expr !== undefined)
        check = { expression: expr, ...(checkName ? { name: checkName } : {}) };
    }
    const refs = references(f.object('references', 'the referenced column'), ctx, false);
    const hasUp = f.has('up');
    const up = expression(f, 'up', ctx, false);
    const down = expression(f, 'down', ctx, false);
    f.reportUnknown();
    if (table === undefined || column === undefined) return undefined;
    // The column is replaced (pgroll duplicates it) when its data or constraints change.
    const replaces = type !== undefined || unique || check || refs;
    if (!replaces) {
      const ops: Operation[] = [];
      if (isNullable === false)
        ops.push({ op: 'set_not_null', table, column, ...(hasUp && up ? { up } : {}) });
      if (isNullable === true) ops.push({ op: 'drop_not_null', table, column });
      if (def !== undefined) ops.push({ op: 'set_default', table, column, default: def });
      if (comment !== undefined) ops.push({ op: 'set_comment', table, column, comment });
      if (name !== undefined) ops.push({ op: 'rename_column', table, from: column, to: name });
      if (ops.length === 0 && !CHANGES.some((k) => k in f.value))
        f.report(
          undefined,
          'alter_column needs one of `name`, `type`, `nullable`, `default`, `comment`, `unique`, `check`, `references`',
        );
      return ops;
    }
    const extras: ColumnExtras = {
      ...(isNullable === undefined ? {} : { nullable: isNullable }),
      ...(def === undefined ? {} : { default: def }),
      ...(comment === undefined ? {} : { comment }),
      ...(unique ? { unique: unique.name === undefined ? {} : { name: unique.name } } : {}),
      ...(check ? { check } : {}),
      ...(refs ? { references: refs } : {}),
    };
    const same = quoteIdent(column);
    return {
      op: 'change_type',
      table,
      column,
      ...(type === undefined ? {} : { type }),
      up: up ?? same,
      down: down ?? same,
      ...(name === undefined ? {} : { rename: name }),
      extras,
    };
  },
};
