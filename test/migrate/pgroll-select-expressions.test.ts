import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { readActive } from '../../src/migrate/bookkeeping.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

/** pgroll writes many up/down expressions as a full `SELECT CASE … END`. */
const retype = `
operations:
  - alter_column:
      table: reviews
      column: rating
      type: integer
      up: SELECT CASE WHEN rating ~ '^[0-9]+$' THEN rating::integer ELSE 0 END
      down: SELECT CASE WHEN rating > 3 THEN 'good' ELSE rating::text END
`;

describeEachServer('pgroll expressions written as SELECT', (server) => {
  it('an up/down written as SELECT CASE … END works in the sync trigger as in the backfill', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE reviews (id serial PRIMARY KEY, rating text);
        INSERT INTO reviews (rating) SELECT CASE WHEN g % 2 = 0 THEN g::text ELSE 'meh' END FROM generate_series(1, 20) g`),
    );
    const migration = await parseMigration(retype, '01_retype.yaml');
    const started = await startMigration(url, migration, { batchSize: 7 });
    expect(started.phase).toBe('active');
    await withClient(url, async (c) => {
      const old = await c.query(
        `INSERT INTO reviews (rating) VALUES ('7'), ('bad') RETURNING _pgpact_new_rating AS n`,
      );
      expect(old.rows.map((r) => r.n)).toEqual([7, 0]);
      const neu = await c.query(
        `INSERT INTO reviews (_pgpact_new_rating) VALUES (5), (2) RETURNING rating`,
      );
      expect(neu.rows.map((r) => r.rating)).toEqual(['good', '2']);
      const wrong = await c.query(
        `SELECT id FROM reviews WHERE _pgpact_new_rating IS DISTINCT FROM CASE WHEN rating ~ '^[0-9]+$' THEN rating::integer ELSE 0 END AND id <= 20`,
      );
      expect(wrong.rows).toEqual([]);
    });
    await completeMigration(url, { force: true });
    await withClient(url, async (c) => {
      const { rows } = await c.query(`SELECT rating FROM reviews ORDER BY id`);
      expect(rows.slice(0, 4).map((r) => r.rating)).toEqual([0, 2, 0, 4]);
    });
  });

  it('a start failing on a statement the file itself gets wrong is undone, not left stuck', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE items (id serial PRIMARY KEY, price text);
        INSERT INTO items (price) VALUES ('1'), ('2')`),
    );
    // no_such_function passes the parser but fails when the sync function is created.
    const bad = await parseMigration(
      `operations:
  - add_column:
      table: items
      up: pgpact_no_such_function(price)
      column: { name: cents, type: integer, nullable: true }
`,
      '02_bad.yaml',
    );
    await expect(startMigration(url, bad)).rejects.toThrow(/rolled back/);
    await withClient(url, async (c) => {
      expect(await readActive(c)).toBeUndefined();
      const { rows } = await c.query(
        `SELECT attname FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'cents'`,
      );
      expect(rows).toEqual([]);
    });
    // The next migration is not blocked.
    const next = await parseMigration(
      `operations:
  - add_column:
      table: items
      column: { name: note, type: text, nullable: true }
`,
      '03_next.yaml',
    );
    expect((await startMigration(url, next)).phase).toBe('active');
  });
});
