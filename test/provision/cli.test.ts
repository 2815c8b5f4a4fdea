import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir, writeProject } from './fixtures.js';

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out: (t: string) => {
      o.stdout += t;
    },
    err: (t: string) => {
      o.stderr += t;
    },
  };
  return o;
}

async function pgpact(...argv: string[]) {
  const output = capture();
  const code = await runCommand(argv, output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

const MANIFEST = `version: 1
services:
  users:
    role: cli_users
    owns: [users]
    migrations: migrations/users
    limits: { connections: 10, statement_timeout: 5s }
  invoicing:
    role: cli_invoicing
    owns: [invoicing]
    reads:
      users.account: [id, name]
`;

let home: string | undefined;
beforeAll(() => {
  home = process.env.PGPACT_HOME;
  process.env.PGPACT_HOME = tempDir();
});
afterAll(() => {
  if (home === undefined) delete process.env.PGPACT_HOME;
  else process.env.PGPACT_HOME = home;
});

describeEachServer('pgpact plan / apply', (server) => {
  it('plan prints the ordered SQL and findings, apply provisions, then plan has nothing to do', async () => {
    const url = await server().createDatabase();
    const dir = writeProject({
      'pgpact.yaml': MANIFEST,
      'migrations/users/001_account.sql':
        'CREATE TABLE account (id serial PRIMARY KEY, name text, secret text);',
    });
    const config = path.join(dir, 'pgpact.yaml');
    await withClient(url, (c) => c.query('CREATE TABLE public.legacy_audit_log (id int)'));

    const plan = await pgpact('plan', '--config', config, '--database-url', url);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(
      'CREATE ROLE "cli_users" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD \'<redacted>\';',
    );
    expect(plan.stdout).toContain(
      `ALTER ROLE "cli_users" IN DATABASE "${new URL(url).pathname.slice(1)}" SET statement_timeout = '5000ms';`,
    );
    expect(plan.stdout).toContain('--   users/001_account.sql');
    expect(plan.stdout).toContain(
      '--   warning unowned-table public.legacy_audit_log: table public.legacy_audit_log (owner postgres) belongs to no service',
    );
    expect(plan.stdout.indexOf('CREATE ROLE')).toBeLessThan(plan.stdout.indexOf('CREATE SCHEMA'));
    expect(plan.stdout).not.toContain(new URL(url).password);

    const json = await pgpact(
      'plan',
      '--config',
      config,
      '--database-url',
      url,
      '--json',
      '--check',
    );
    expect(json.code).toBe(1);
    const data = JSON.parse(json.stdout) as {
      steps: { kind: string; sql: string; reason: string }[];
      findings: { kind: string }[];
      pendingMigrations: string[];
    };
    expect(data.steps[0]).toEqual({
      kind: 'create-role',
      sql: 'CREATE ROLE "cli_users" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD \'<redacted>\'',
      reason: 'service users connects with its own login role',
    });
    expect(data.findings.map((f) => f.kind)).toContain('unowned-schema');
    expect(data.pendingMigrations).toEqual(['users/001_account.sql']);

    const apply = await pgpact('apply', '--config', config, '--database-url', url);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^applied \d+ step\(s\) on postgresql:\/\/postgres:\*\*\*@/);
    expect(apply.stdout).toContain('ran 1 migration file(s):\n  users/001_account.sql');
    expect(apply.stdout).toContain('the database matches the manifest');
    expect(apply.stdout).toContain('warning unowned-table public.legacy_audit_log');
    expect(apply.stderr).toContain('create-role: service users connects with its own login role');
    expect(apply.stdout + apply.stderr).not.toContain(
      new URL(serviceUrl(url, 'cli_users')).password,
    );

    const after = await pgpact('plan', '--config', config, '--database-url', url, '--check');
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^-- nothing to do: /);

    const again = await pgpact('apply', '--config', config, '--database-url', url, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ steps: [], migrations: [], rounds: 1 });
  });

  it('bad input exits 2 with the reason; a failing migration names its file and line', async () => {
    const url = await server().createDatabase();
    const missing = await pgpact(
      'plan',
      '--config',
      path.join(tempDir(), 'nope.yaml'),
      '--database-url',
      url,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error \[CONFIG_NOT_FOUND\]: manifest .*nope\.yaml not found/);

    const dir = writeProject({
      'pgpact.yaml':
        'version: 1\nservices:\n  users:\n    role: cli2_users\n    owns: [users]\n    migrations: m\n',
      'm/1.sql': 'CREATE TABLE account (id int);\nSELECT nope FROM account;\n',
    });
    const failed = await pgpact(
      'apply',
      '--config',
      path.join(dir, 'pgpact.yaml'),
      '--database-url',
      url,
      '--quiet',
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(
      'error [MIGRATION_FAILED]: migration users/1.sql failed at line 2, column 8: column "nope" does not exist',
    );
    expect(failed.stderr).toContain(
      `${path.join(dir, 'm', '1.sql')}:2:8: column "nope" does not exist [SQLSTATE 42703]`,
    );
    expect(failed.stderr).toContain('    SELECT nope FROM account;\n           ^');
    expect(failed.stderr).not.toContain('    at ');

    const help = await pgpact('plan', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('exit codes: 0 planned');
  });
});
