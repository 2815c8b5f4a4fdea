import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf, createPeople, createShop, fixture, leftovers } from './helpers.js';

describeEachServer('every operation through start and complete', (server) => {
  it('pgpact operations: old and new code both work during expand, complete leaves the new shape', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createShop(c, 230));
    const migration = await loadMigration(fixture('all-operations.yaml'));
    const started = await startMigration(url, migration, { batchSize: 50 });
    expect(started).toMatchObject({ outcome: 'started', phase: 'active' });
    expect(started.backfill.map((b) => [b.table.name, b.rowsDone, b.done])).toEqual([
      ['customer', 230, true],
      ['Address Book', 230, true],
    ]);

    await withClient(url, async (c) => {
      // Every existing row got the new shape from the backfill.
      const wrong =
        await c.query(`SELECT id FROM shop.customer WHERE email_lower IS DISTINCT FROM lower(email)
        OR display_name IS DISTINCT FROM fullname OR full_name IS DISTINCT FROM first || ' ' || last
        OR _pgpact_new_zip IS DISTINCT FROM zip::integer OR country IS NULL OR tier <> 'basic'`);
      expect(wrong.rows).toEqual([]);
      expect(
        (await c.query(`SELECT count(*)::int AS n FROM shop.customer WHERE country = 'DE'`)).rows[0]
          .n,
      ).toBe(76);
      const book = await c.query(
        `SELECT count(*)::int AS n FROM shop."Address Book" WHERE "Straße" = 'Hauptstraße' AND "Nummer" = id::text`,
      );
      expect(book.rows[0].n).toBe(230);

      // Old code: writes only the old columns.
      const old = await c.query(`INSERT INTO shop.customer (email, fullname, first, last, zip, fax)
        VALUES ('Old@X.org', 'Old Timer', 'Old', 'Timer', '00042', '1') RETURNING *`);
      expect(old.rows[0]).toMatchObject({
        display_name: 'Old Timer',
        full_name: 'Old Timer',
        _pgpact_new_zip: 42,
        email_lower: 'old@x.org',
        country: 'DE',
        tier: 'basic',
      });
      // New code: writes only the new columns (and omits the dropped fax).
      const neu =
        await c.query(`INSERT INTO shop.customer (email, display_name, full_name, _pgpact_new_zip, country)
        VALUES ('New@X.org', 'New Kid', 'New Kid', 7, 'IT') RETURNING *`);
      expect(neu.rows[0]).toMatchObject({
        fullname: 'New Kid',
        first: 'New',
        last: 'Kid',
        zip: '00007',
        fax: 'none',
        email_lower: 'new@x.org',
      });
      // Updates both ways.
      const u1 = await c.query(
        `UPDATE shop.customer SET zip = '00100', first = 'Grace' WHERE id = 1 RETURNING *`,
      );
      expect(u1.rows[0]).toMatchObject({ _pgpact_new_zip: 100, full_name: 'Grace Lovelace1' });
      const u2 = await c.query(
        `UPDATE shop.customer SET full_name = 'Alan Turing', _pgpact_new_zip = 5 WHERE id = 2 RETURNING *`,
      );
      expect(u2.rows[0]).toMatchObject({ first: 'Alan', last: 'Turing', zip: '00005' });
      const u3 = await c.query(
        `UPDATE shop.customer SET country = NULL WHERE id = 3 RETURNING country`,
      );
      expect(u3.rows[0].country).toBe('DE');
      await c.query(
        `INSERT INTO shop."Address Book" (id, "Straße und Nummer") VALUES (1001, 'Ringweg 3')`,
      );
      await c.query(
        `INSERT INTO shop."Address Book" (id, "Straße", "Nummer") VALUES (1002, 'Bergstraße', '9a')`,
      );
      const books = await c.query(`SELECT * FROM shop."Address Book" WHERE id > 1000 ORDER BY id`);
      expect(books.rows).toEqual([
        { id: 1001, 'Straße und Nummer': 'Ringweg 3', Straße: 'Ringweg', Nummer: '3' },
        { id: 1002, 'Straße und Nummer': 'Bergstraße 9a', Straße: 'Bergstraße', Nummer: '9a' },
      ]);
      // Constraints and indexes of the expand are in place and validated.
      const constraints = await c.query(
        `SELECT conname, convalidated FROM pg_constraint WHERE conname IN ('customer_email_key', 'review_customer_fk', 'tier_known') ORDER BY 1`,
      );
      expect(constraints.rows).toEqual([
        { conname: 'customer_email_key', convalidated: true },
        { conname: 'review_customer_fk', convalidated: true },
        { conname: 'tier_known', convalidated: true },
      ]);
      await expect(
        c.query(`INSERT INTO shop.customer (email, tier) VALUES ('x', 'platinum')`),
      ).rejects.toThrow(/tier_known/);
      const index = await c.query(
        `SELECT indisvalid FROM pg_index WHERE indexrelid = 'shop.customer_email_idx'::regclass`,
      );
      expect(index.rows[0].indisvalid).toBe(true);
      expect((await c.query(`SELECT count(*)::int AS n FROM shop.customer_emails`)).rows[0].n).toBe(
        232,
      );
    });

    // The test's own statements read the old columns as `postgres`, the admin pgpact runs as:
    // pgpact's own role is no consumer, so complete needs no --force.
    const completed = await completeMigration(url, { quietForMs: 0 });
    expect(completed.outcome).toBe('completed');
    expect(completed.forcedPast).toEqual([]);

    await withClient(url, async (c) => {
      expect(await columnsOf(c, 'shop', 'customer')).toEqual([
        'id',
        'email',
        'country',
        'tier',
        'email_lower',
        'display_name',
        'full_name',
        'zip',
      ]);
      expect(await columnsOf(c, 'shop', 'Address Book')).toEqual(['id', 'Straße', 'Nummer']);
      const attrs =
        await c.query(`SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE attrelid = 'shop.customer'::regclass AND attname IN ('zip', 'country', 'email_lower', 'display_name', 'tier') ORDER BY attname`);
      expect(attrs.rows).toEqual([
        { attname: 'country', type: 'text', attnotnull: true, def: null },
        { attname: 'display_name', type: 'text', attnotnull: true, def: "'anonymous'::text" },
        { attname: 'email_lower', type: 'text', attnotnull: true, def: null },
        { attname: 'tier', type: 'text', attnotnull: true, def: "'basic'::text" },
        { attname: 'zip', type: 'integer', attnotnull: false, def: null },
      ]);
      const row = await c.query(
        `SELECT full_name, zip, display_name FROM shop.customer WHERE id = 2`,
      );
      expect(row.rows[0]).toEqual({ full_name: 'Alan Turing', zip: 5, display_name: 'User 2' });
      expect(
        (await c.query(`SELECT obj_description('shop.customer'::regclass) AS d`)).rows[0].d,
      ).toBe('completed');
      expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
      const checks = await c.query(
        `SELECT conname FROM pg_constraint WHERE conname LIKE 'pgpact_nn%'`,
      );
      expect(checks.rows).toEqual([]);
      expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
      expect((await c.query('SELECT name, outcome FROM pgpact.migration_history')).rows).toEqual([
        { name: 'all-operations', outcome: 'completed' },
      ]);
    });
    expect(await startMigration(url, migration)).toMatchObject({ outcome: 'already-completed' });
    expect(await completeMigration(url, { name: 'all-operations' })).toMatchObject({
      outcome: 'already-completed',
    });
  });

  it('pgroll operations: a pgroll JSON file runs start and complete', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createPeople(c, 120));
    const migration = await loadMigration(fixture('pgroll-operations.json'));
    await startMigration(url, migration, { batchSize: 25 });
    await withClient(url, async (c) => {
      const wrong =
        await c.query(`SELECT id FROM people WHERE nickname IS DISTINCT FROM nick OR _pgpact_new_age IS DISTINCT FROM age::integer
        OR city IS NULL OR shout IS DISTINCT FROM upper(src) OR username IS DISTINCT FROM handle`);
      expect(wrong.rows).toEqual([]);
      expect(
        (await c.query(`SELECT count(*)::int AS n FROM people WHERE city = 'unknown'`)).rows[0].n,
      ).toBe(30);
      // New code does not write legacy (NOT NULL): its down fills it.
      const neu = await c.query(
        `INSERT INTO people (nickname, _pgpact_new_age, city, src, username) VALUES ('z', 33, 'Paris', 'q', 'zz') RETURNING *`,
      );
      expect(neu.rows[0]).toMatchObject({
        nick: 'z',
        age: '33',
        legacy: 'x',
        shout: 'Q',
        handle: 'zz',
      });
      await c.query(`INSERT INTO events (title) VALUES ('launch')`);
    });
    await completeMigration(url, { force: true });
    await withClient(url, async (c) => {
      expect(await columnsOf(c, 'public', 'people')).toEqual([
        'id',
        'city',
        'src',
        'nickname',
        'age',
        'shout',
        'username',
      ]);
      const age = await c.query(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'age'`,
      );
      expect(age.rows[0].t).toBe('integer');
      const idx = await c.query(
        `SELECT relname FROM pg_class WHERE relname IN ('people_city_idx', 'events_title_idx') ORDER BY 1`,
      );
      expect(idx.rows.map((r) => r.relname)).toEqual(['events_title_idx', 'people_city_idx']);
      await expect(c.query(`INSERT INTO people (city) VALUES (NULL)`)).rejects.toThrow(
        /null value in column "city"/,
      );
      expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
    });
  });
});
