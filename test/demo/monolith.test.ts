import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { MONOLITH_CHAPTERS } from '../../src/demo/monolith/chapters/index.js';
import type { DemoReport } from '../../src/demo/run-demo.js';
import { waitGone } from './leftovers.js';

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

type Probe = { allowed: boolean; sqlstate: string | null };
type Traffic = { requests: number; errors: number };

describe('pgpact demo --monolith', () => {
  it('a one-schema database adopts pgpact: init, audit apply changing no answer, the undeclared reader found, invoice moved under traffic, enforcement on', async () => {
    const output = capture();
    const code = await runCommand(['demo', '--monolith', '--json'], output);
    const report = JSON.parse(output.stdout) as DemoReport;
    const figures = (id: string) => report.chapters.find((c) => c.id === id)!.figures;
    expect(report.chapters.map((c) => [c.id, c.outcome, c.problems])).toEqual(
      MONOLITH_CHAPTERS.map((c) => [c.id, 'ok', []]),
    );
    expect(report.chapters.map((c) => c.id)).toEqual([
      'monolith-init',
      'monolith-observe',
      'monolith-move-table',
      'monolith-enforce',
    ]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.database).toMatch(
      /^postgres(ql)?:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/pgpact_monolith$/,
    );
    expect(report.timings.totalMs).toBeLessThan(60_000);

    // init: owners proposed from writers (the admin owned everything), reporting only reads.
    const init = figures('monolith-init');
    expect(init.init).toMatchObject({
      owns: { invoicing: ['public.invoice'], users: ['public.account'] },
      adminOwnsAll: true,
      readersOnly: ['reporting'],
    });
    expect((init.init as { manifest: string }).manifest).toMatch(/^enforcement: audit$/m);
    expect(init.owners).toEqual({ 'public.account': 'users', 'public.invoice': 'invoicing' });
    // apply in audit mode: the same statements, the same answers; reporting's old access kept.
    expect(init.sameAnswers).toEqual({ statements: 8, changed: 0, errorsBefore: 0 });
    expect(init.forbiddenWrite).toEqual({ before: true, afterAudit: true });

    // observe: reporting, in no service, read invoicing's table; its contract is declared.
    const observe = figures('monolith-observe');
    expect(observe.undeclaredReader).toEqual({
      finding: 'unknown-role reporting',
      tables: ['public.account', 'public.invoice'],
      invoiceColumns: ['account_id', 'amount'],
    });
    expect(observe.declared).toContain('public.invoice [account_id, amount]');
    // reporting, a service in audit mode now, keeps the write it had; enforce mode revokes it.
    expect(observe.forbiddenWrite).toEqual({
      allowed: true,
      sqlstate: null,
      deferred: [
        expect.stringMatching(
          /^enforce mode runs: REVOKE .*UPDATE.* ON TABLE "public"\."invoice" FROM "reporting"$/,
        ),
      ],
    });

    // move_table: both names live, reporting named until it moved, then complete.
    const move = figures('monolith-move-table');
    expect(move.start).toMatchObject({ phase: 'active', old: 'v', moved: 'r' });
    expect(move.statusBefore).toMatchObject({ canComplete: false });
    // Named by its contract, and by its export run through the old name since start.
    expect((move.statusBefore as { blocking: string[] }).blocking).toEqual(
      expect.arrayContaining(['reporting (declared)', 'reporting (observed)']),
    );
    expect(
      (move.statusBefore as { blocking: string[] }).blocking.every((b) =>
        b.startsWith('reporting '),
      ),
    ).toBe(true);
    // Old code kept working through the view until it was replaced.
    const oldName = move.oldName as Record<'invoicing' | 'reporting', Traffic>;
    expect(oldName.invoicing.requests).toBeGreaterThan(0);
    expect(oldName.reporting.requests).toBeGreaterThan(0);
    expect([oldName.invoicing.errors, oldName.reporting.errors]).toEqual([0, 0]);
    expect(move.completed).toEqual({ outcome: 'completed', old: null, moved: 'invoicing.invoice' });
    const moveTraffic = move.traffic as Traffic & {
      deploys: { service: string; errors: number; requests: number; oldExitCode: number }[];
    };
    expect(moveTraffic.errors).toBe(0);
    expect(moveTraffic.requests).toBeGreaterThan(0);
    expect(
      moveTraffic.deploys.map((d) => [d.service, d.errors, d.requests > 0, d.oldExitCode]),
    ).toEqual([
      ['invoicing', 0, true, 0],
      ['reporting', 0, true, 0],
    ]);

    // enforce: the undeclared read and the write to invoicing's table refused by Postgres.
    const enforce = figures('monolith-enforce');
    expect(enforce.enforcement).toEqual({ mode: 'enforce', invoicingOwns: ['invoicing'] });
    const probes = enforce.probes as Record<'write' | 'read', { audit: Probe; enforce: Probe }>;
    expect(probes.read).toMatchObject({
      audit: { allowed: true, sqlstate: null },
      enforce: { allowed: false, sqlstate: '42501' },
    });
    expect(probes.write.enforce).toEqual({ allowed: false, sqlstate: '42501' });

    // Not one request failed in any chapter, and every service was served in each.
    for (const chapter of report.chapters) {
      const t = chapter.figures.traffic as Traffic & { services?: Record<string, Traffic> };
      expect([chapter.id, t.errors]).toEqual([chapter.id, 0]);
      for (const name of ['users', 'invoicing', 'reporting'])
        expect([chapter.id, name, (t.services?.[name]?.requests ?? 0) > 0]).toEqual([
          chapter.id,
          name,
          true,
        ]);
    }
    expect(output.stderr).toMatch(/1\. pgpact init writes the first manifest/);
    expect(output.stderr).not.toMatch(/postgres:[^*@/]+@/);

    const started = report.started!;
    const pids = [started.postgresPid!, ...started.processes.map((p) => p.pid)];
    expect(started.processes.map((p) => p.name)).toEqual([
      'users',
      'invoicing',
      'reporting',
      'invoicing',
      'reporting',
    ]);
    expect(await waitGone(pids, 5000)).toEqual([]);
    expect(started.tempDirs.filter((d) => fs.existsSync(d))).toEqual([]);
  });

  it('refuses --keep and --database-url with exit code 2', async () => {
    const output = capture();
    expect(await runCommand(['demo', '--monolith', '--keep'], output)).toBe(2);
    expect(output.stderr).toMatch(/--monolith runs on a throwaway Postgres/);
  });
});
