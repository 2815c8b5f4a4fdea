import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cleanStaleThrowaways } from '../../src/postgres/local-server.js';
import { tempDirsOf, throwawayPostgresPids, waitGone } from './leftovers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `pgpact demo` as its own process (from the sources), collecting its output. */
function startDemo(args: string[]): {
  child: ChildProcess;
  output: () => string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  exit: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/demo/fixtures/run-cli.ts', 'demo', ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return {
    child,
    output: () => text,
    exit,
    async waitFor(re, ms = 40_000) {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`never saw ${re}; output:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

function servicePids(text: string): number[] {
  return [...text.matchAll(/^\s+(users|invoicing|reporting)\s+http:\S+\s+pid (\d+)/gm)].map((m) =>
    Number(m[2]),
  );
}

describe('pgpact demo as a process', () => {
  it('Ctrl-C in the middle stops the services, the traffic and Postgres, and removes its temp dirs', async () => {
    const demo = startDemo(['--duration', '30']);
    await demo.waitFor(/measuring the traffic/);
    const pid = demo.child.pid!;
    const services = servicePids(demo.output());
    const postgres = throwawayPostgresPids(pid);
    expect(services).toHaveLength(3);
    expect(postgres).toHaveLength(1);
    expect(tempDirsOf(pid)).toHaveLength(2);
    const interruptedAt = Date.now();
    demo.child.kill('SIGINT');
    expect(await demo.exit).toBe(130);
    expect(Date.now() - interruptedAt).toBeLessThan(15_000);
    expect(demo.output()).toMatch(/interrupted: everything the demo started was stopped/);
    expect(await waitGone([...services, ...postgres], 5000)).toEqual([]);
    expect(tempDirsOf(pid)).toEqual([]);
  });

  it('if pgpact is killed outright, the services exit by themselves and the next run removes the stale Postgres', async () => {
    const demo = startDemo(['--duration', '30']);
    await demo.waitFor(/measuring the traffic/);
    const pid = demo.child.pid!;
    const services = servicePids(demo.output());
    const postgres = throwawayPostgresPids(pid);
    expect(services).toHaveLength(3);
    demo.child.kill('SIGKILL');
    await demo.exit;
    expect(await waitGone(services, 5000)).toEqual([]);
    cleanStaleThrowaways(['pgpact']);
    expect(await waitGone(postgres, 10_000)).toEqual([]);
    expect(tempDirsOf(pid)).toEqual([]);
  });
});
