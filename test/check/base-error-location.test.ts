import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { tempDir } from '../helpers/temp-dir.js';

async function check(dir: string, ...args: string[]) {
  const o = { out: '', err: '' };
  const output: Output = {
    out: (t) => {
      o.out += t;
    },
    err: (t) => {
      o.err += t;
    },
    isTTY: false,
  };
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const code = await runCommand(['check', '--config', 'pgpact.yaml', ...args], output);
    return { code, text: o.out + o.err };
  } finally {
    process.chdir(cwd);
  }
}

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
