import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

function capture(): Output & { stdout: string; stderr: string } {
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
  };
  return o;
}

describeEachServer('pgpact migrate over a pgroll-style folder', (server) => {
  it('start DIR takes the next file in order; status DIR says which are done', async () => {
    const url = await server().createDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-folder-'));
    fs.writeFileSync(
      path.join(dir, '02_add.yaml'),
      'operations:\n  - add_column: { table: notes, column: { name: body, type: text, nullable: true } }\n',
    );
    fs.writeFileSync(
      path.join(dir, '01_create.yaml'),
      'operations:\n  - create_table: { name: notes, columns: [{ name: id, type: serial, pk: true }] }\n',
    );
    const run = async (...args: string[]) => {
      const o = capture();
      const code = await runCommand(['migrate', ...args, '--database-url', url], o);
      return { code, ...o };
    };
    const first = await run('start', dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^01_create started/);
    const during = await run('status', dir);
    expect(during.stdout).toMatch(/in progress\s+01_create\npending\s+02_add\n/);
    expect((await run('complete', '--force')).code).toBe(0);
    const second = await run('start', dir);
    expect(second.stdout).toMatch(/^02_add started/);
    expect((await run('complete', '--force')).code).toBe(0);
    const after = await run('status', dir);
    expect(after.stdout).toMatch(
      /completed\s+01_create\ncompleted\s+02_add\nno migration in progress/,
    );
    const done = await run('start', dir);
    expect(done.code).not.toBe(0);
    expect(done.stderr).toMatch(/every migration of .* is completed/);
    await withClient(url, async (c) => {
      const { rows } = await c.query(`SELECT to_regclass('notes') IS NOT NULL AS ok`);
      expect(rows[0].ok).toBe(true);
    });
  });
});
