import type { Queryable } from '../../src/postgres/client.js';

export type ColumnFacts = {
  type: string;
  notNull: boolean;
  default: string | null;
  comment: string | null;
};

/** What the catalog says about one column of a public table: type, nullability, default, comment. */
export async function columnFacts(
  c: Queryable,
  table: string,
  column: string,
): Promise<ColumnFacts> {
  const { rows } = await c.query<ColumnFacts>(
    `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
            pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = format('public.%I', $1::text)::regclass AND a.attname = $2 AND NOT a.attisdropped`,
    [table, column],
  );
  if (rows.length === 0) throw new Error(`no column ${table}.${column}`);
  return rows[0]!;
}

/** Constraint definitions of a public table by name (pg_get_constraintdef), NOT NULL ones left out. */
export async function constraintsOf(c: Queryable, table: string): Promise<Record<string, string>> {
  const { rows } = await c.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = format('public.%I', $1::text)::regclass AND contype <> 'n' ORDER BY conname`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.def]));
}

/** Index definitions of a public table by name. */
export async function indexesOf(c: Queryable, table: string): Promise<Record<string, string>> {
  const { rows } = await c.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.def]));
}
