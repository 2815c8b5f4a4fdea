import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { checkIn } from './run-check-cli.js';

const check = checkIn;

function project(base: string): string {
  const dir = tempDir('pgpact-check-secret-');
  fs.mkdirSync(path.join(dir, 'migrations', 'users'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'pgpact.yaml'),
    'version: 1\nservices:\n  users:\n    owns: [users]\n    migrations: migrations/users\n',
  );
  fs.writeFileSync(path.join(dir, 'migrations', 'users', '001_base.sql'), base);
  return dir;
}

it('check: a syntax error on a line setting a password shows where, not the password', async () => {
  const dir = project('CREATE SCHEMA users;\nCREATE TABLE users.account (id int PRIMARY KEY);\n');
  fs.writeFileSync(
    path.join(dir, '002_role.sql'),
    "CREATE TABLE users.note (id int);\nCREATE ROLE billing LOGIN PASSWORD 'hunter2-syntax' NOPE;\n",
  );
  const r = await check(dir, '002_role.sql');
  expect(r.code).toBe(2);
  expect(r.text).toContain('002_role.sql:2');
  expect(r.text).toContain('withheld');
  expect(r.text).not.toContain('hunter2-syntax');
}, 120_000);

it('check: a base migration failing on ALTER ROLE ... PASSWORD is reported without the password', async () => {
  const dir = project("ALTER ROLE no_such_role PASSWORD 'hunter2-base';\nCREATE SCHEMA users;\n");
  fs.writeFileSync(path.join(dir, '002_note.sql'), 'CREATE TABLE users.note (id int);\n');
  const r = await check(dir, '002_note.sql');
  expect(r.code).toBe(2);
  expect(r.text).toContain('no_such_role');
  expect(r.text).not.toContain('hunter2-base');
}, 120_000);
