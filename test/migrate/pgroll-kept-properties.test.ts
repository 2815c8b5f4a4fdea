import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnFacts, constraintsOf, indexesOf } from './schema-facts.js';

async function run(url: string, name: string, text: string): Promise<string[]> {
  const migration = await parseMigration(text, `${name}.yaml`);
  const started = await startMigration(url, migration, { batchSize: 50 });
  expect(started.phase).toBe('active');
  await completeMigration(url, { force: true });
  return started.notes;
}

describeEachServer('what a replaced column keeps (pgroll semantics)', (server) => {
  it('change_type keeps the default; rename and change_type keep the comment; a table comment is applied', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE items (id serial PRIMARY KEY, qty text DEFAULT '0', label text NOT NULL DEFAULT 'x');
        COMMENT ON COLUMN items.qty IS 'how many';
        COMMENT ON COLUMN items.label IS 'shown to users';
        INSERT INTO items (qty, label) SELECT g::text, 'l' || g FROM generate_series(1, 30) g`),
    );
    await run(
      url,
      '01_retype',
      `operations:
  - alter_column: { table: items, column: qty, type: integer, up: qty::integer, down: qty::text }
`,
    );
    await run(
      url,
      '02_rename',
      `operations:
  - alter_column: { table: items, column: label, name: title }
`,
    );
    await run(
      url,
      '03_create',
      `operations:
  - create_table:
      name: boxes
      comment: boxes we ship
      columns: [{ name: id, type: serial, pk: true }]
`,
    );
    await withClient(url, async (c) => {
      const qty = await columnFacts(c, 'items', 'qty');
      expect(qty).toMatchObject({
        type: 'integer',
        default: "('0'::text)::integer",
        comment: 'how many',
      });
      const title = await columnFacts(c, 'items', 'title');
      expect(title).toMatchObject({
        type: 'text',
        notNull: true,
        default: "'x'::text",
        comment: 'shown to users',
      });
      // The carried default works for a new row.
      const { rows } = await c.query(`INSERT INTO items DEFAULT VALUES RETURNING qty, title`);
      expect(rows[0]).toEqual({ qty: 0, title: 'x' });
      const table = await c.query(`SELECT obj_description('boxes'::regclass, 'pg_class') AS c`);
      expect(table.rows[0].c).toBe('boxes we ship');
    });
  });

  it('a constant default prints no "volatile default" note; a function call does', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => c.query(`CREATE TABLE t (id int PRIMARY KEY)`));
    const constant = await run(
      url,
      '01_const',
      `operations:
  - add_column: { table: t, column: { name: flag, type: boolean, default: "false" } }
`,
    );
    expect(constant.join('\n')).not.toMatch(/volatile/);
    const call = await run(
      url,
      '02_call',
      `operations:
  - add_column: { table: t, column: { name: r, type: float8, default: "random()" } }
`,
    );
    expect(call.join('\n')).toMatch(/volatile/);
  });
});

describeEachServer(
  'a replaced column keeps its indexes and constraints (pgroll duplicates them)',
  (server) => {
    it('rename and change_type carry unique, foreign key, check and index over under the original names', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) =>
        c.query(`CREATE TABLE owners (id int PRIMARY KEY);
        INSERT INTO owners SELECT generate_series(1, 5);
        CREATE TABLE things (id serial PRIMARY KEY, code text CONSTRAINT things_code_key UNIQUE,
          owner int CONSTRAINT things_owner_fkey REFERENCES owners (id) ON DELETE CASCADE,
          qty text CONSTRAINT things_qty_check CHECK (qty <> 'none'), label text);
        CREATE INDEX things_label_idx ON things (lower(label)) WHERE label IS NOT NULL;
        INSERT INTO things (code, owner, qty, label) SELECT 'c' || g, 1 + g % 5, g::text, 'L' || g FROM generate_series(1, 40) g`),
      );
      const notes = await run(
        url,
        '01_carry',
        `operations:
  - alter_column: { table: things, column: code, name: ref }
  - alter_column: { table: things, column: owner, name: owner_id }
  - alter_column: { table: things, column: label, name: title }
  - alter_column: { table: things, column: qty, type: varchar(20), up: qty, down: qty }
`,
      );
      expect(notes.join('\n')).not.toMatch(/not carried|add_index/);
      await withClient(url, async (c) => {
        expect(await constraintsOf(c, 'things')).toEqual({
          things_code_key: 'UNIQUE (ref)',
          things_owner_fkey: 'FOREIGN KEY (owner_id) REFERENCES owners(id) ON DELETE CASCADE',
          things_pkey: 'PRIMARY KEY (id)',
          things_qty_check: "CHECK (((qty)::text <> 'none'::text))",
        });
        const indexes = await indexesOf(c, 'things');
        expect(indexes.things_label_idx).toBe(
          'CREATE INDEX things_label_idx ON public.things USING btree (lower(title)) WHERE (title IS NOT NULL)',
        );
        expect(Object.keys(indexes).sort()).toEqual([
          'things_code_key',
          'things_label_idx',
          'things_pkey',
        ]);
        await expect(c.query(`INSERT INTO things (ref) VALUES ('c1')`)).rejects.toThrow(/unique/);
        await expect(c.query(`INSERT INTO things (owner_id) VALUES (99)`)).rejects.toThrow(
          /foreign key/,
        );
        await expect(c.query(`INSERT INTO things (qty) VALUES ('none')`)).rejects.toThrow(/check/);
      });
    });
  },
);
