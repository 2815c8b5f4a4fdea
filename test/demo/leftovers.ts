import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../../src/postgres/local-server.js';

/** Temporary directories a pgpact process with this pid made (throwaway servers, demo state). */
export function tempDirsOf(pid: number): string[] {
  return fs
    .readdirSync(os.tmpdir())
    .filter((e) => e.startsWith(`pgpact-${pid}-`))
    .map((e) => path.join(os.tmpdir(), e));
}

/** The postmaster pid of a throwaway server made by that pid, if one runs. */
export function throwawayPostgresPids(pid: number): number[] {
  return tempDirsOf(pid).flatMap((dir) => {
    try {
      return [
        Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]),
      ];
    } catch {
      return [];
    }
  });
}

/** Waits until none of the pids runs, up to timeoutMs; returns those still alive. */
export async function waitGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((p) => processAlive(p));
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}
