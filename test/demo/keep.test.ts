import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import type { DemoReport } from '../../src/demo/run-demo.js';
import { processAlive } from '../../src/postgres/local-server.js';
import { waitGone } from './leftovers.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-keep-test-'));
// As root, Postgres runs as the `postgres` OS user, which must be able to reach the state dir.
fs.chmodSync(home, 0o755);
process.env.PGPACT_HOME = home;

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

describe('pgpact demo --keep', () => {
  let report: DemoReport | undefined;
  afterAll(async () => {
    // Whatever happened, stop what was kept and remove the state.
    await runCommand(['demo', '--stop'], capture());
    const pids = report?.kept?.processes.map((p) => p.pid) ?? [];
    await waitGone(pids, 5000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('leaves the services, traffic and its own Postgres running, and --stop ends them all', async () => {
    const output = capture();
    const code = await runCommand(['demo', '--keep', '--json', '--duration', '1'], output);
    expect([code, code === 0 ? '' : output.stderr]).toEqual([0, '']);
    report = JSON.parse(output.stdout) as DemoReport;
    expect(report.serverKind).toBe('persistent');
    const kept = report.kept!;
    expect(kept.processes.map((p) => p.name)).toEqual([
      'users',
      'invoicing',
      'reporting',
      'traffic',
      'dashboard',
    ]);
    expect(kept.database).toMatch(/:\*\*\*@/);
    for (const p of kept.processes.filter((x) => x.url)) {
      const health = await fetch(`${p.url}/health`);
      expect(health.status, p.name).toBe(200);
    }
    expect(processAlive(kept.processes[3]!.pid)).toBe(true);
    // The dashboard runs on the demo's state: the map has reporting's observed reads beyond its contract.
    const dashboard = kept.processes.find((p) => p.name === 'dashboard')!;
    expect(output.stderr).toContain(dashboard.url);
    const state = (await (await fetch(`${dashboard.url}api/state`)).json()) as {
      map: {
        available: boolean;
        data?: { edges: { service: string; table: string; undeclaredColumns: string[] }[] };
      };
    };
    expect(state.map.available).toBe(true);
    const reportingEdge = state.map.data!.edges.find(
      (e) => e.service === 'reporting' && e.table === 'users.account',
    );
    expect(reportingEdge?.undeclaredColumns).toEqual(
      expect.arrayContaining(['city', 'name', 'zip']),
    );
    expect(fs.existsSync(path.join(home, 'demo', 'demo.json'))).toBe(true);
    const postgres = report.started!.postgresPid!;
    expect(processAlive(postgres)).toBe(true);

    await new Promise((r) => setTimeout(r, 1500)); // let the kept traffic run a little
    const stop = capture();
    expect(await runCommand(['demo', '--stop'], stop)).toBe(0);
    expect(stop.stdout).toMatch(
      /stopped: users, invoicing, reporting, traffic, dashboard, Postgres/,
    );
    expect(await waitGone([...kept.processes.map((p) => p.pid), postgres], 5000)).toEqual([]);
    expect(fs.existsSync(path.join(home, 'demo', 'demo.json'))).toBe(false);
    const afterStop = await fetch(`${dashboard.url}api/health`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(afterStop).toBe('refused');
    // The detached traffic ran against the kept services without an error until it was stopped.
    const trafficLog = fs.readFileSync(kept.processes[3]!.logFile, 'utf8').trim().split('\n');
    const final = JSON.parse(trafficLog[trafficLog.length - 1]!) as {
      event: string;
      total: { requests: number; errors: number };
    };
    expect(final.event).toBe('traffic-final');
    expect(final.total.requests).toBeGreaterThan(0);
    expect(final.total.errors).toBe(0);
    const again = capture();
    await runCommand(['demo', '--stop'], again);
    expect(again.stdout).toMatch(/nothing of the demo was running/);
  }, 150_000); // the whole story, then a dashboard process started from the sources
});
