import { expect, it } from 'vitest';
import { connect, withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, tempDir } from './fixtures.js';

describeEachServer('limits set on the role', (server) => {
  it('refuse a connection past the limit and hold timeouts at login', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { manifest } = projectManifest({
      'pgpact.yaml': `version: 1
services:
  users:
    role: lim_users
    owns: [users]
    limits:
      connections: 2
      statement_timeout: 0.2s
      lock_timeout: 100ms
      idle_in_transaction_session_timeout: 1min
      work_mem: 16MB
      parallel_workers: 0
`,
    });
    await applyProvisioning(url, manifest, { stateDir });
    expect((await planFor(url, manifest)).steps).toEqual([]);
    const service = serviceUrl(url, 'lim_users', stateDir);

    const open = [await connect(service), await connect(service)];
    try {
      await expect(connect(service)).rejects.toMatchObject({ pg: { code: '53300' } });
    } finally {
      for (const c of open) await c.end();
    }

    await withClient(service, async (c) => {
      const { rows } = await c.query<Record<string, string>>(
        `SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt,
                current_setting('idle_in_transaction_session_timeout') AS it, current_setting('work_mem') AS wm,
                current_setting('max_parallel_workers_per_gather') AS pw`,
      );
      expect(rows[0]).toEqual({ st: '200ms', lt: '100ms', it: '1min', wm: '16MB', pw: '0' });
      const began = Date.now();
      await expect(c.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - began).toBeLessThan(3000);
    });
  });

  it('bound the parallel workers of a service, which its connection limit does not', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 100000) g; ANALYZE big`),
    );
    const stateDir = tempDir();
    const manifestWith = (workers: string) =>
      projectManifest({
        'pgpact.yaml': `version: 1
services:
  "Reporting Team":
    role: "report writer"
    owns: [reports]
    limits: { connections: 1${workers} }
`,
      }).manifest;
    const one = manifestWith(', parallel_workers: 1');
    await applyProvisioning(url, one, { stateDir });
    expect((await planFor(url, one)).steps).toEqual([]);
    await withClient(url, (c) => c.query('GRANT SELECT ON big TO "report writer"'));
    const service = serviceUrl(url, 'report writer', stateDir);
    const plannedWorkers = async () =>
      withClient(service, async (c) => {
        await c.query('SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0');
        const { rows } = await c.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT count(*) FROM big');
        const line = rows.map((r) => r['QUERY PLAN']).find((l) => l.includes('Workers Planned'));
        return line === undefined ? 0 : Number(/Workers Planned: (\d+)/.exec(line)![1]);
      });
    // One connection, yet without the limit its query would plan more workers than that.
    expect(await plannedWorkers()).toBe(1);

    // Dropping the key resets the setting; 0 turns parallel query off.
    const none = manifestWith('');
    const reset = await planFor(url, none);
    expect(reset.steps.map((s) => s.sql)).toEqual([
      `ALTER ROLE "report writer" IN DATABASE "${new URL(url).pathname.slice(1)}" RESET max_parallel_workers_per_gather`,
    ]);
    expect(reset.steps[0]!.reason).toBe(
      'service Reporting Team no longer declares parallel_workers (was 1)',
    );
    const off = manifestWith(', parallel_workers: 0');
    await applyProvisioning(url, off, { stateDir });
    expect(await plannedWorkers()).toBe(0);
  });
});
