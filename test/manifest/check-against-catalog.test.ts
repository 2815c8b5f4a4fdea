import { expect, it } from 'vitest';
import { checkManifestAgainstCatalog } from '../../src/manifest/check-against-catalog.js';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { describeEachServer } from '../helpers/postgres.js';

const MANIFEST = [
  'version: 1', // 1
  'services:', // 2
  '  users:', // 3
  '    owns: [users]', // 4
  '  invoicing:', // 5
  '    owns: [invoicing]', // 6
  '    reads:', // 7
  '      users.account: [id, name, street, Straße]', // 8
  '      users.Account: [id]', // 9
  '      users.account_view: [id]', // 10
  '    writes:', // 11
  '      users.account: [nme]', // 12
  '  Fakturierung Ü:', // 13
  '    owns: ["Mein Schema", leer, not_yet]', // 14
  '    reads:', // 15
  '      \'"users"."Tab.le"\': [id]', // 16
  '      users.accounts: "*"', // 17
  '      invoicing.invoice: "*"', // 18
  '  reporting:', // 19
  '    reads:', // 20
  '      \'"Mein Schema"."Tab.le"\': ["Haus Nr", haus nr]', // 21
  '      leer.anything: [x]', // 22
  '      not_yet.t: [x]', // 23
  '      invoicing.invoices: [id]', // 24
].join('\n');

describeEachServer('contracts against the live catalog', (server) => {
  it('reports missing tables and columns where they are declared, with the closest existing name', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query(`
        CREATE SCHEMA users;
        CREATE TABLE users.account (id bigint PRIMARY KEY, name text, "Straße" text);
        CREATE VIEW users.account_view AS SELECT id FROM users.account;
        CREATE SCHEMA invoicing;
        CREATE TABLE invoicing.invoice (id bigint PRIMARY KEY, total numeric);
        CREATE SCHEMA "Mein Schema";
        CREATE TABLE "Mein Schema"."Tab.le" ("Haus Nr" text);
        CREATE SCHEMA leer;`);
      const catalog = await readCatalog(c);
      const manifest = parseManifest(MANIFEST, 'pgpact.yaml');
      const problems = checkManifestAgainstCatalog(manifest, catalog);
      expect(problems.map((p) => [p.code, p.file, p.line, p.column, p.hint])).toEqual([
        [
          'CONTRACT_COLUMN_MISSING',
          'pgpact.yaml',
          8,
          33,
          expect.stringContaining('existing columns: id, name, Straße'),
        ],
        ['CONTRACT_TABLE_MISSING', 'pgpact.yaml', 9, 7, 'did you mean `users.account`?'],
        ['CONTRACT_COLUMN_MISSING', 'pgpact.yaml', 12, 23, 'did you mean `name`?'],
        ['CONTRACT_TABLE_MISSING', 'pgpact.yaml', 16, 7, 'did you mean `"Mein Schema"."Tab.le"`?'],
        ['CONTRACT_TABLE_MISSING', 'pgpact.yaml', 17, 7, 'did you mean `users.account`?'],
        ['CONTRACT_COLUMN_MISSING', 'pgpact.yaml', 21, 45, 'did you mean `Haus Nr`?'],
        ['CONTRACT_TABLE_MISSING', 'pgpact.yaml', 24, 7, 'did you mean `invoicing.invoice`?'],
      ]);
      expect(problems[1]!.message).toBe(
        'service `invoicing` reads `users.Account`, which does not exist in the database',
      );
      expect(problems[5]!.message).toContain('column `haus nr` of `"Mein Schema"."Tab.le"`');
    });
  });

  it('finds nothing to report when every declared table and column exists', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query(`
        CREATE SCHEMA "Users";
        CREATE TABLE "Users"."Account ""A""" (id int, "e-mail" text);`);
      const manifest = parseManifest(
        'version: 1\nservices:\n  a: { owns: [Users] }\n  b:\n    reads:\n      \'Users."Account ""A"""\': [id, e-mail]\n    writes:\n      \'Users."Account ""A"""\': "*"\n',
        'pgpact.yaml',
      );
      expect(checkManifestAgainstCatalog(manifest, await readCatalog(c))).toEqual([]);
    });
  });
});
