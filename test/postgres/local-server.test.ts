import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { describeEachServer } from '../helpers/postgres.js';

describeEachServer('a throwaway server', (server) => {
  it('answers, preloads pg_stat_statements and logs lock waits', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      const { rows } = await c.query<{ preload: string; lockwaits: string }>(
        "SELECT current_setting('shared_preload_libraries') AS preload, current_setting('log_lock_waits') AS lockwaits",
      );
      expect(rows[0]).toEqual({ preload: 'pg_stat_statements', lockwaits: 'on' });
      await c.query('SELECT count(*) FROM pg_stat_statements');
    });
  });

  it('snapshots the catalog: columns, view dependencies, column grants, role settings', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query(`
        CREATE SCHEMA "Users";
        CREATE TABLE "Users"."Account" (id serial PRIMARY KEY, "näme" text NOT NULL, zip text DEFAULT '0');
        CREATE VIEW "Users".v AS SELECT id, "näme" FROM "Users"."Account";
        DROP ROLE IF EXISTS cat_reader;
        CREATE ROLE cat_reader LOGIN CONNECTION LIMIT 3;
        ALTER ROLE cat_reader SET statement_timeout = '2s';
        GRANT SELECT (id) ON "Users"."Account" TO cat_reader;`);
      const catalog = await readCatalog(c);
      const account = catalog.relations.find((r) => r.name === 'Account')!;
      expect(account.columns.map((col) => [col.name, col.type, col.notNull, col.default ?? null])).toEqual([
        ['id', 'integer', true, "nextval('\"Users\".\"Account_id_seq\"'::regclass)"],
        ['näme', 'text', true, null],
        ['zip', 'text', false, "'0'::text"],
      ]);
      expect(account.columns[0]!.grants).toEqual([{ grantee: 'cat_reader', privilege: 'SELECT', grantable: false }]);
      expect(account.constraints.map((k) => k.type)).toEqual(['p']);
      const view = catalog.relations.find((r) => r.name === 'v')!;
      expect(view.dependsOn).toEqual([{ schema: 'Users', name: 'Account', columns: ['id', 'näme'] }]);
      const role = catalog.roles.find((r) => r.name === 'cat_reader')!;
      expect(role).toMatchObject({ connectionLimit: 3, canLogin: true, superuser: false, settings: { statement_timeout: '2s' } });
      expect(catalog.relations.some((r) => r.name === 'pg_stat_statements')).toBe(false);
      await c.query('DROP OWNED BY cat_reader; DROP ROLE cat_reader');
    });
  });
});
