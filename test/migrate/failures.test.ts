import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf, createAccounts, leftovers } from './helpers.js';

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

describeEachServer('a migration command that fails half way names the way out', (server) => {
  it('an up expression failing on some row stops the backfill: the error and status name start and rollback, and rollback works', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 40));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-fail-'));
    const file = path.join(dir, 'm.yaml');
    fs.writeFileSync(
      file,
      `name: divide
operations:
  - add_column:
      table: users.account
      column: { name: ratio, type: int, nullable: true }
      up: "100 / (id - 15)"
`,
    );
    const failed = await migrate('start', file, '--database-url', url);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('MIGRATION_FAILED');
    expect(failed.stderr).toMatch(
      /start of divide \(phase backfilling\) stopped: division by zero \(SQLSTATE 22012\)/,
    );
    expect(failed.stderr).toContain(
      `rerun pgpact migrate start ${file} to resume, or undo it with pgpact migrate rollback`,
    );

    const status = await migrate('status', '--database-url', url);
    expect(status.stdout).toContain('phase');
    expect(status.stdout).toMatch(
      /next: pgpact migrate start .* resumes the start, pgpact migrate rollback undoes it/,
    );

    const rolledBack = await migrate('rollback', '--database-url', url);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    await withClient(url, async (c) => {
      expect(await columnsOf(c, 'users', 'account')).toEqual([
        'id',
        'name',
        'street_and_number',
        'zip',
        'hits',
      ]);
      expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
