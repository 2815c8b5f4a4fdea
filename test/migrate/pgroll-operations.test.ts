import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnFacts, constraintsOf, indexesOf } from './schema-facts.js';

/** Migrations written in pgroll's format, building on each other like pgroll's examples. */
const STEPS: [string, string][] = [
  [
    '01_create',
    `operations:
  - create_table:
      name: shelves
      comment: where books stand
      columns:
        - { name: id, type: bigint, generated: { identity: { user_specified_values: BY DEFAULT } } }
        - { name: label, type: text, nullable: true, default: "'none'", comment: printed on it }
        - { name: room, type: text, nullable: true }
        - { name: width, type: integer, nullable: true }
      constraints:
        - { name: shelves_pk, type: primary_key, columns: [id] }
        - { name: shelves_room_label, type: unique, columns: [room, label] }
        - { name: shelves_width_positive, type: check, check: width > 0 }
        - name: shelves_no_overlap
          type: exclude
          exclude: { index_method: btree, elements: label WITH =, predicate: room IS NULL }
  - create_table:
      name: books
      columns:
        - { name: id, type: serial, pk: true }
        - { name: title, type: text }
        - { name: shelf, type: bigint, nullable: true }
      constraints:
        - name: books_shelf_fk
          type: foreign_key
          columns: [shelf]
          references: { table: shelves, columns: [id], on_delete: SET NULL, on_update: CASCADE }
`,
  ],
  [
    '02_seed',
    `operations:
  - sql:
      up: INSERT INTO shelves (label, room, width) SELECT 'S' || g, 'R' || (g % 3), 10 + g FROM generate_series(1, 30) g
`,
  ],
  [
    '03_index',
    `operations:
  - create_index:
      name: shelves_label_hash
      table: shelves
      method: hash
      storage_parameters: fillfactor = 70
      columns: [{ column: label }]
  - create_index:
      name: shelves_room_pattern
      table: shelves
      columns: { room: { opclass: { name: text_pattern_ops } } }
      predicate: room IS NOT NULL
`,
  ],
  [
    '04_alter',
    `version_schema: shelves_v4
operations:
  - alter_column: { table: shelves, column: label, default: null, up: label, down: label }
  - alter_column: { table: shelves, column: room, comment: floor and room, up: room, down: room }
  - alter_column:
      table: shelves
      column: width
      nullable: false
      default: "1"
      comment: centimetres
      check: { name: shelves_width_small, constraint: width < 1000 }
      up: SELECT CASE WHEN width IS NULL THEN 1 ELSE width END
      down: width
`,
  ],
  [
    '05_unique',
    `operations:
  - alter_column:
      table: books
      column: title
      unique: { name: books_title_unique }
      up: title || '-' || id
      down: title
`,
  ],
  [
    '06_drops',
    `operations:
  - drop_index: { name: shelves_label_hash }
  - drop_constraint: { table: shelves, name: shelves_width_positive, up: width, down: width }
  - drop_multicolumn_constraint:
      table: shelves
      name: shelves_room_label
      up: { room: room, label: label }
      down: { room: room, label: label }
  - rename_constraint: { table: books, from: books_shelf_fk, to: books_shelf_fkey }
  - set_replica_identity: { table: shelves, identity: { type: full } }
  - alter_column: { table: shelves, column: room, nullable: true, comment: null, up: room, down: room }
`,
  ],
];

describeEachServer('pgroll operations, in order on one database', (server) => {
  it('each migration starts and completes; the schema is what pgroll documents', async () => {
    const url = await server().createDatabase();
    for (const [name, text] of STEPS) {
      const migration = await parseMigration(text, `${name}.yaml`);
      const started = await startMigration(url, migration, { batchSize: 10 });
      expect(started.phase, name).toBe('active');
      if (name === '05_unique')
        await withClient(url, async (c) => {
          // Old shape: the duplicate titles stay; the new column holds up(title), unique.
          await c.query(`INSERT INTO books (title) VALUES ('Dune'), ('Dune')`);
          const { rows } = await c.query(
            `SELECT title, _pgpact_new_title AS t FROM books ORDER BY id`,
          );
          expect(rows).toEqual([
            { title: 'Dune', t: 'Dune-1' },
            { title: 'Dune', t: 'Dune-2' },
          ]);
          // New shape: a write of the new column reaches the old one through down.
          await c.query(`INSERT INTO books (_pgpact_new_title) VALUES ('Emma-x')`);
          const emma = await c.query(`SELECT title FROM books WHERE _pgpact_new_title = 'Emma-x'`);
          expect(emma.rows).toEqual([{ title: 'Emma-x' }]);
        });
      await completeMigration(url, { force: true });
    }
    await withClient(url, async (c) => {
      expect(await constraintsOf(c, 'shelves')).toEqual({
        shelves_no_overlap: 'EXCLUDE USING btree (label WITH =) WHERE ((room IS NULL))',
        shelves_pk: 'PRIMARY KEY (id)',
        shelves_width_small: 'CHECK ((width < 1000))',
      });
      expect(await constraintsOf(c, 'books')).toEqual({
        books_pkey: 'PRIMARY KEY (id)',
        books_shelf_fkey:
          'FOREIGN KEY (shelf) REFERENCES shelves(id) ON UPDATE CASCADE ON DELETE SET NULL',
        books_title_unique: 'UNIQUE (title)',
      });
      const indexes = await indexesOf(c, 'shelves');
      expect(indexes.shelves_label_hash).toBeUndefined();
      expect(indexes.shelves_room_pattern).toBe(
        'CREATE INDEX shelves_room_pattern ON public.shelves USING btree (room text_pattern_ops) WHERE (room IS NOT NULL)',
      );
      expect(await columnFacts(c, 'shelves', 'label')).toMatchObject({
        default: null,
        comment: 'printed on it',
      });
      expect(await columnFacts(c, 'shelves', 'room')).toMatchObject({
        notNull: false,
        comment: null,
      });
      expect(await columnFacts(c, 'shelves', 'width')).toMatchObject({
        type: 'integer',
        notNull: true,
        default: '1',
        comment: 'centimetres',
      });
      const ident = await c.query(
        `SELECT attidentity FROM pg_attribute WHERE attrelid = 'shelves'::regclass AND attname = 'id'`,
      );
      expect(ident.rows[0].attidentity).toBe('d');
      const table = await c.query(
        `SELECT obj_description('shelves'::regclass, 'pg_class') AS c, relreplident AS r FROM pg_class WHERE oid = 'shelves'::regclass`,
      );
      expect(table.rows[0]).toEqual({ c: 'where books stand', r: 'f' });
      const titles = await c.query(`SELECT title FROM books ORDER BY id`);
      expect(titles.rows.map((r) => r.title)).toEqual(['Dune-1', 'Dune-2', 'Emma-x']);
    });
  });
});
