import { describe, expect, it } from 'vitest';
import { ChapterReport } from '../../src/demo/chapter-report.js';
import { deadlockChapter } from '../../src/demo/chapters/runtime-deadlock.js';
import { lockWaitChapter } from '../../src/demo/chapters/runtime-lock-wait.js';
import { noisyNeighbourChapter } from '../../src/demo/chapters/runtime-noisy-neighbour.js';
import { type DemoReport, runDemo } from '../../src/demo/run-demo.js';
import type { DemoChapter } from '../../src/demo/types.js';
import { withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';

// biome-ignore lint/suspicious/noExplicitAny: figures are JSON read back by the assertions below
type Figures = Record<string, any>;

function figuresOf(report: DemoReport, id: string): Figures {
  return report.chapters.find((c) => c.id === id)!.figures as Figures;
}

describe('pgpact demo: the runtime chapters on the running system', () => {
  it('names reporting as the cause of users’ slowdown, invoicing as the blocker of users, and both sides of a deadlock', async () => {
    const report = await runDemo(
      { chapters: [noisyNeighbourChapter, lockWaitChapter, deadlockChapter] },
      new AbortController().signal,
    );
    expect(report.chapters.map((c) => [c.id, c.outcome, c.problems])).toEqual([
      ['runtime-noisy-neighbour', 'ok', []],
      ['runtime-lock-wait', 'ok', []],
      ['runtime-deadlock', 'ok', []],
    ]);

    // Noisy neighbour: reporting's database time, not users', rose; users' clients felt it.
    const noisy = figuresOf(report, 'runtime-noisy-neighbour');
    expect(noisy.noisyNeighbour.cause).toBe('reporting');
    expect(noisy.noisyNeighbour.topRow).toBe('reporting');
    expect(noisy.noisyNeighbour.dbMsPerSecond.reporting.during).toBeGreaterThan(1000);
    expect(noisy.noisyNeighbour.dbMsPerSecond.users.during).toBeLessThan(100);
    expect(noisy.noisyNeighbour.reportingProcesses.sessions).toBe(2);
    // The finding: the server runs on this machine, so pgpact knows its CPUs and names both sides.
    expect(noisy.noisyNeighbour.finding.noisy).toEqual(['reporting']);
    expect(noisy.noisyNeighbour.finding.slowed).toContain('users');
    // Users' latency is printed, not asserted: other load on the machine moves the baseline too.
    expect(noisy.usersLatency.before.requests).toBeGreaterThan(0);
    expect(noisy.usersLatency.during.requests).toBeGreaterThan(0);
    // Contained by reporting's statement_timeout from pgpact.yaml, and attributed in the log.
    expect(noisy.statementTimeout).toMatchObject({
      declaredMs: 3000,
      session: ['3s', '3s'],
      sqlstates: ['57014', '57014'],
      cancelledByDemo: false,
    });
    for (const ms of noisy.statementTimeout.endedAfterMs) {
      expect(ms).toBeGreaterThanOrEqual(2950);
      expect(ms).toBeLessThan(6000);
    }
    expect(noisy.loggedTimeouts).toEqual(['reporting', 'reporting']);

    // Lock wait: users' migration waits for invoicing's open transaction, on users.account.
    const lock = figuresOf(report, 'runtime-lock-wait');
    expect(lock.lockWait.waiting.service).toBe('users');
    expect(lock.lockWait.holding).toEqual([
      expect.objectContaining({ service: 'invoicing', state: 'idle in transaction' }),
    ]);
    expect(lock.lockWait).toMatchObject({
      object: 'relation users.account',
      mode: 'AccessExclusiveLock',
      blockerFinding: ['invoicing:holding', 'users:waiting'],
    });
    expect(lock.lockWait.waitedMs).toBeGreaterThan(300);
    expect(lock.lockWait.queuedBehind).toContain('users');
    expect(lock.migration).toMatchObject({ lockTimeout: '1s', sqlstate: '55P03' });

    // Deadlock: both sides named from the server log after both transactions ended.
    const deadlock = figuresOf(report, 'runtime-deadlock').deadlock;
    expect(deadlock.namedFrom).toBe('server log');
    expect(deadlock.named).toEqual({ users: 'users', invoicing: 'invoicing' });
    expect([...deadlock.services].sort()).toEqual(['invoicing', 'users']);
    expect(['users', 'invoicing']).toContain(deadlock.victim);
    expect(deadlock.loggedVictim).toBe(deadlock.victim);
    expect([...deadlock.finding].sort()).toEqual(
      [
        `${deadlock.victim}:victim`,
        `${deadlock.victim === 'users' ? 'invoicing' : 'users'}:deadlocked`,
      ].sort(),
    );
  });

  it('fails the noisy-neighbour chapter when reporting has no statement_timeout, and still ends the report', async () => {
    // Reporting without its limit: in pgpact.yaml and on the role.
    const unlimited: DemoChapter = {
      ...noisyNeighbourChapter,
      async run(ctx) {
        // pgpact apply sets limits per database (ALTER ROLE … IN DATABASE …).
        await withClient(ctx.adminUrl, (c) =>
          c.query(
            `ALTER ROLE reporting IN DATABASE ${quoteIdent(new URL(ctx.adminUrl).pathname.slice(1))} RESET statement_timeout`,
          ),
        );
        const manifest = {
          ...ctx.manifest,
          services: ctx.manifest.services.map((s) =>
            s.name === 'reporting'
              ? { ...s, limits: { ...s.limits, statementTimeoutMs: undefined } }
              : s,
          ),
        };
        return noisyNeighbourChapter.run({ ...ctx, manifest });
      },
    };
    const after: DemoChapter = {
      id: 'after',
      title: 'nothing of the report is left running',
      articleQuote: '—',
      async run(ctx) {
        const r = new ChapterReport();
        const running = await withClient(ctx.adminUrl, (c) =>
          c.query(
            `SELECT pid FROM pg_stat_activity WHERE usename = 'reporting' AND application_name = 'reporting export'`,
          ),
        );
        r.figure('reportSessions', running.rows.length);
        return r.result();
      },
    };
    const began = Date.now();
    const report = await runDemo({ chapters: [unlimited, after] }, new AbortController().signal);
    const chapter = report.chapters[0]!;
    expect(chapter.outcome).toBe('failed');
    expect(chapter.problems).toContain(
      'reporting has no statement_timeout in pgpact.yaml: nothing contains its reports',
    );
    expect(chapter.problems.join('\n')).toMatch(
      /nothing stopped reporting's reports: the demo cancelled them after/,
    );
    const figures = chapter.figures as Figures;
    expect(figures.statementTimeout).toMatchObject({
      declaredMs: null,
      session: ['0', '0'],
      cancelledByDemo: true,
    });
    // pgpact still named the cause while it ran.
    expect(figures.noisyNeighbour.cause).toBe('reporting');
    expect(report.chapters[1]!.figures.reportSessions).toBe(0);
    expect(Date.now() - began).toBeLessThan(30_000);
  });
});
