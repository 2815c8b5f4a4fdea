import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf, createAccounts, fixture, leftovers } from './helpers.js';

async function migrate(...args: string[]) {
  const o = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out(text: string) {
      o.stdout += text;
    },
    err(text: string) {
      o.stderr += text;
    },
  } satisfies Output & { stdout: string; stderr: string };
  const code = await runCommand(['migrate', ...args], o);
  return { code, stdout: o.stdout, stderr: o.stderr };
}

function migrationFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-rollback-'));
  const file = path.join(dir, 'm.yaml');
  fs.writeFileSync(file, text);
  return file;
}

const ORIGINAL = ['id', 'name', 'street_and_number', 'zip', 'hits'];

async function phase(url: string): Promise<string | undefined> {
  return withClient(
    url,
    async (c) => (await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase,
  );
}

describeEachServer(
  'rollback and complete check what depends on what they drop before they drop anything',
  (server) => {
    it('a view on a new column: refused (exit 1) naming it, nothing changed; start and complete still run; rerun works once it is gone', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 30));
      const file = fixture('split-street.yaml');
      expect((await migrate('start', file, '--database-url', url)).code).toBe(0);
      await withClient(url, (c) =>
        c.query('CREATE VIEW public.streets AS SELECT street FROM users.account'),
      );

      const refused = await migrate('rollback', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('MIGRATION_BLOCKED');
      expect(refused.stderr).toContain(
        'view streets depends on column street of table users.account',
      );
      expect(refused.stderr).toMatch(
        /drop or redefine view streets first, then run pgpact migrate rollback again/,
      );
      expect(await phase(url)).toBe('active');
      // Nothing was changed: start answers as before.
      expect((await migrate('start', file, '--database-url', url)).stdout).toMatch(
        /already started/,
      );

      await withClient(url, (c) => c.query('DROP VIEW public.streets'));
      const done = await migrate('rollback', '--database-url', url);
      expect(done.code, done.stderr).toBe(0);
      await withClient(url, async (c) => {
        expect(await columnsOf(c, 'users', 'account')).toEqual(ORIGINAL);
        expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
      });
    });

    it('a foreign key onto a created table, and a unique index it built: refused naming each', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 10));
      const file = migrationFile(`name: with-table
operations:
  - create_table:
      table: users.plan
      columns: [{ name: id, type: int, pk: true }]
  - add_column: { table: users.account, column: { name: code, type: text, nullable: true } }
  - add_constraint: { table: users.account, name: account_code_key, type: unique, columns: [code] }
`);
      expect((await migrate('start', file, '--database-url', url)).code).toBe(0);
      await withClient(url, (c) =>
        c.query(`CREATE TABLE public.subscription (plan_id int REFERENCES users.plan (id), zip text);
               CREATE TABLE public.coupon (code text REFERENCES users.account (code))`),
      );
      const refused = await migrate('rollback', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(
        'constraint subscription_plan_id_fkey of subscription depends on column id of table users.plan',
      );
      expect(refused.stderr).toContain(
        'constraint coupon_code_fkey of coupon depends on index users.account_code_key',
      );
      expect(await phase(url)).toBe('active');
      await withClient(url, (c) => c.query('DROP TABLE public.subscription, public.coupon'));
      expect((await migrate('rollback', '--database-url', url)).code).toBe(0);
      await withClient(url, async (c) => {
        expect(await columnsOf(c, 'users', 'account')).toEqual(ORIGINAL);
        expect((await c.query(`SELECT to_regclass('users.plan') AS t`)).rows[0].t).toBeNull();
      });
    });

    it("the migration's own view goes with its sql down; another one stops the rollback after the downs, and status names the way out", async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 30));
      const file = migrationFile(`name: with-view
operations:
  - split_column:
      table: users.account
      from: street_and_number
      to:
        - { name: street, type: text, up: "split_part(street_and_number, ' ', 1)" }
        - { name: number, type: text, up: "split_part(street_and_number, ' ', 2)" }
      down: "street || ' ' || number"
  - sql:
      up: CREATE VIEW users.streets AS SELECT street FROM users.account
      down: DROP VIEW users.streets
`);
      expect((await migrate('start', file, '--database-url', url)).code).toBe(0);
      await withClient(url, (c) =>
        c.query('CREATE VIEW public.numbers AS SELECT number FROM users.account'),
      );
      const refused = await migrate('rollback', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(
        'view numbers depends on column number of table users.account',
      );
      expect(refused.stderr).not.toContain('streets');
      expect(await phase(url)).toBe('rolling_back');

      const status = await migrate('status', '--database-url', url);
      expect(status.stdout).toContain(
        'rollback blocked: view numbers depends on column number of table users.account',
      );
      expect(status.stdout).toContain('next: pgpact migrate rollback finishes the rollback');
      // What status names works once the view is gone.
      await withClient(url, (c) => c.query('DROP VIEW public.numbers'));
      const done = await migrate('rollback', '--database-url', url);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/rolled back \(resumed\)/);
      await withClient(url, async (c) => {
        expect(await columnsOf(c, 'users', 'account')).toEqual(ORIGINAL);
        expect((await c.query(`SELECT to_regclass('users.streets') AS v`)).rows[0].v).toBeNull();
      });
    });

    it('an interrupted complete meets a view created since its check: refused naming it, status names complete, which finishes once it is gone', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 30));
      expect(
        (await migrate('start', fixture('split-street.yaml'), '--database-url', url)).code,
      ).toBe(0);
      // As if complete had passed its check and been interrupted, and a view appeared meanwhile.
      await withClient(url, (c) =>
        c.query(`UPDATE pgpact.migrations SET phase = 'completing';
               CREATE VIEW public.addresses AS SELECT street_and_number FROM users.account`),
      );
      const refused = await migrate('complete', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('MIGRATION_BLOCKED');
      expect(refused.stderr).toContain('public.addresses');
      expect(refused.stderr).toContain('--force cannot drop what they depend on');
      const status = await migrate('status', '--database-url', url);
      expect(status.stdout).toContain('next: pgpact migrate complete finishes the complete');
      await withClient(url, (c) => c.query('DROP VIEW public.addresses'));
      const done = await migrate('complete', '--database-url', url);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/completed \(resumed\)/);
    });

    it('complete: a policy on an old column blocks even --force, naming it; nothing changes until it is gone', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 30));
      expect(
        (await migrate('start', fixture('split-street.yaml'), '--database-url', url)).code,
      ).toBe(0);
      await withClient(url, (c) =>
        c.query(`ALTER TABLE users.account ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY has_address ON users.account USING (street_and_number IS NOT NULL)`),
      );
      const refused = await migrate('complete', '--force', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(
        'policy has_address on table users.account (dependency): reads column street_and_number of table users.account',
      );
      expect(await phase(url)).toBe('active');
      const status = await migrate('status', '--database-url', url);
      expect(status.stdout).toContain(
        'complete: blocked by policy has_address on table users.account',
      );
      await withClient(url, (c) => c.query('DROP POLICY has_address ON users.account'));
      expect((await migrate('complete', '--database-url', url)).code).toBe(0);
    });

    it('complete: a view on a column whose type changes under the same name blocks, naming it', async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createAccounts(c, 30));
      const file = migrationFile(`name: wider-hits
operations:
  - change_type: { table: users.account, column: hits, type: bigint, up: "hits::bigint", down: "hits::int" }
`);
      expect((await migrate('start', file, '--database-url', url)).code).toBe(0);
      await withClient(url, (c) =>
        c.query('CREATE VIEW public.busy AS SELECT id, hits FROM users.account'),
      );
      const refused = await migrate('complete', '--database-url', url);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('view busy');
      expect(refused.stderr).toContain('column hits of table users.account');
      expect(await phase(url)).toBe('active');
      await withClient(url, (c) => c.query('DROP VIEW public.busy'));
      expect((await migrate('complete', '--database-url', url)).code).toBe(0);
      await withClient(url, async (c) => {
        const type = await c.query(
          `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'users.account'::regclass AND attname = 'hits'`,
        );
        expect(type.rows).toEqual([{ t: 'bigint' }]);
      });
    });
  },
);
