import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect } from 'vitest';
import { startCluster } from '../../src/postgres/local-server.js';
import type { TestServer } from '../helpers/postgres.js';
import { columnsOf, leftovers, runCli } from './helpers.js';
import { HOT, seeded, type Writers } from './writers.js';

/** Shared by the crash tests of rollback and of the server (crash.test.ts covers pgpact in start and complete). */

/** A small deterministic PRNG, so a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Milliseconds from the first line matching `pattern` to the result on stdout, from one uninterrupted run. */
export async function measure(args: string[], pattern: RegExp): Promise<number> {
  const run = await runCli(args);
  if (run.code !== 0 || run.stdoutMs === undefined)
    throw new Error(`calibration run failed: ${run.stderr}`);
  const line = run.stderrLines.find((l) => pattern.test(l.text));
  if (!line) throw new Error(`calibration: no line matches ${pattern}: ${run.stderr}`);
  return Math.max(20, run.stdoutMs - line.ms);
}

/** The seeded address of every users.account row (createAccounts): `<street> <id>`. */
const SEEDED = `(ARRAY['Main Street', 'Elm Road', 'Am Markt', 'Rue de la Paix'])[1 + id % 4] || ' ' || id`;

/** The crash fixture (crash.yaml) rolled back: the original shape, every row as seeded, nothing of pgpact left. */
export async function expectRolledBack(
  c: pg.Client,
  rows: number,
  writers?: Writers,
): Promise<void> {
  expect(await columnsOf(c, 'users', 'account')).toEqual([
    'id',
    'name',
    'street_and_number',
    'zip',
    'hits',
  ]);
  expect(await columnsOf(c, 'users', 'login')).toEqual(['id', 'account_id', 'email']);
  // Every row as seeded, or as its last write through the old column left it.
  const data = await c.query<{ id: string; address: string; hits: number }>(
    'SELECT id, street_and_number AS address, hits FROM users.account',
  );
  const wrong: string[] = [];
  let hot = 0;
  for (const r of data.rows) {
    const id = Number(r.id);
    const e = writers?.expected.get(id) ?? (id <= rows ? seeded(id) : undefined);
    if (HOT.includes(id)) hot += r.hits;
    if (!e) wrong.push(`${id}: not written by anyone`);
    else if (r.address !== `${e.street} ${e.number}` || (!HOT.includes(id) && r.hits !== e.hits))
      wrong.push(`${id}: expected ${JSON.stringify(e)}, found ${JSON.stringify(r)}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(data.rows.length).toBe(rows + (writers?.writes.insert ?? 0));
  expect(hot).toBe(writers?.hotHits ?? 0);
  const gone = await c.query(
    `SELECT to_regclass('users.audit') AS audit, to_regclass('users.account_street_idx') AS idx`,
  );
  expect(gone.rows[0]).toEqual({ audit: null, idx: null });
  const constraints = await c.query(
    `SELECT conname FROM pg_constraint WHERE conrelid = 'users.account'::regclass AND contype <> 'n' AND conname <> 'account_pkey'`,
  );
  expect(constraints.rows).toEqual([]);
  expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
  expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
  const history = await c.query(
    'SELECT outcome FROM pgpact.migration_history ORDER BY finished_at DESC LIMIT 1',
  );
  expect(history.rows).toEqual([{ outcome: 'rolled_back' }]);
}

/** The crash fixture completed: the new shape only, every row split as seeded, raw SQL exactly once. */
export async function expectCompleted(c: pg.Client, rows: number): Promise<void> {
  expect(await columnsOf(c, 'users', 'account')).toEqual([
    'id',
    'name',
    'zip',
    'hits',
    'street',
    'number',
  ]);
  expect(await columnsOf(c, 'users', 'login')).toEqual(['id', 'account_id', 'address']);
  const wrong = await c.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE street || ' ' || number IS DISTINCT FROM ${SEEDED})::int AS wrong,
            count(*) FILTER (WHERE zip = '00000')::int AS filled FROM users.account`,
  );
  expect(wrong.rows[0]).toEqual({ n: rows, wrong: 0, filled: rows / 10 });
  const notes = await c.query('SELECT note FROM users.audit ORDER BY id');
  expect(notes.rows.map((r) => r.note)).toEqual(['started', 'completed']);
  const invalid = await c.query(
    'SELECT indexrelid::regclass::text AS i FROM pg_index WHERE NOT indisvalid',
  );
  expect(invalid.rows).toEqual([]);
  const constraint = await c.query(
    `SELECT convalidated FROM pg_constraint WHERE conname = 'account_number_present'`,
  );
  expect(constraint.rows).toEqual([{ convalidated: true }]);
  expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
  expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills the test's Postgres server the hard way: SIGKILL to the postmaster and every
 * process it started (as an out-of-memory killer would), then waits until all are gone.
 */
export async function killServer(server: TestServer): Promise<void> {
  const pidFile = path.join(server.dataDir, 'postmaster.pid');
  const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
    .toString()
    .split(/\s+/)
    .filter((p) => p !== '')
    .map(Number);
  for (const pid of [postmaster, ...children]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 30_000;
  while ([postmaster, ...children].some(alive)) {
    if (Date.now() > deadline) throw new Error('the killed server processes did not go away');
    await sleep(50);
  }
}

/** Starts the killed server again on its data directory and port (crash recovery runs). */
export async function restartServer(server: TestServer): Promise<void> {
  await startCluster(server.binaries, server.rootDir, server.port);
}
