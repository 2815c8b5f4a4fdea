import { describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, fixture } from './helpers.js';

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

describe('pgpact migrate: usage', () => {
  it('rejects a missing action, a missing file and bad options with exit code 2', async () => {
    for (const [args, message] of [
      [['migrate'], /expected start FILE, status, complete or rollback/],
      [['migrate', 'start'], /give the migration FILE/],
      [['migrate', 'launch'], /expected start FILE/],
      [
        ['migrate', 'start', fixture('split-street.yaml'), '--batch-size', '0'],
        /--batch-size must be a positive whole number/,
      ],
      [
        ['migrate', 'start', fixture('split-street.yaml'), '--lock-timeout', '2 parsecs'],
        /--lock-timeout/,
      ],
      [['migrate', 'start', '/nonexistent.yaml'], /MIGRATION_NOT_FOUND/],
    ] as const) {
      const o = capture();
      expect(await runCommand([...args], o), args.join(' ')).toBe(2);
      expect(o.stderr).toMatch(message);
    }
    const help = capture();
    expect(await runCommand(['migrate', '--help'], help)).toBe(0);
    expect(help.stdout).toContain('split_column {table, from, to: [{name, type, up}], down}');
  });
});

describeEachServer('pgpact migrate: the CLI end to end', (server) => {
  it('start prints progress on stderr and the result on stdout; status --json; rollback', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 2500));
    const start = capture();
    expect(
      await runCommand(
        [
          'migrate',
          'start',
          fixture('split-street.yaml'),
          '--database-url',
          url,
          '--batch-size',
          '1000',
        ],
        start,
      ),
    ).toBe(0);
    expect(start.stdout).toContain(
      'split-street-and-number started: old and new shape both live, kept in sync',
    );
    expect(start.stdout).toContain('backfill users.account: 2,500 / 2,500 rows (done)');
    expect(start.stderr).toMatch(/\[#+\] 100% users\.account 2,500\/2,500 rows/);
    expect(start.stderr).toContain('expand users.account');

    const status = capture();
    expect(await runCommand(['migrate', 'status', '--json', '--database-url', url], status)).toBe(
      0,
    );
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({
      name: 'split-street-and-number',
      phase: 'active',
      canComplete: true,
    });
    expect(json.oldShape).toEqual([
      expect.objectContaining({
        column: 'street_and_number',
        replacedBy: ['street', 'number'],
        blocking: true,
      }),
    ]);

    const text = capture();
    expect(await runCommand(['migrate', 'status', '--database-url', url], text)).toBe(0);
    expect(text.stdout).toContain(
      'users.account.street_and_number -> street, number  (split_column',
    );
    expect(text.stdout).toContain(
      'declared consumers: not checked (no manifest; pass --config FILE)',
    );
    expect(text.stdout).toContain('complete: ready');

    const rollback = capture();
    expect(await runCommand(['migrate', 'rollback', '--database-url', url], rollback)).toBe(0);
    expect(rollback.stdout).toBe(
      'split-street-and-number rolled back from phase active: the new shape is gone\n',
    );
    const again = capture();
    expect(await runCommand(['migrate', 'rollback', '--database-url', url], again)).toBe(0);
    expect(again.stdout).toContain(
      'nothing in progress: split-street-and-number was rolled back before',
    );
  });
});
