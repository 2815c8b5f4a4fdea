import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { connect, withClient } from '../../src/postgres/client.js';
import { scramVerifier } from '../../src/provision/scram.js';
import { deadlockProcesses } from '../../src/runtime/log-events.js';
import { loadParser } from '../../src/sql/parse.js';
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

const PLAIN = 'hunter2-in-top';
const VERIFIER = scramVerifier('verifier-in-top');

describeEachServer('top never shows a statement text carrying a password', (server) => {
  it('a session idle in transaction after ALTER ROLE ... PASSWORD, and statements setting verifiers', async () => {
    const url = await server().createDatabase('secret_top');
    await withClient(url, (c) =>
      c.query(`DROP ROLE IF EXISTS top_svc_a; DROP ROLE IF EXISTS top_svc_b;
        CREATE ROLE top_svc_a LOGIN; CREATE ROLE top_svc_b LOGIN`),
    );
    const idle = await connect(url, { applicationName: 'admin-console' });
    const busy = await connect(url, { applicationName: 'password-rotation' });
    let stop = false;
    try {
      await idle.query('BEGIN');
      await idle.query(`ALTER ROLE top_svc_a PASSWORD '${PLAIN}'`);
      // A rotation job setting verifiers while top samples (pg_stat_statements keeps utility texts).
      const rotation = (async () => {
        while (!stop) await busy.query(`ALTER ROLE top_svc_b PASSWORD '${VERIFIER}'`);
      })();
      const o = capture();
      const code = await runCommand(
        ['top', '--once', '--json', '--interval', '500ms', '--database-url', url],
        o,
      );
      stop = true;
      await rotation;
      expect(code).toBeLessThanOrEqual(1);
      const report = JSON.parse(o.stdout) as {
        sample: { sessions: { applicationName: string; query: string }[] };
      };
      const admin = report.sample.sessions.find((s) => s.applicationName === 'admin-console');
      expect(admin?.query).toContain('pgpact withheld this statement');
      const text = o.stdout + o.stderr;
      expect(text).not.toContain(PLAIN);
      expect(text).not.toContain(VERIFIER);
      const plain = capture();
      await runCommand(['top', '--once', '--interval', '200ms', '--database-url', url], plain);
      expect(plain.stdout + plain.stderr).not.toContain(PLAIN);
    } finally {
      stop = true;
      await idle.query('ROLLBACK').catch(() => undefined);
      await idle.end();
      await busy.end();
    }
  }, 60_000);
});

it('a deadlock report from the server log withholds a query carrying a password', async () => {
  await loadParser();
  const processes = deadlockProcesses(
    [
      'Process 11 waits for ShareLock on transaction 5; blocked by process 12.',
      'Process 12 waits for ShareLock on transaction 6; blocked by process 11.',
      `Process 11: ALTER ROLE a PASSWORD '${VERIFIER}'`,
      'Process 12: UPDATE t SET x = 1',
    ].join('\n'),
  );
  expect(processes[0]!.query).not.toContain('SCRAM');
  expect(processes[0]!.query).toContain('pgpact withheld');
  expect(processes[1]!.query).toBe('UPDATE t SET x = 1');
});
