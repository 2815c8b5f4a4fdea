import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { observationWindow } from '../../src/usage/delta.js';
import { parseCsv, readStatementStatsFile } from '../../src/usage/stat-file.js';
import type { StatementStats } from '../../src/usage/statement-stats.js';
import { loadUsage, saveUsage } from '../../src/usage/store.js';
import type { UsageSnapshot } from '../../src/usage/types.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-window-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const stats = (
  entries: [string, string, number][],
  statsReset = '2024-01-01T00:00:00Z',
): StatementStats => ({
  database: 'app',
  takenAt: '2024-01-02T00:00:00Z',
  statsReset,
  source: 'live',
  entries: entries.map(([role, queryId, calls]) => ({
    role,
    queryId,
    query: 'SELECT 1',
    toplevel: true,
    calls,
    rows: calls * 2,
    totalTimeMs: calls * 3,
  })),
});

const snapshot = (
  entries: [string, string, number][],
  statsReset = '2024-01-01T00:00:00Z',
): UsageSnapshot => ({
  version: 1,
  database: 'app',
  takenAt: '2024-01-01T12:00:00Z',
  roles: [],
  counters: {
    statsReset,
    entries: entries.map(([role, queryId, calls]) => ({
      role,
      queryId,
      toplevel: true,
      calls,
      rows: calls * 2,
      totalTimeMs: calls * 3,
    })),
  },
});

describe('observationWindow', () => {
  it('subtracts the previous counters per role and query id; unchanged entries drop out', () => {
    const w = observationWindow(
      stats([
        ['a', '1', 10],
        ['b', '1', 5],
        ['a', '2', 7],
        ['a', '3', 2],
      ]),
      snapshot([
        ['a', '1', 4],
        ['b', '1', 5],
        ['a', '2', 9],
      ]),
    );
    expect(w.mode).toBe('delta');
    expect(w.start).toBe('2024-01-01T12:00:00Z');
    // a/1 ran 6 more times; b/1 did not run; a/2 went down (evicted and re-added): counted in full; a/3 is new.
    expect(w.stats.entries.map((e) => [e.role, e.queryId, e.calls, e.rows, e.totalTimeMs])).toEqual(
      [
        ['a', '1', 6, 12, 18],
        ['a', '2', 7, 14, 21],
        ['a', '3', 2, 4, 6],
      ],
    );
  });

  it('falls back to everything since the reset when the counters were reset or belong elsewhere', () => {
    const current = stats([['a', '1', 3]], '2024-01-01T18:00:00Z');
    const reset = observationWindow(current, snapshot([['a', '1', 10]]));
    expect(reset).toMatchObject({ mode: 'since-reset', start: '2024-01-01T18:00:00Z' });
    expect(reset.note).toContain('reset');
    expect(reset.stats.entries[0]!.calls).toBe(3);
    const other = observationWindow(current, {
      ...snapshot([]),
      database: 'other',
      counters: { statsReset: '2024-01-01T18:00:00Z', entries: [] },
    });
    expect(other.note).toContain('database other');
    expect(observationWindow(current, undefined)).toMatchObject({ mode: 'since-reset' });
  });
});

describe('exported files', () => {
  it('parses CSV with quotes, doubled quotes, commas and newlines inside fields', () => {
    expect(parseCsv('a,b\r\n"x, ""y""","line1\nline2"\n,\n')).toEqual([
      ['a', 'b'],
      ['x, "y"', 'line1\nline2'],
      ['', ''],
    ]);
  });

  it('reads CSV rows, adds planning time, keeps only this database, derives ids from the text', () => {
    const file = path.join(dir, 'stats.csv');
    fs.writeFileSync(
      file,
      'rolname,datname,query,calls,rows,total_exec_time,total_plan_time,toplevel\n' +
        'app,app,"SELECT ""Größe"" FROM t",3,30,1.5,0.5,t\n' +
        'app,other,SELECT 2,1,1,1,0,t\n' +
        'app,app,SELECT 3,4,4,2,0,f\n',
    );
    const read = readStatementStatsFile(file, 'app');
    expect(read.skipped).toBe(1);
    expect(read.entries).toEqual([
      {
        role: 'app',
        queryId: expect.stringMatching(/^text:[0-9a-f]{16}$/),
        query: 'SELECT "Größe" FROM t',
        toplevel: true,
        calls: 3,
        rows: 30,
        totalTimeMs: 2,
      },
      {
        role: 'app',
        queryId: expect.stringMatching(/^text:/),
        query: 'SELECT 3',
        toplevel: false,
        calls: 4,
        rows: 4,
        totalTimeMs: 2,
      },
    ]);
  });

  it('reports every malformed row together', () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { query: 'SELECT 1', calls: 1 },
        { rolname: 'x', query: 'SELECT 1', calls: 'many' },
      ]),
    );
    try {
      readStatementStatsFile(file, 'app');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PgpactError);
      expect((error as PgpactError).problems.map((p) => p.message)).toEqual([
        'row 1 has no rolname (or role, usename)',
        'row 2 has no numeric calls',
      ]);
    }
  });
});

describe('the snapshot file', () => {
  it('round-trips and rejects what is not a snapshot', () => {
    const file = path.join(dir, 'nested', 'usage.json');
    const s = snapshot([['a', '1', 1]]);
    saveUsage(file, s);
    expect(loadUsage(file)).toEqual(s);
    fs.writeFileSync(file, '{"version": 2}');
    expect(() => loadUsage(file)).toThrow(/version 2, expected 1/);
  });
});
