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
                current_setting('idle_in_transaction_session_timeout') AS it, current_setting('work_mem') AS wm`,
      );
      expect(rows[0]).toEqual({ st: '200ms', lt: '100ms', it: '1min', wm: '16MB' });
      const began = Date.now();
      await expect(c.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - began).toBeLessThan(3000);
    });
  });
});
