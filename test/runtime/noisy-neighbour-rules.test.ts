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
    connections: { total: load.connections ?? 1, active: 0, idle: 1, idleInTransaction: 0, other: 0 },
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
const light = { Kasse: { dbTimeMs: 8, calls: 100, statementTimeMs: 8 }, Lager: { dbTimeMs: 4, calls: 40, statementTimeMs: 4 } };

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
    expect(withCpus!.message).toMatch(/\(\+200%\); and the server's 2 CPUs were saturated .*: Kasse \(500 statements\) waited/);
  });

  it('ignores services with too few statements to have waited, and a load that did not double', () => {
    const idle = history(15, (i) => ({ ...heavy(i), Kasse: { calls: i % 5 === 0 ? 1 : 0 }, Lager: { calls: 0 } }));
    expect(findNoisyNeighbours(idle, { windowMs, serverCpus: 2 })).toEqual([]);
    // Busy before and after: 3 → 4.5 processes is a rise of 1.5 but not a jump.
    const steady = history(15, (i) => ({ ...light, batch: { dbTimeMs: 1500, busy: i < 10 ? 3 : 4.5 } }));
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
});
