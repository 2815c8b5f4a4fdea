import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnFacts } from './schema-facts.js';

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
