/**
 * `pgpact plan` prints SQL with comments that quote names: from the manifest, from the
 * database's catalog and from migration file names. None of them may end a comment, so
 * the text is safe to pipe into psql: only the plan's own statements run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir, writeProject } from './fixtures.js';

const PSQL = '/usr/lib/postgresql/15/bin/psql';

async function pgpact(...argv: string[]) {
  const o = { stdout: '', stderr: '', isTTY: false } as Output & { stdout: string; stderr: string };
  o.out = (t: string) => {
    o.stdout += t;
  };
  o.err = (t: string) => {
    o.stderr += t;
  };
  const code = await runCommand(argv, o);
  return { code, stdout: o.stdout, stderr: o.stderr };
}

let home: string | undefined;
beforeAll(() => {
  home = process.env.PGPACT_HOME;
  process.env.PGPACT_HOME = tempDir();
});
afterAll(() => {
  if (home === undefined) delete process.env.PGPACT_HOME;
  else process.env.PGPACT_HOME = home;
});

describeEachServer('plan text piped into psql', (server) => {
  it.skipIf(!fs.existsSync(PSQL))(
    'runs only the plan: names from the catalog and from file names stay inside their comments',
    async () => {
      const url = await server().createDatabase();
      const marker = path.join(tempDir(), 'psql-ran-a-meta-command');
      // Each payload, if it escaped its comment, would create a table or run a shell command.
      const payloads = [
        `a\nCREATE TABLE injected_lf ();\n-- `,
        `b\rCREATE TABLE injected_cr ();\r-- `,
        `c\n\\! touch ${marker}\n-- `,
        `d\u2028CREATE TABLE injected_ls ();\u2028-- `,
        `e\u0085CREATE TABLE injected_nel ();\u0085-- `,
      ];
      await withClient(url, async (c) => {
        await c.query('CREATE SCHEMA users');
        for (const [i, p] of payloads.entries()) {
          // In a managed schema (alter-owner and revoke reasons), in public (unowned-table
          // findings), and as a role outside the manifest (unused-role findings).
          await c.query(`CREATE TABLE users.${quoteIdent(p)} (id int)`);
          await c.query(`CREATE TABLE public.${quoteIdent(p)} (id int)`);
          await c.query(`CREATE ROLE ${quoteIdent(`pt_${i}_${p}`)}`);
          await c.query(`GRANT SELECT ON users.${quoteIdent(p)} TO ${quoteIdent(`pt_${i}_${p}`)}`);
        }
      });
      const dir = writeProject({
        'pgpact.yaml':
          'version: 1\nservices:\n  users:\n    role: pt_users\n    owns: [users]\n    migrations: m\n',
        'm/001_x\nCREATE TABLE injected_file ();\n-- .sql': 'SELECT 1;',
      });
      const plan = await pgpact(
        'plan',
        '--config',
        path.join(dir, 'pgpact.yaml'),
        '--database-url',
        url,
      );
      expect(plan.stderr).toBe('');
      expect(plan.code).toBe(0);
      const psqlOut = execFileSync(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url], {
        input: plan.stdout,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      expect(psqlOut).not.toContain('INJECTED');
      expect(fs.existsSync(marker)).toBe(false);
      const injected = await withClient(url, (c) =>
        c.query<{ name: string }>(
          `SELECT relname AS name FROM pg_class WHERE relname LIKE 'injected%' ORDER BY 1`,
        ),
      );
      expect(injected.rows).toEqual([]);
      // Every line is a comment, one whole statement of the plan, or empty: names holding
      // line breaks are printed as Unicode escapes (U&"a\000A..."), which Postgres reads back.
      const statements = plan.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('-- '));
      expect(statements.length).toBeGreaterThan(10);
      for (const line of statements)
        expect(line).toMatch(/^(CREATE|ALTER|REVOKE|GRANT) [^\r\u2028\u0085]*;$/);
      expect(plan.stdout).toContain('\\u000aCREATE TABLE injected_lf ();\\u000a');
      expect(plan.stdout).toContain(
        'ALTER TABLE "users".U&"a\\000aCREATE TABLE injected_lf ();\\000a-- " OWNER TO "pt_users";',
      );

      // The plan itself did run, every statement of it (ON_ERROR_STOP), escaped names included.
      const owners = await withClient(url, (c) =>
        c.query<{ owner: string }>(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'users'::regnamespace`,
        ),
      );
      expect(owners.rows).toEqual([{ owner: 'pt_users' }]);
    },
  );

  it('refuses a service name holding a newline before it reaches any SQL (exit 2, file:line:col)', async () => {
    const url = await server().createDatabase();
    const dir = writeProject({
      'pgpact.yaml': `version: 1\nservices:\n  "shop\\nSELECT 'INJECTED';":\n    role: pt_shop\n`,
    });
    const plan = await pgpact(
      'plan',
      '--config',
      path.join(dir, 'pgpact.yaml'),
      '--database-url',
      url,
    );
    expect(plan.code).toBe(2);
    expect(plan.stdout).toBe('');
    expect(plan.stderr).toMatch(
      /pgpact\.yaml:3:3: service name contains the control character \\u000a/,
    );
    expect(plan.stderr).not.toMatch(/\nSELECT 'INJECTED'/);
  });

  it('a failing migration whose file name holds a newline and an escape is named escaped', async () => {
    const url = await server().createDatabase();
    const dir = writeProject({
      'pgpact.yaml':
        'version: 1\nservices:\n  users:\n    role: pt_mig_users\n    owns: [users]\n    migrations: m\n',
      'm/001_x\n\u001b[2Jboom.sql': 'SELECT nosuch FROM nowhere;',
    });
    const apply = await pgpact(
      'apply',
      '--config',
      path.join(dir, 'pgpact.yaml'),
      '--database-url',
      url,
      '--quiet',
    );
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain(
      'migration users/001_x\\u000a\\u001b[2Jboom.sql failed at line 1',
    );
    expect(apply.stderr).not.toContain('\u001b');
  });
});
