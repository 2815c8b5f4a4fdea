import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { checkIn } from './run-check-cli.js';

const check = checkIn;

/** A monolith whose history is a Diesel folder (base/), billing reading users' accounts.name. */
function project(files: Record<string, string>): string {
  const dir = tempDir('pgpact-check-layouts-');
  const all: Record<string, string> = {
    'pgpact.yaml':
      'version: 1\nservices:\n  users:\n    owns: [public.accounts]\n  billing:\n    owns: [public.invoices]\n    reads:\n      public.accounts: [id, name]\n',
    'base/2019-01-01-000000_init/up.sql':
      'CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text);\nCREATE TABLE public.invoices (id bigint, account_id bigint);\n',
    'base/2019-01-01-000000_init/down.sql':
      'DROP TABLE public.invoices;\nDROP TABLE public.accounts;\n',
    'base/2019-02-01-000000_email/up.sql': 'ALTER TABLE public.accounts ADD COLUMN email text;\n',
    'base/2019-02-01-000000_email/down.sql': 'ALTER TABLE public.accounts DROP COLUMN email;\n',
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

it('check --base on a Diesel folder builds the schema from the up.sql files; down files named beside up files (a golang-migrate glob) are left out', async () => {
  const dir = project({
    'new/000003_rename.down.sql': 'ALTER TABLE public.accounts RENAME COLUMN full_name TO name;\n',
    'new/000003_rename.up.sql': 'ALTER TABLE public.accounts RENAME COLUMN name TO full_name;\n',
  });
  const r = await check(
    dir,
    '--base',
    'base',
    '--service',
    'users',
    'new/000003_rename.down.sql',
    'new/000003_rename.up.sql',
  );
  expect(r.text).toContain(
    'new/000003_rename.down.sql left out: a down migration (golang-migrate, sqlx), which never runs forward',
  );
  expect(r.text).not.toContain('empty-base');
  expect(r.text).toMatch(/BREAKING\s+\S+\s+public\.accounts\.name/);
  expect(r.text).toContain('billing');
  expect(r.code).toBe(1);
});

it('check of a goose file: only its Up section is checked, at the line it stands on (run whole, the Down would hide the drop)', async () => {
  const dir = project({
    'new/20240101_drop_name.sql':
      '-- +goose Up\nALTER TABLE public.accounts DROP COLUMN name;\n\n-- +goose Down\nALTER TABLE public.accounts ADD COLUMN name text;\n',
  });
  const r = await check(dir, '--base', 'base', '--service', 'users', 'new/20240101_drop_name.sql');
  expect(r.text).toMatch(
    /BREAKING\s+\S+\s+public\.accounts\.name\s+\(new\/20240101_drop_name\.sql:2\)/,
  );
  expect(r.code).toBe(1);
});

it('check --base with a folder holding no migration is a usage error, not an empty schema', async () => {
  const dir = project({ 'empty/README.md': 'nothing here', 'new/1.sql': 'SELECT 1;\n' });
  const r = await check(dir, '--base', 'empty', '--service', 'users', 'new/1.sql');
  expect(r.code).toBe(2);
  expect(r.text).toContain('--base empty holds no migration to run');
});
