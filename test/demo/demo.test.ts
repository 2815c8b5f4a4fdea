import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { ChapterReport } from '../../src/demo/chapter-report.js';
import { DEMO_CHAPTERS } from '../../src/demo/chapters/index.js';
import { type DemoReport, runDemo } from '../../src/demo/run-demo.js';
import type { DemoChapter } from '../../src/demo/types.js';
import { processAlive } from '../../src/postgres/local-server.js';
import { tempDirsOf, throwawayPostgresPids, waitGone } from './leftovers.js';

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

async function expectNothingLeft(report: DemoReport): Promise<void> {
  const started = report.started!;
  expect(started.postgresPid).toBeGreaterThan(0);
  const pids = [started.postgresPid!, ...started.processes.map((p) => p.pid)];
  expect(await waitGone(pids, 5000)).toEqual([]);
  expect(started.tempDirs.length).toBeGreaterThanOrEqual(2);
  expect(started.tempDirs.filter((d) => fs.existsSync(d))).toEqual([]);
}

describe('pgpact demo', () => {
  it('tells every chapter of the story within 60 s, and leaves nothing running or on disk', async () => {
    const output = capture();
    const code = await runCommand(['demo', '--json', '--duration', '3'], output);
    const report = JSON.parse(output.stdout) as DemoReport;
    const chapter = (id: string) => report.chapters.find((c) => c.id === id)!;
    // Every registered chapter (others add theirs) holds; the first three are the foundation's,
    // then observe (its snapshot is what later chapters and the dashboard use).
    expect(report.chapters.map((c) => [c.id, c.outcome, c.problems])).toEqual(
      DEMO_CHAPTERS.map((c) => [c.id, 'ok', []]),
    );
    expect(report.chapters.slice(0, 4).map((c) => c.id)).toEqual([
      'ownership-enforced',
      'unowned-data',
      'services-under-load',
      'observe-usage',
    ]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.database).toMatch(
      /^postgres(ql)?:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/pgpact_demo$/,
    );
    expect(report.timings.totalMs).toBeLessThan(60_000);

    const attempts = chapter('ownership-enforced').figures.attempts as {
      what: string;
      allowed: boolean;
      sqlstate: string | null;
    }[];
    expect(attempts.map((a) => [a.allowed, a.sqlstate])).toEqual([
      [false, '42501'],
      [false, '42501'],
      [true, null],
      [false, '42501'],
      [true, null],
    ]);
    expect(chapter('ownership-enforced').measured.join('\n')).toMatch(
      /permission denied for table account/,
    );

    const unowned = chapter('unowned-data').figures;
    expect(unowned.unownedFindings).toContainEqual(
      expect.objectContaining({ kind: 'unowned-table', object: 'public.legacy_audit_log' }),
    );
    expect(unowned.legacyTable).toMatchObject({
      object: 'public.legacy_audit_log',
      rows: 2000,
      reachableBy: [],
    });

    const traffic = chapter('services-under-load').figures.traffic as {
      total: { requests: number; errors: number };
      services: Record<string, { requests: number; p99Ms: number }>;
    };
    expect(traffic.total.errors).toBe(0);
    for (const name of ['users', 'invoicing', 'reporting'])
      expect(traffic.services[name]!.requests).toBeGreaterThan(0);
    const connections = chapter('services-under-load').figures.connections as {
      role: string;
      applicationName: string;
    }[];
    for (const name of ['users', 'invoicing', 'reporting']) {
      expect(connections).toContainEqual(
        expect.objectContaining({ role: name, applicationName: name }),
      );
    }
    // Both deploys of the expand/contract chapter: the new instance took the traffic before
    // the old one drained, so not one request failed, and the deploy windows saw traffic.
    const migrateTraffic = chapter('expand-contract').figures.traffic as {
      errors: number;
      deploys: { service: string; errors: number; serviceRequests: number; oldExitCode: number }[];
    };
    expect(migrateTraffic.errors).toBe(0);
    expect(
      migrateTraffic.deploys.map((d) => [
        d.service,
        d.errors,
        d.serviceRequests > 0,
        d.oldExitCode,
      ]),
    ).toEqual([
      ['users', 0, true, 0],
      ['invoicing', 0, true, 0],
    ]);
    expect(output.stderr).toMatch(/1\. Ownership is enforced/);
    expect(output.stderr).not.toMatch(/postgres:[^*@/]+@/);
    await expectNothingLeft(report);
  });

  it('marks failing and throwing chapters as failed, goes on, and deploys a service with no failed request', async () => {
    const failing: DemoChapter = {
      id: 'always-fails',
      title: 'fails',
      articleQuote: '—',
      async run() {
        const r = new ChapterReport().did('nothing');
        r.expect(false, 'it was meant to fail');
        return r.result();
      },
    };
    const throwing: DemoChapter = {
      id: 'throws',
      title: 'throws',
      articleQuote: '—',
      async run() {
        throw Object.assign(new Error('boom'), { code: 'XX000' });
      },
    };
    const restarting: DemoChapter = {
      id: 'restarts-invoicing',
      title: 'restarts invoicing',
      articleQuote: '—',
      async run(ctx) {
        const r = new ChapterReport();
        const before = ctx.services.invoicing!;
        const from = Date.now();
        const after = await ctx.restartService('invoicing', { env: { POOL_SIZE: '2' } });
        const window = ctx.traffic.stats(from, Date.now());
        r.expect(after.pid !== before.pid, 'same pid after restart');
        // The new instance started next to the old one, on a port of its own.
        r.expect(after.url !== before.url, 'the new instance took over the old one’s port');
        r.expect(ctx.services.invoicing?.url === after.url, 'context not updated');
        r.expect(window.total.errors === 0, `${window.total.errors} requests failed in the deploy`);
        r.expect(window.services.invoicing!.requests > 0, 'no traffic during the deploy');
        r.expect(after.handover.oldExitCode === 0, `old exit ${after.handover.oldExitCode}`);
        r.expect(
          !processAlive(before.pid),
          'the old instance still runs after the deploy returned',
        );
        const health = await fetch(`${after.url}/health`);
        r.expect(health.status === 200, `health answered ${health.status}`);
        await ctx.sleep(500);
        const stats = ctx.traffic.stats(Date.now() - 400);
        r.expect(
          stats.services.invoicing!.requests > 0,
          'no traffic reached the restarted service',
        );
        r.figure('pids', [before.pid, after.pid]);
        return r.result();
      },
    };
    const report = await runDemo(
      { chapters: [failing, throwing, restarting], accounts: 100, trafficRate: 50 },
      new AbortController().signal,
    );
    expect(report.chapters.map((c) => [c.id, c.outcome])).toEqual([
      ['always-fails', 'failed'],
      ['throws', 'failed'],
      ['restarts-invoicing', 'ok'],
    ]);
    expect(report.chapters[0]!.problems).toEqual(['it was meant to fail']);
    expect(report.chapters[1]!.problems).toEqual(['the chapter stopped: XX000: boom']);
    expect(report.chapters[2]!.problems).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.started!.processes.map((p) => p.name).sort()).toEqual([
      'invoicing',
      'invoicing',
      'reporting',
      'users',
    ]);
    await expectNothingLeft(report);
  });

  it('stops at once when interrupted during setup, leaving nothing', async () => {
    const controller = new AbortController();
    let postgres: number[] = [];
    const report = await runDemo(
      {
        accounts: 100,
        onEvent: (e) => {
          if (e.type === 'setup' && e.text.includes('legacy table')) {
            postgres = throwawayPostgresPids(process.pid);
            controller.abort();
          }
        },
      },
      controller.signal,
    );
    expect(report.interrupted).toBe(true);
    expect(report.chapters).toEqual([]);
    expect(report.ok).toBe(false);
    expect(postgres).toHaveLength(1);
    expect(await waitGone(postgres, 5000)).toEqual([]);
    expect(tempDirsOf(process.pid)).toEqual([]);
  });

  it('rejects a bad --duration with exit code 2', async () => {
    const output = capture();
    expect(await runCommand(['demo', '--duration', 'soon'], output)).toBe(2);
    expect(output.stderr).toMatch(/--duration/);
  });
});
