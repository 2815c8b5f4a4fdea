import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { DEMO_CHAPTERS } from '../../src/demo/chapters/index.js';
import type { DemoReport } from '../../src/demo/run-demo.js';
import { describeEachServer } from '../helpers/postgres.js';

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

const DEMO_ROLES = ['users', 'invoicing', 'reporting'];

describeEachServer('pgpact demo --database-url', (server) => {
  it('tells the story on the given server, then drops the database and roles it created', async () => {
    const output = capture();
    const code = await runCommand(
      ['demo', '--database-url', server().url, '--json', '--duration', '1'],
      output,
    );
    const report = JSON.parse(output.stdout) as DemoReport;
    expect(report.chapters.map((c) => [c.id, c.outcome, c.problems])).toEqual(
      DEMO_CHAPTERS.map((c) => [c.id, 'ok', []]),
    );
    expect(code).toBe(0);
    expect(report.serverKind).toBe('external');
    const left = await withClient(server().url, async (c) => ({
      databases: (await c.query(`SELECT datname FROM pg_database WHERE datname = 'pgpact_demo'`))
        .rows,
      roles: (await c.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [DEMO_ROLES]))
        .rows,
    }));
    expect(left).toEqual({ databases: [], roles: [] });
  });

  it('refuses to touch a role of the same name it did not create', async () => {
    await withClient(server().url, (c) => c.query('CREATE ROLE invoicing'));
    try {
      const output = capture();
      expect(await runCommand(['demo', '--database-url', server().url], output)).toBe(2);
      expect(output.stderr).toMatch(/already has role\(s\) invoicing the demo did not create/);
      const roles = await withClient(server().url, (c) =>
        c.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)`, [DEMO_ROLES]),
      );
      expect(roles.rows).toEqual([{ rolname: 'invoicing', rolcanlogin: false }]);
    } finally {
      await withClient(server().url, (c) => c.query('DROP ROLE invoicing'));
    }
  });
});
