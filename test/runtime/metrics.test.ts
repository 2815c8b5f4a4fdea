import { expect, it } from 'vitest';
import { runCommand } from '../../src/cli/main.js';
import { withClient } from '../../src/postgres/client.js';
import { RuntimeMonitor, type RuntimeReport } from '../../src/runtime/monitor.js';
import { escapeLabelValue, serveMetrics } from '../../src/server/metrics.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, openAs, waitFor } from './helpers.js';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format back (label escapes included); throws on any malformed line. */
function parseExposition(text: string): { types: Map<string, string>; series: Series[] } {
  const types = new Map<string, string>();
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    let i = 0;
    while (i < body.length) {
      const name = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(body.slice(i));
      if (!name) throw new Error(`malformed labels: ${body}`);
      i += name[0].length;
      let value = '';
      while (body[i] !== '"') {
        if (i >= body.length) throw new Error(`unterminated label: ${body}`);
        if (body[i] === '\\') {
          const next = body[i + 1];
          value += next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : `\\${next}`;
          i += 2;
        } else value += body[i++];
      }
      labels[name[1]!] = value;
      i += 1;
      if (body[i] === ',') i += 1;
    }
    const value = Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    series.push({ name: m[1]!, labels, value });
  }
  return { types, series };
}

it('escapes backslash, double quote and newline in label values', () => {
  expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
});

describeEachServer('the /metrics endpoint', (server) => {
  it('serves per-service series that parse back, names intact', async () => {
    const db = await server().createDatabase('metrics');
    const odd = 'rep"ort\\ing\nteam';
    const oddUrl = await createLoginRole(db, odd, { connectionLimit: 3 });
    const usersUrl = await createLoginRole(db, 'users');
    await withClient(db, (c) =>
      c.query(`CREATE TABLE account (id int PRIMARY KEY, v int); INSERT INTO account VALUES (1, 0);
               GRANT SELECT, UPDATE ON account TO users, "rep""ort\\ing
team";`),
    );
    const monitorClient = await openAs(db, 'pgpact test');
    const holder = await openAs(oddUrl, 'report');
    const waiter = await openAs(usersUrl, 'users-api');
    let report: RuntimeReport | undefined;
    const monitor = await RuntimeMonitor.create(monitorClient);
    const served = await serveMetrics({
      host: '127.0.0.1',
      port: 0,
      latest: () => ({ report, samplesTaken: monitor.samplesTaken }),
    });
    try {
      expect((await fetch(served.url)).status).toBe(503);
      await monitor.tick();
      for (let i = 0; i < 20; i += 1) await waiter.query('SELECT 1');
      await holder.query('BEGIN');
      await holder.query('UPDATE account SET v = 1 WHERE id = 1');
      const blocked = waiter.query('UPDATE account SET v = 2 WHERE id = 1').catch((e: Error) => e);
      report = await waitFor(async () => {
        const r = await monitor.tick();
        return r.sample.lockWaits.length > 0 ? r : undefined;
      });

      const response = await fetch(served.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const { types, series } = parseExposition(await response.text());
      const one = (name: string, labels: Record<string, string>) =>
        series.filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        );
      expect(types.get('pgpact_service_db_time_seconds_total')).toBe('counter');
      expect(types.get('pgpact_service_connections')).toBe('gauge');
      expect(one('pgpact_service_connection_limit', { service: odd })[0]!.value).toBe(3);
      expect(
        one('pgpact_service_connections', { service: odd, state: 'idle_in_transaction' })[0]!.value,
      ).toBe(1);
      expect(
        one('pgpact_service_connections', { service: 'users', state: 'active' })[0]!.value,
      ).toBe(1);
      expect(one('pgpact_service_waiting_sessions', { service: 'users' })[0]!.value).toBe(1);
      // Waiting for a lock is not using a CPU.
      expect(types.get('pgpact_service_busy_processes')).toBe('gauge');
      expect(one('pgpact_service_busy_processes', { service: 'users' })[0]!.value).toBe(0);
      expect(
        one('pgpact_lock_waits', { waiting_service: 'users', holding_service: odd })[0]!.value,
      ).toBe(1);
      expect(one('pgpact_service_lock_waits_total', { service: 'users' })[0]!.value).toBe(1);
      expect(one('pgpact_service_info', { service: odd })[0]!.labels).toEqual({
        service: odd,
        role: odd,
        attribution: 'role',
      });
      expect(one('pgpact_findings', { kind: 'idle-in-transaction-blocker' })[0]!.value).toBe(1);
      expect(one('pgpact_sampler_duration_seconds', {})[0]!.value).toBeGreaterThan(0);
      expect(one('pgpact_samples_total', {})[0]!.value).toBe(monitor.samplesTaken);
      expect(
        one('pgpact_service_calls_total', { service: 'users' })[0]!.value,
      ).toBeGreaterThanOrEqual(20);
      expect(one('pgpact_up', {})[0]!.value).toBe(1);
      // Every series belongs to a family with a TYPE.
      for (const s of series) expect(types.has(s.name), s.name).toBe(true);

      const head = await fetch(served.url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect((await fetch(served.url.replace('/metrics', '/other'))).status).toBe(404);
      await holder.query('ROLLBACK');
      expect(await blocked).not.toBeInstanceOf(Error);
    } finally {
      await served.close();
      await closeAll([holder, waiter, monitorClient]);
    }
  });

  it('pgpact metrics serves until Ctrl-C (the abort signal), bound to 127.0.0.1', async () => {
    const db = await server().createDatabase('metricscli');
    const out: string[] = [];
    const err: string[] = [];
    const controller = new AbortController();
    const running = runCommand(
      ['metrics', '--database-url', db, '--port', '0', '--interval', '200ms'],
      { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false },
      controller.signal,
    );
    const url = await waitFor(
      async () => /(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(out.join(''))?.[1],
    );
    const text = await waitFor(async () => {
      const r = await fetch(url);
      return r.status === 200 ? r.text() : undefined;
    });
    expect(parseExposition(text).series.some((s) => s.name === 'pgpact_connections')).toBe(true);
    controller.abort();
    expect(await running).toBe(0);
    expect(err.join('')).toBe('');
    await expect(fetch(url)).rejects.toThrow();
  });
});
