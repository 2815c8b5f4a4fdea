import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { loadMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { waitFor } from '../runtime/helpers.js';
import { createAccounts, fixture, runCli } from './helpers.js';

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

async function pace(
  url: string,
): Promise<{ rowsDone: number; throttledMs: number; throttledBy?: string }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT (backfill->'users.account'->>'rowsDone')::int AS "rowsDone",
              coalesce((backfill->'users.account'->'pace'->>'throttledMs')::float8, 0) AS "throttledMs",
              backfill->'users.account'->'pace'->>'throttledBy' AS "throttledBy"
       FROM pgpact.migrations`,
    );
    return rows[0];
  });
}

describeEachServer('pgpact migrate throttle | resume, progress and status', (server) => {
  it('usage: bad throttle options exit 2; throttle and resume take no file', async () => {
    for (const [args, message] of [
      [['--max-active', 'many'], /--max-active must be a whole number/],
      [['--max-replica-lag', 'soon'], /--max-replica-lag/],
      [['--batch-time', '0ms'], /--batch-time must be at least 1ms/],
    ] as const) {
      const o = capture();
      expect(await runCommand(['migrate', 'start', fixture('split-street.yaml'), ...args], o)).toBe(
        2,
      );
      expect(o.stderr).toMatch(message);
    }
    const o = capture();
    expect(await runCommand(['migrate', 'throttle', 'file.yaml'], o)).toBe(2);
  });

  it('a backfill paused mid-way, killed while paused, resumed by a new start: status shows why it waits, the time throttled adds up, the bar ends at 100 %', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 20_000));
    const migration = await loadMigration(fixture('split-street.yaml'));
    // Three batches, then the run stops (as if killed).
    const abort = new AbortController();
    let batches = 0;
    await startMigration(url, migration, {
      batchSize: 1_000,
      signal: abort.signal,
      onProgress: () => {
        batches += 1;
        if (batches === 3) abort.abort();
      },
    }).catch((error: Error) => {
      if (!abort.signal.aborted) throw error;
    });
    const partly = await pace(url);
    expect(partly.rowsDone).toBe(3_000);

    const paused = capture();
    expect(
      await runCommand(
        ['migrate', 'throttle', '--reason', 'nightly report', '--database-url', url],
        paused,
      ),
    ).toBe(0);
    expect(paused.stdout).toContain('backfill paused');

    // A start that finds the pause waits; killed while it waits.
    const killed = await runCli(
      [
        'migrate',
        'start',
        fixture('split-street.yaml'),
        '--database-url',
        url,
        '--batch-size',
        '1000',
      ],
      { trigger: /throttled: paused by pgpact migrate throttle/, killAfterMs: 1_500 },
    );
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toContain(
      'backfill users.account throttled: paused by pgpact migrate throttle',
    );
    expect(killed.stderr).toContain('nightly report');
    const afterKill = await pace(url);
    expect(afterKill.rowsDone).toBe(3_000);
    expect(afterKill.throttledBy).toContain('nightly report');

    const status = capture();
    expect(await runCommand(['migrate', 'status', '--database-url', url], status)).toBe(0);
    expect(status.stdout).toMatch(
      /users\.account: 3,000 \/ 20,000 rows \(15%\).*waiting: paused by pgpact migrate throttle/,
    );

    // The new start waits too, then goes on when resumed from another shell.
    const resumed = runCli([
      'migrate',
      'start',
      fixture('split-street.yaml'),
      '--database-url',
      url,
      '--batch-size',
      '1000',
    ]);
    await waitFor(
      async () => ((await pace(url)).throttledMs > afterKill.throttledMs ? true : undefined),
      60_000,
      'the second start waiting',
    );
    const json = capture();
    expect(await runCommand(['migrate', 'status', '--json', '--database-url', url], json)).toBe(0);
    const table = JSON.parse(json.stdout).backfill[0];
    expect(table.pace.throttledBy).toContain('nightly report');
    expect(table.rowsDone).toBe(3_000);

    const resume = capture();
    expect(await runCommand(['migrate', 'resume', '--database-url', url], resume)).toBe(0);
    expect(resume.stdout).toContain('backfill resumed');
    const run = await resumed;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/backfill users\.account resumed after \d+\.\ds throttled/);
    expect(run.stderr).toMatch(/\[#{24}\] 100% users\.account 20,000\/20,000 rows/);
    expect(run.stdout).toContain('backfill users.account: 20,000 / 20,000 rows (done)');
    await withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM users.account WHERE street IS NULL OR number IS NULL`,
      );
      expect(rows[0].n).toBe(0);
      const phase = await c.query('SELECT phase, backfill FROM pgpact.migrations');
      expect(phase.rows[0].phase).toBe('active');
      // Throttled time of both runs, kept over the crash.
      expect(phase.rows[0].backfill['users.account'].pace.throttledMs).toBeGreaterThan(
        afterKill.throttledMs,
      );
    });
  });
});
