import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { checkIn } from './run-check-cli.js';

const check = checkIn;

/** A one-schema monolith checked against its schema dump (--base), as a brownfield team starts. */
function monolith(dump: string): string {
  const dir = tempDir('pgpact-check-base-');
  fs.writeFileSync(
    path.join(dir, 'pgpact.yaml'),
    'version: 1\nservices:\n  users:\n    owns: [public.accounts]\n',
  );
  fs.writeFileSync(path.join(dir, 'dump.sql'), dump);
  fs.writeFileSync(
    path.join(dir, 'new.sql'),
    'ALTER TABLE public.accounts ADD COLUMN note text;\n',
  );
  return dir;
}

it('check --base: an error Postgres gives no position for (an extension the shadow lacks) points at its statement, not at line 1', async () => {
  const dir = monolith(
    '-- the monolith, dumped\nCREATE TABLE public.accounts (id bigint PRIMARY KEY);\n\nCREATE EXTENSION IF NOT EXISTS no_such_extension_here;\nCREATE TABLE public.notes (id bigint);\n',
  );
  const r = await check(dir, '--base', 'dump.sql', 'new.sql');
  expect(r.code).toBe(2);
  expect(r.text).toContain('dump.sql:4:1: extension "no_such_extension_here" is not available');
  expect(r.text).toContain('CREATE EXTENSION IF NOT EXISTS no_such_extension_here;\n  ^');
});

it('check --base: in a dump with CREATE SCHEMA (parsed first), a missing role is named at its line', async () => {
  const dir = monolith(
    'CREATE SCHEMA reports;\nCREATE TABLE public.accounts (id bigint PRIMARY KEY);\n-- owner of the dump\n  ALTER TABLE public.accounts OWNER TO no_such_role_here;\n',
  );
  const r = await check(dir, '--base', 'dump.sql', 'new.sql');
  expect(r.code).toBe(2);
  expect(r.text).toContain('dump.sql:4:3: role "no_such_role_here" does not exist');
});

it('check --base: in a shared schema, the tables an owns: pattern matches belong to that service in the shadow too (a dump names no owner): its own DDL (a partitioned table’s too: each partition is given) is no ownership violation, DDL on another service’s table is', async () => {
  const dir = monolith(
    "CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text);\nCREATE TABLE public.account_emails (id bigserial PRIMARY KEY, account_id bigint REFERENCES public.accounts);\nCREATE TABLE public.invoices (id bigint PRIMARY KEY);\nCREATE TABLE public.account_logins (id bigint, at date NOT NULL) PARTITION BY RANGE (at);\nCREATE TABLE public.account_logins_2026 PARTITION OF public.account_logins FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n",
  );
  fs.writeFileSync(
    path.join(dir, 'pgpact.yaml'),
    'version: 1\nservices:\n  users:\n    owns: [public.account*]\n  billing:\n    owns: [public.invoices]\n',
  );
  fs.writeFileSync(
    path.join(dir, 'new.sql'),
    "SET lock_timeout = '1s';\nALTER TABLE public.accounts ADD COLUMN note text;\nALTER TABLE public.account_emails ADD COLUMN verified boolean;\nALTER SEQUENCE public.account_emails_id_seq CACHE 10;\nALTER TABLE public.account_logins ADD COLUMN ip inet;\n",
  );
  const own = await check(dir, '--base', 'dump.sql', '--service', 'users', 'new.sql');
  expect(own.text).not.toContain('ownership-violation');
  expect(own.code).toBe(0);
  fs.writeFileSync(
    path.join(dir, 'other.sql'),
    "SET lock_timeout = '1s';\nALTER TABLE public.invoices ADD COLUMN note text;\n",
  );
  const other = await check(dir, '--base', 'dump.sql', '--service', 'users', 'other.sql');
  expect(other.code).toBe(1);
  expect(other.text).toMatch(/ownership-violation\s+public\.invoices/);
  expect(other.text).toContain('belongs to billing');
  // Refused for users, run as the admin so the rest is assessed: the column it added is
  // reported too, and the violation says why.
  expect(other.text).toContain(
    'check ran it as the admin to see what the rest of the migration does',
  );
  expect(other.text).toMatch(/column-added\s+public\.invoices\.note/);
});
