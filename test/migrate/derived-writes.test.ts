import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect, it } from 'vitest';
import { parseMigration } from '../../src/migrate/parse.js';
import { completeMigration } from '../../src/migrate/complete.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

const ROWS = 20_000;

/** Writers looping over `statement` (parameter $1: a random id) until stopped. */
async function writeUntil(
  url: string,
  count: number,
  statement: string,
  stop: { done: boolean },
): Promise<{ writes: number; errors: string[] }> {
  const result = { writes: 0, errors: [] as string[] };
  await Promise.all(
    Array.from({ length: count }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        while (!stop.done) {
          await c
            .query(statement, [1 + Math.floor(Math.random() * ROWS)])
            .then(() => result.writes++)
            .catch((e: Error) => result.errors.push(e.message));
        }
      } finally {
        await c.end();
      }
    }),
  );
  return result;
}

describeEachServer('values derived from the other shape stay right under its writes', (server) => {
  it('add_column up: old-shape updates of the source during start leave new = up(old) on every row', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE payments (id serial PRIMARY KEY, amount numeric NOT NULL);
        INSERT INTO payments (amount) SELECT g / 100.0 FROM generate_series(1, ${ROWS}) g`),
    );
    const migration = await parseMigration(
      `operations:
  - add_column:
      table: payments
      up: (amount * 100)::bigint
      column: { name: cents, type: bigint }
`,
      '01_cents.yaml',
    );
    const stop = { done: false };
    const updates = writeUntil(
      url,
      3,
      'UPDATE payments SET amount = amount + 1 WHERE id = $1',
      stop,
    );
    const inserts = writeUntil(
      url,
      1,
      'INSERT INTO payments (amount) VALUES ($1::numeric / 7)',
      stop,
    );
    await sleep(150);
    const started = await startMigration(url, migration, { batchSize: 500 });
    expect(started.phase).toBe('active');
    await sleep(300);
    stop.done = true;
    const [u, i] = await Promise.all([updates, inserts]);
    expect([...u.errors, ...i.errors]).toEqual([]);
    expect(u.writes).toBeGreaterThan(100);
    await withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM payments WHERE cents IS DISTINCT FROM (amount * 100)::bigint`,
      );
      expect(rows[0].n).toBe(0);
      // An UPDATE through the new shape that sets the value itself keeps it.
      const own = await c.query(
        `UPDATE payments SET amount = 1, cents = 7 WHERE id = 1 RETURNING cents`,
      );
      expect(own.rows[0].cents).toBe('7');
    });
  });

  it("an expression reading the column it fills (pgroll's COALESCE(col, …) for nullable: false, a drop_column down): writes during start get it, none fails", async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE person (id serial PRIMARY KEY, name text NOT NULL, display_name text, legacy text);
        INSERT INTO person (name, display_name) VALUES ('ada', NULL), ('bob', 'Bob B.')`),
    );
    const migration = await parseMigration(
      JSON.stringify({
        name: '01_display_name',
        operations: [
          {
            alter_column: {
              table: 'person',
              column: 'display_name',
              nullable: false,
              up: 'COALESCE(display_name, name)',
              down: 'display_name',
            },
          },
          { drop_column: { table: 'person', column: 'legacy', down: "COALESCE(legacy, 'n/a')" } },
        ],
      }),
      '01_display_name.json',
    );
    expect((await startMigration(url, migration)).phase).toBe('active');
    await withClient(url, async (c) => {
      // Before the fix these failed: column "display_name" does not exist (in the sync function).
      await c.query(`INSERT INTO person (name) VALUES ('cy')`);
      await c.query(`UPDATE person SET display_name = NULL WHERE name = 'bob'`);
      const { rows } = await c.query('SELECT name, display_name, legacy FROM person ORDER BY id');
      expect(rows).toEqual([
        { name: 'ada', display_name: 'ada', legacy: null },
        { name: 'bob', display_name: 'bob', legacy: 'n/a' },
        { name: 'cy', display_name: 'cy', legacy: 'n/a' },
      ]);
    });
  });

  it('a later operation reading a column an earlier one fills (NOT NULL with up, then add_column up over it): rows the backfill reaches and rows written during start get the same value', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE "AppUser" (id serial PRIMARY KEY, "userName" text);
        INSERT INTO "AppUser" ("userName") SELECT CASE WHEN g % 2 = 0 THEN 'user' || g END FROM generate_series(1, 2000) g`),
    );
    const migration = await parseMigration(
      JSON.stringify({
        name: '02_display',
        operations: [
          {
            alter_column: {
              table: 'AppUser',
              column: 'userName',
              nullable: false,
              up: `COALESCE("userName", 'anon-' || id)`,
              down: '"userName"',
            },
          },
          {
            add_column: {
              table: 'AppUser',
              column: { name: 'displayName', type: 'text', nullable: true },
              up: 'upper("userName")',
            },
          },
        ],
      }),
      '02_display.json',
    );
    expect((await startMigration(url, migration, { batchSize: 300 })).phase).toBe('active');
    await withClient(url, async (c) => {
      // Written during start by the old version, NULL name and all.
      await c.query(`INSERT INTO "AppUser" ("userName") VALUES (NULL), ('zoe')`);
      const { rows } = await c.query(
        `SELECT count(*)::int AS n,
           count(*) FILTER (WHERE "displayName" IS DISTINCT FROM upper("userName"))::int AS differ
         FROM "AppUser"`,
      );
      // Before the fix the backfill read the name as it was (NULL): 1,000 rows differed.
      expect(rows).toEqual([{ n: 2002, differ: 0 }]);
      const sample = await c.query(
        `SELECT "userName", "displayName" FROM "AppUser" WHERE id IN (1, 2, 2001, 2002) ORDER BY id`,
      );
      expect(sample.rows).toEqual([
        { userName: 'anon-1', displayName: 'ANON-1' },
        { userName: 'user2', displayName: 'USER2' },
        { userName: 'anon-2001', displayName: 'ANON-2001' },
        { userName: 'zoe', displayName: 'ZOE' },
      ]);
    });
  });

  it('pgroll create_constraint with up on one column: old writers stay unconstrained while both shapes live, the new column holds up(old) under the constraint, complete keeps it', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE comment (id serial PRIMARY KEY, content text NOT NULL);
        INSERT INTO comment (content) VALUES ('hi'), ('')`),
    );
    const migration = await parseMigration(
      JSON.stringify({
        name: '01_not_empty',
        operations: [
          {
            create_constraint: {
              table: 'comment',
              name: 'comment_content_not_empty',
              type: 'check',
              check: 'length(content) > 0',
              columns: ['content'],
              up: { content: "CASE WHEN length(content) = 0 THEN '(empty)' ELSE content END" },
              down: { content: 'content' },
            },
          },
        ],
      }),
      '01_not_empty.json',
    );
    // An existing empty row no longer makes start fail: up rewrites it in the new column.
    expect((await startMigration(url, migration)).phase).toBe('active');
    await withClient(url, async (c) => {
      // The old version still inserts an empty comment: it works, the new shape gets up() of it.
      await c.query(`INSERT INTO comment (content) VALUES ('')`);
      const { rows } = await c.query(
        'SELECT content, _pgpact_new_content AS new FROM comment ORDER BY id',
      );
      expect(rows).toEqual([
        { content: 'hi', new: 'hi' },
        { content: '', new: '(empty)' },
        { content: '', new: '(empty)' },
      ]);
    });
    await completeMigration(url, { force: true });
    await withClient(url, async (c) => {
      const { rows } = await c.query('SELECT content FROM comment ORDER BY id');
      expect(rows.map((r) => r.content)).toEqual(['hi', '(empty)', '(empty)']);
      await expect(c.query(`INSERT INTO comment (content) VALUES ('')`)).rejects.toThrow(
        /comment_content_not_empty/,
      );
    });
  });

  it('drop_column down: new-shape updates of what down reads keep the dropped column = down(new)', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE orders (id serial PRIMARY KEY, amount numeric NOT NULL, total_text text);
        INSERT INTO orders (amount, total_text) SELECT g, g::text FROM generate_series(1, ${ROWS}) g`),
    );
    const migration = await parseMigration(
      `operations:
  - drop_column:
      table: orders
      column: total_text
      down: amount::text
`,
      '01_drop.yaml',
    );
    expect((await startMigration(url, migration)).phase).toBe('active');
    const stop = { done: false };
    const updates = writeUntil(url, 3, 'UPDATE orders SET amount = amount + 1 WHERE id = $1', stop);
    await sleep(400);
    stop.done = true;
    const u = await updates;
    expect(u.errors).toEqual([]);
    expect(u.writes).toBeGreaterThan(100);
    await withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM orders WHERE total_text IS DISTINCT FROM amount::text`,
      );
      expect(rows[0].n).toBe(0);
    });
  });

  it('alter_column with check and up (pgroll): old- and new-shape writers during start, rows agree', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE people (id serial PRIMARY KEY, age int);
        INSERT INTO people (age) SELECT CASE WHEN g % 7 = 0 THEN -1 ELSE g % 90 END FROM generate_series(1, ${ROWS}) g`),
    );
    const migration = await parseMigration(
      `operations:
  - alter_column:
      table: people
      column: age
      check: { name: age_not_negative, constraint: age >= 0 }
      up: SELECT CASE WHEN age < 0 THEN 0 ELSE age END
      down: age
`,
      '01_age.yaml',
    );
    const stop = { done: false };
    const old = writeUntil(url, 2, 'UPDATE people SET age = age - 1 WHERE id = $1', stop);
    let ready = false;
    const neu = (async () => {
      while (!ready && !stop.done) await sleep(20);
      return writeUntil(
        url,
        1,
        'UPDATE people SET _pgpact_new_age = (_pgpact_new_age + 1) WHERE id = $1',
        stop,
      );
    })();
    await sleep(150);
    const started = await startMigration(url, migration, {
      batchSize: 500,
      onStep: (step) => {
        if (step.startsWith('backfill')) ready = true;
      },
    });
    expect(started.phase).toBe('active');
    ready = true;
    await sleep(300);
    stop.done = true;
    const [o, n] = await Promise.all([old, neu]);
    // Old writers may push an age below zero: the old column has no check; the new one does.
    expect([...o.errors, ...n.errors]).toEqual([]);
    expect(o.writes).toBeGreaterThan(100);
    expect(n.writes).toBeGreaterThan(20);
    await withClient(url, async (c) => {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM people
        WHERE _pgpact_new_age IS DISTINCT FROM CASE WHEN age < 0 THEN 0 ELSE age END`);
      expect(rows[0].n).toBe(0);
      const v = await c.query(
        `SELECT convalidated FROM pg_constraint WHERE conname = 'age_not_negative'`,
      );
      expect(v.rows).toEqual([{ convalidated: true }]);
    });
  });
});
