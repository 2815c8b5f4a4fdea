import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, openAs, provokeDeadlock } from './helpers.js';

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    output: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), isTTY },
    out,
    err,
  };
}

function writeManifest(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-top-'));
  const file = path.join(dir, 'pgpact.yaml');
  fs.writeFileSync(
    file,
    'version: 1\nservices:\n  users:\n    role: users_rw\n  invoicing:\n    role: "Invoicing"\n',
  );
  return file;
}

describeEachServer('pgpact top', (server) => {
  it('--once reports only the log events of its own window: a deadlock logged before it is not a finding', async () => {
    const db = await server().createDatabase('topwindow');
    await withClient(db, (c) =>
      c.query(
        'CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0)',
      ),
    );
    const usersUrl = await createLoginRole(db, 'window_users');
    const invoicingUrl = await createLoginRole(db, 'window_invoicing');
    await withClient(db, (c) =>
      c.query('GRANT SELECT, UPDATE ON pair TO window_users, window_invoicing'),
    );
    await provokeDeadlock(
      { url: usersUrl, app: 'users-api' },
      { url: invoicingUrl, app: 'invoicing-batch' },
      'pair',
    );
    await new Promise((r) => setTimeout(r, 300));
    const run = async () => {
      const { output, out } = capture();
      const code = await runCommand(
        [
          'top',
          '--once',
          '--json',
          '--interval',
          '300ms',
          '--database-url',
          db,
          '--log-file',
          server().logFile,
        ],
        output,
      );
      return { code, report: JSON.parse(out.join('')) };
    };
    // Twice: the deadlock in the log's past is neither a finding nor listed, on every later run.
    for (const { code, report } of [await run(), await run()]) {
      expect(report.deadlocks).toEqual([]);
      expect(report.findings.filter((f: { kind: string }) => f.kind === 'deadlock')).toEqual([]);
      expect(code).toBe(0);
    }
  });

  it('--once --json prints one report naming both sides of a lock wait; exit 1 on warnings', async () => {
    const db = await server().createDatabase('top');
    await withClient(db, (c) =>
      c.query(
        'CREATE TABLE invoice (id int PRIMARY KEY, total int); INSERT INTO invoice VALUES (7, 0)',
      ),
    );
    const usersUrl = await createLoginRole(db, 'users_rw');
    const invoicingUrl = await createLoginRole(db, 'Invoicing', { connectionLimit: 10 });
    await withClient(db, (c) =>
      c.query('GRANT SELECT, UPDATE ON invoice TO users_rw, "Invoicing"'),
    );
    const invoicing = await openAs(invoicingUrl, 'invoicing-batch');
    const users = await openAs(usersUrl, 'users-api');
    const config = writeManifest();
    try {
      await invoicing.query('BEGIN');
      await invoicing.query('UPDATE invoice SET total = 1 WHERE id = 7');
      const blocked = users
        .query('UPDATE invoice SET total = 2 WHERE id = 7')
        .catch((e: Error) => e);
      const { output, out, err } = capture();
      const args = [
        'top',
        '--once',
        '--json',
        '--interval',
        '300ms',
        '--database-url',
        db,
        '--config',
        config,
      ];
      const code = await runCommand([...args, '--log-file', server().logFile], output);
      expect(err.join('')).toBe('');
      expect(code).toBe(1);
      const report = JSON.parse(out.join(''));
      expect(report.version).toBe(1);
      expect(report.sample.intervalMs).toBeGreaterThanOrEqual(250);
      const wait = report.sample.lockWaits[0];
      expect(wait.waiting.service).toBe('users');
      expect(wait.holding.map((h: { service: string }) => h.service)).toEqual(['invoicing']);
      expect(wait.object.description).toMatch(
        /^row \(0,1\) of public\.invoice \(transaction \d+\)$/,
      );
      const kinds = report.findings.map((f: { kind: string }) => f.kind);
      expect(kinds).toContain('idle-in-transaction-blocker');
      const invoicingRow = report.sample.services.find(
        (s: { service: string }) => s.service === 'invoicing',
      );
      expect(invoicingRow).toMatchObject({
        connectionLimit: 10,
        limitUsed: 1,
        roles: ['Invoicing'],
      });
      expect(report.log.source).toBe(server().logFile);

      // The text view: one row per service, the lock wait with both names.
      const text = capture();
      expect(
        await runCommand(
          ['top', '--once', '--interval', '200ms', '--database-url', db, '--config', config],
          text.output,
        ),
      ).toBe(1);
      const frame = text.out.join('');
      expect(frame).toMatch(
        /SERVICE\s+CONN\/LIMIT\s+ACTIVE\s+BUSY\s+IDLE-TX\s+WAITING\s+LONGEST-TX\s+DB TIME\s+MEAN\s+TOP STATEMENT/,
      );
      // invoicing: 1 of 10 connections, none active or busy, 1 idle in transaction, none waiting.
      expect(frame).toMatch(/^invoicing\s+1\/10\s+0\s+0\s+1\s+0\s/m);
      expect(frame).toMatch(
        /^users pid \d+ \[users-api\] waits [\d.]+m?s for ShareLock on row \(0,1\) of public\.invoice .*← invoicing pid \d+ \[invoicing-batch\] \(idle in transaction/m,
      );
      expect(frame).toContain('log: none');

      // Drill-down: the service's sessions.
      const drill = capture();
      const drillArgs = [
        'top',
        '--once',
        '--service',
        'invoicing',
        '--interval',
        '200ms',
        '--database-url',
        db,
        '--config',
        config,
      ];
      await runCommand(drillArgs, drill.output);
      const drillText = drill.out.join('');
      expect(drillText).toMatch(/SERVICE invoicing · roles Invoicing · connections 1\/10/);
      expect(drillText).toMatch(/^\d+\s+invoicing-batch\s+idle in transaction\s/m);

      const unknown = capture();
      expect(
        await runCommand(
          ['top', '--once', '--service', 'billing', '--database-url', db, '--config', config],
          unknown.output,
        ),
      ).toBe(2);
      expect(unknown.err.join('')).toContain('no service "billing"');

      await invoicing.query('COMMIT');
      expect(await blocked).not.toBeInstanceOf(Error);
      const calm = capture();
      expect(
        await runCommand(
          [
            'top',
            '--once',
            '--json',
            '--interval',
            '100ms',
            '--database-url',
            db,
            '--config',
            config,
          ],
          calm.output,
        ),
      ).toBe(0);
    } finally {
      await closeAll([users, invoicing]);
      fs.rmSync(path.dirname(config), { recursive: true, force: true });
    }
  });

  it('the live view redraws until Ctrl-C and restores the terminal', async () => {
    const db = await server().createDatabase('live');
    const controller = new AbortController();
    const { output, out } = capture(true);
    const running = runCommand(
      ['top', '--interval', '200ms', '--database-url', db],
      output,
      controller.signal,
    );
    await new Promise((r) => setTimeout(r, 1000));
    controller.abort();
    expect(await running).toBe(0);
    const all = out.join('');
    expect(all.startsWith('\x1b[?1049h\x1b[?25l')).toBe(true);
    expect(all.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    expect(all.split('pgpact top · ').length - 1).toBeGreaterThanOrEqual(3);
  });

  it('rejects a bad --interval with exit 2', async () => {
    const { output, err } = capture();
    expect(
      await runCommand(
        ['top', '--interval', 'soon', '--database-url', 'postgresql://x@127.0.0.1:1/x'],
        output,
      ),
    ).toBe(2);
    expect(err.join('')).toContain('--interval "soon" is not a duration');
  });

  it('rejects a bad --cpus with exit 2 before connecting, with a hint', async () => {
    const { output, err } = capture();
    // Nothing listens on port 1: the flag is refused before any connection is tried.
    expect(
      await runCommand(
        ['top', '--once', '--cpus', 'two', '--database-url', 'postgresql://x@127.0.0.1:1/x'],
        output,
      ),
    ).toBe(2);
    expect(err.join('')).toContain('--cpus "two" is not a number of CPUs');
    expect(err.join('')).toContain('e.g. --cpus 8');
    for (const command of ['metrics', 'dashboard']) {
      const other = capture();
      expect(
        await runCommand(
          [command, '--cpus', '0', '--database-url', 'postgresql://x@127.0.0.1:1/x'],
          other.output,
        ),
      ).toBe(2);
      expect(other.err.join('')).toContain('--cpus "0" is not a number of CPUs');
    }
  });
});
