import { expect } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { constraintsOf, indexesOf } from './schema-facts.js';

/** Shared by crash-pgroll.test.ts (random kills) and crash-points.test.ts (kills at chosen points). */

/** pgroll operations in one migration: a replaced column with new constraints, drops, renames (a table too), indexes. */
export const PGROLL_CRASH_MIGRATION = `operations:
  - alter_column:
      table: items
      column: sku
      unique: { name: items_sku_unique }
      check: { name: items_sku_short, constraint: length(sku) < 40 }
      up: SELECT CASE WHEN sku IS NULL THEN 'none-' || id ELSE sku || '-' || id END
      down: sku
  - drop_constraint: { table: items, name: items_qty_positive, up: qty, down: qty }
  - rename_constraint: { table: items, from: items_owner_fk, to: items_owner_fkey }
  - alter_column: { table: items, column: qty, default: "7", up: qty, down: qty }
  - create_index:
      name: items_label_pattern
      table: items
      columns: [{ column: label, opclass: { name: text_pattern_ops } }]
      storage_parameters: fillfactor = 80
  - drop_index: { name: items_old_idx }
  - rename_table: { from: owners, to: holders }
`;

/** The table the migration changes, with every kind of thing it touches. */
export async function createItems(url: string, rows: number): Promise<void> {
  await withClient(url, (c) =>
    c.query(`CREATE TABLE owners (id int PRIMARY KEY); INSERT INTO owners VALUES (1), (2);
      CREATE TABLE items (id serial PRIMARY KEY, sku text, qty int CONSTRAINT items_qty_positive CHECK (qty > 0),
        owner int CONSTRAINT items_owner_fk REFERENCES owners (id), label text);
      CREATE INDEX items_old_idx ON items (qty);
      INSERT INTO items (sku, qty, owner, label)
        SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE 'sku' || (g % 100) END, 1 + g % 9, 1 + g % 2, 'L' || g
        FROM generate_series(1, ${rows}) g`),
  );
}

/** The schema and data pgroll documents once the migration completed. */
export async function expectItemsCompleted(url: string): Promise<void> {
  await withClient(url, async (c) => {
    expect(await constraintsOf(c, 'items')).toEqual({
      items_owner_fkey: 'FOREIGN KEY (owner) REFERENCES holders(id)',
      items_pkey: 'PRIMARY KEY (id)',
      items_sku_short: 'CHECK ((length(sku) < 40))',
      items_sku_unique: 'UNIQUE (sku)',
    });
    const indexes = await indexesOf(c, 'items');
    expect(Object.keys(indexes).sort()).toEqual([
      'items_label_pattern',
      'items_pkey',
      'items_sku_unique',
    ]);
    expect(indexes.items_label_pattern).toContain('(label text_pattern_ops) WITH (fillfactor');
    const wrong = await c.query(
      `SELECT count(*)::int AS n FROM items WHERE sku IS DISTINCT FROM CASE WHEN id % 5 = 0 THEN 'none-' || id ELSE 'sku' || (id % 100) || '-' || id END`,
    );
    expect(wrong.rows[0].n).toBe(0);
    const d = await c.query(`INSERT INTO items DEFAULT VALUES RETURNING qty`);
    expect(d.rows[0].qty).toBe(7);
    const renamed = await c.query(
      `SELECT to_regclass('owners') AS old, (SELECT relkind FROM pg_class WHERE oid = to_regclass('holders')) AS kind`,
    );
    expect(renamed.rows[0]).toEqual({ old: null, kind: 'r' });
    const left = await c.query(`SELECT count(*)::int AS n FROM pgpact.migrations`);
    expect(left.rows[0].n).toBe(0);
  });
}
