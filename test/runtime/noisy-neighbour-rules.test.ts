import { describe, expect, it } from 'vitest';
import { findNoisyNeighbours, NoisyNeighbourLatch } from '../../src/runtime/noisy-neighbour.js';
import type { RuntimeSample, ServiceRuntime } from '../../src/runtime/types.js';

/** Per service in one sample: DB time, completed statements and their time, busy processes. */
interface Load {
  dbTimeMs?: number;
  calls?: number;
  statementTimeMs?: number;
  busy?: number;
  workers?: number;
  connections?: number;
}

function row(service: string, load: Load): ServiceRuntime {
  const calls = load.calls ?? 0;
  return {
    service,
    attribution: 'manifest-role',
    roles: [service],
    connections: {
      total: load.connections ?? 1,
      active: 0,
      idle: 1,
      idleInTransaction: 0,
      other: 0,
    },
    connectionLimit: null,
    limitUsed: load.connections ?? 1,
    waiting: 0,
    busyProcesses: load.busy ?? 0,
    parallelWorkers: load.workers ?? 0,
    longestTransactionMs: null,
    longestIdleInTransactionMs: null,
    dbTimeMs: load.dbTimeMs ?? 0,
    dbTimeShare: 0,
    calls,
    statementTimeMs: load.statementTimeMs ?? 0,
    meanStatementMs: calls > 0 ? (load.statementTimeMs ?? 0) / calls : null,
    topStatement: null,
    totals: { dbTimeMs: 0, calls: 0, lockWaits: 0, deadlocks: 0 },
  };
}

const T0 = Date.parse('2026-11-29T12:00:00Z');

/** One sample per second, `loads(i)` giving each service's figures of second i. */
function history(seconds: number, loads: (i: number) => Record<string, Load>): RuntimeSample[] {
  return Array.from({ length: seconds }, (_, i) => ({
    takenAt: new Date(T0 + i * 1000).toISOString(),
    intervalMs: i === 0 ? null : 1000,
    database: 'shop',
    serverVersion: 180000,
    maxConnections: 100,
    totalConnections: 3,
    services: Object.entries(loads(i)).map(([service, load]) => row(service, load)),
    sessions: [],
    lockWaits: [],
    topStatements: [],
    deadlocks: { total: 0, delta: 0 },
    statementsAvailable: true,
    sampleDurationMs: 1,
    notes: [],
  }));
}

/** Steady light traffic: "Kasse" runs 100 short statements a second, "Lager" 40. */
const light = {
  Kasse: { dbTimeMs: 8, calls: 100, statementTimeMs: 8 },
  Lager: { dbTimeMs: 4, calls: 40, statementTimeMs: 4 },
};

/** From second 10 on, "data team" keeps 2 sessions and 4 parallel workers busy; it already had most DB time before. */
const heavy = (i: number): Record<string, Load> => ({
  ...light,
  'data team':
    i < 10
      ? { dbTimeMs: 90, calls: 2, statementTimeMs: 90, busy: 0.1 }
      : { dbTimeMs: 2000, calls: 0, busy: 6, workers: 4, connections: 2 },
});

const windowMs = 5000;

describe('noisy-neighbour rules', () => {
  it('names the service saturating the CPUs and the services starved of them, when the CPUs are known', () => {
    const samples = history(15, heavy);
    const [finding, ...more] = findNoisyNeighbours(samples, { windowMs, serverCpus: 2 });
    expect(more).toEqual([]);
    expect(finding!.object).toBe('service data team');
    expect(finding!.parties.map((p) => [p.service, p.as])).toEqual([
      ['data team', 'noisy'],
      ['Kasse', 'slowed'],
      ['Lager', 'slowed'],
    ]);
    expect(finding!.message).toBe(
      "data team's busy processes (on a CPU or waiting for one) rose from 0.1 to 6.0 on average (4.0 of them parallel workers) over the last 5 s while the server's 2 CPUs were saturated (6.0 busy processes on average, 6.0 of them data team's): Kasse (500 statements) and Lager (200 statements) waited for a CPU before each statement started, time statement statistics do not count",
    );
  });

  it('does not claim starvation without the CPU count, nor when the CPUs are not all busy', () => {
    const samples = history(15, heavy);
    // The victims' statements did not get slower: without the CPU count nothing shows they waited.
    expect(findNoisyNeighbours(samples, { windowMs })).toEqual([]);
    expect(findNoisyNeighbours(samples, { windowMs, serverCpus: 16 })).toEqual([]);
  });

  it('still names a victim whose statements got slower, with or without the CPU count', () => {
    const samples = history(15, (i) => ({
      ...heavy(i),
      Lager: i < 10 ? { calls: 40, statementTimeMs: 40 } : { calls: 30, statementTimeMs: 90 },
    }));
    const [finding] = findNoisyNeighbours(samples, { windowMs });
    expect(finding!.parties.map((p) => [p.service, p.as])).toEqual([
      ['data team', 'noisy'],
      ['Lager', 'slowed'],
    ]);
    expect(finding!.message).toMatch(
      /while Lager's mean statement time rose from 1\.00 ms to 3\.00 ms \(\+200%\)$/,
    );
    const [withCpus] = findNoisyNeighbours(samples, { windowMs, serverCpus: 2 });
    expect(withCpus!.parties.map((p) => p.service)).toEqual(['data team', 'Lager', 'Kasse']);
    expect(withCpus!.message).toMatch(
      /\(\+200%\); and the server's 2 CPUs were saturated .*: Kasse \(500 statements\) waited/,
    );
  });

  it('ignores services with too few statements to have waited, and a load that did not double', () => {
    const idle = history(15, (i) => ({
      ...heavy(i),
      Kasse: { calls: i % 5 === 0 ? 1 : 0 },
      Lager: { calls: 0 },
    }));
    expect(findNoisyNeighbours(idle, { windowMs, serverCpus: 2 })).toEqual([]);
    // Busy before and after: 3 → 4.5 processes is a rise of 1.5 but not a jump.
    const steady = history(15, (i) => ({
      ...light,
      batch: { dbTimeMs: 1500, busy: i < 10 ? 3 : 4.5 },
    }));
    expect(findNoisyNeighbours(steady, { windowMs, serverCpus: 2 })).toEqual([]);
  });

  it('keeps the finding while the service stays busy, and drops it when it is quiet again', () => {
    const latch = new NoisyNeighbourLatch({ windowMs, serverCpus: 2 });
    const busyFor = (i: number) => (i >= 10 && i < 30 ? heavy(i) : heavy(0));
    const samples = history(45, busyFor);
    const found = (n: number) => latch.update(samples.slice(0, n)).map((f) => f.object);
    expect(found(10)).toEqual([]);
    expect(found(15)).toEqual(['service data team']);
    // 25 s in, both windows hold the heavy load: no jump any more, but it lasts.
    expect(found(26)).toEqual(['service data team']);
    expect(found(38)).toEqual([]);
  });

  /** "orders": ~4,300 fast updates a second (0.017 ms each, with jitter); from second 20 "billing" runs a 5 s report. */
  const jitter = (i: number, spread: number) => 1 + spread * Math.sin(i * 1.7);
  const oltp = (i: number, slowFrom: number, slowTo: number): Record<string, Load> => {
    const during = i >= slowFrom && i < slowTo;
    const calls = Math.round((during ? 3740 : 4300) * jitter(i, 0.03));
    const mean = (during ? 0.059 : 0.017) * jitter(i + 3, 0.05);
    return {
      orders: { calls, statementTimeMs: calls * mean, dbTimeMs: calls * mean },
      billing: during ? { dbTimeMs: 1000, busy: 1 } : { dbTimeMs: 0 },
    };
  };

  it('names a slowdown of fast statements against their own baseline: no absolute floor', () => {
    const samples = history(24, (i) => oltp(i, 20, 25));
    const [finding, ...more] = findNoisyNeighbours(samples, { windowMs: 10_000 });
    expect(more).toEqual([]);
    expect(finding!.parties.map((p) => [p.service, p.as])).toEqual([
      ['billing', 'noisy'],
      ['orders', 'slowed'],
    ]);
    expect(finding!.message).toMatch(
      /^billing's share of database time rose from 0% to \d+% over the last 10 s while orders's mean statement time rose from 0\.017 ms to 0\.0[56]\d ms \(\+\d+%\)$/,
    );
    const slowed = finding!.noisyNeighbour!.slowed[0]!;
    expect(slowed.service).toBe('orders');
    expect(slowed.slower).toBe(true);
    expect(slowed.fewer).toBe(true);
    expect(slowed.meanStatementMs!.before).toBeCloseTo(0.017, 3);
    expect(slowed.meanStatementMs!.after).toBeGreaterThan(0.05);
    expect(slowed.callsPerSecond!.after / slowed.callsPerSecond!.before).toBeLessThan(0.9);
    // The comparison uses the seconds billing was loud, not the whole window.
    expect(finding!.noisyNeighbour!.since).toBe(samples[20]!.takenAt);
  });

  it('names a service whose calls per second fell, though each statement took as long', () => {
    const samples = history(24, (i) => {
      const load = oltp(i, 20, 25);
      const calls = Math.round((i >= 20 ? 2500 : 4300) * jitter(i, 0.03));
      return {
        ...load,
        orders: { calls, statementTimeMs: calls * 0.017, dbTimeMs: calls * 0.017 },
      };
    });
    const [finding] = findNoisyNeighbours(samples, { windowMs: 10_000 });
    expect(finding!.message).toMatch(
      /while orders's calls per second fell from 4,3\d\d to 2,[45]\d\d \(−4\d%\)$/,
    );
    expect(finding!.noisyNeighbour!.slowed[0]).toMatchObject({ slower: false, fewer: true });
  });

  it('claims nothing when the victim only wobbles within its own scatter', () => {
    // orders' clients come in bursts: 6,020 then 2,580 calls a second, before as while billing
    // is loud; the loud seconds happen to hold more slow ones (−20% on average), well within that scatter.
    const factor = (i: number) => (i < 20 ? (i % 2 === 0 ? 1.4 : 0.6) : i === 20 ? 1.4 : 0.6);
    const samples = history(24, (i) => {
      const calls = Math.round(4300 * factor(i));
      return {
        ...oltp(i, 20, 25),
        orders: { calls, statementTimeMs: calls * 0.017, dbTimeMs: calls * 0.017 },
      };
    });
    expect(findNoisyNeighbours(samples, { windowMs: 10_000 })).toEqual([]);
    // The evidence is what holds it back: without it, the −20% would be claimed.
    expect(findNoisyNeighbours(samples, { windowMs: 10_000, minEvidence: 0 })).toHaveLength(1);
  });

  it('does not blame a service that got loud after the slowdown began', () => {
    // orders halves from second 14 (something outside the database); billing is loud from second 22.
    const samples = history(24, (i) => {
      const calls = Math.round((i >= 14 ? 2150 : 4300) * jitter(i, 0.03));
      return {
        ...oltp(i, 22, 30),
        orders: { calls, statementTimeMs: calls * 0.017, dbTimeMs: calls * 0.017 },
      };
    });
    // Two loud seconds so far: too few to judge orders on them, and the earlier fall is not billing's.
    expect(findNoisyNeighbours(samples, { windowMs: 10_000 })).toEqual([]);
  });
});
