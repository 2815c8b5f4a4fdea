import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf, createAccounts, fixture } from './helpers.js';

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

async function migrate(...args: string[]) {
  const o = capture();
  const code = await runCommand(['migrate', ...args], o);
  return { code, stdout: o.stdout, stderr: o.stderr };
}

describeEachServer('complete without evidence of who reads the old shape', (server) => {
  it('start warns, status says why, complete refuses (exit 1) until pg_stat_statements can be read', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query('DROP EXTENSION pg_stat_statements');
      await createAccounts(c, 50);
    });
    const start = await migrate('start', fixture('split-street.yaml'), '--database-url', url);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toMatch(
      /warning: observed consumers cannot be checked: .*pg_stat_statements/,
    );
    expect(start.stderr).toMatch(/complete will refuse without --force/);

    const status = await migrate('status', '--database-url', url);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      /observed consumers: not checked \(pg_stat_statements was not readable .*: pg_stat_statements is not available/,
    );
    expect(status.stdout).toMatch(/complete: refused until observed consumers can be checked/);

    const refused = await migrate('complete', '--database-url', url);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('MIGRATION_UNVERIFIED');
    expect(refused.stderr).toContain('shared_preload_libraries');
    expect(refused.stderr).toContain('pg_read_all_stats');
    expect(refused.stderr).toContain('--force');
    await withClient(url, async (c) => {
      expect(await columnsOf(c, 'users', 'account')).toContain('street_and_number');
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows).toEqual([
        { phase: 'active' },
      ]);
    });

    // The way out: install it; the next status starts observing, and complete then has its evidence.
    await withClient(url, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
    const observing = await migrate('status', '--database-url', url);
    expect(observing.stdout).toMatch(/became readable only now; consumers are observed from/);
    const done = await migrate('complete', '--database-url', url);
    expect(done.code, done.stderr).toBe(0);
    await withClient(url, async (c) => {
      expect(await columnsOf(c, 'users', 'account')).not.toContain('street_and_number');
    });
  });

  it('--force completes without the evidence and says so', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query('DROP EXTENSION pg_stat_statements');
      await createAccounts(c, 20);
    });
    expect((await migrate('start', fixture('split-street.yaml'), '--database-url', url)).code).toBe(
      0,
    );
    const forced = await migrate('complete', '--force', '--database-url', url);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/forced past unchecked observed consumers: .*pg_stat_statements/);
  });

  it('pg_stat_statements loaded but counting nothing (track = none) is no evidence either', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      const db = (await c.query('SELECT current_database() AS d')).rows[0].d;
      await c.query(`ALTER DATABASE "${db}" SET pg_stat_statements.track = 'none'`);
      await createAccounts(c, 20);
    });
    const start = await migrate('start', fixture('split-street.yaml'), '--database-url', url);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/warning: .*pg_stat_statements.track is 'none'/);
    const refused = await migrate('complete', '--database-url', url);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('MIGRATION_UNVERIFIED');
  });
});
