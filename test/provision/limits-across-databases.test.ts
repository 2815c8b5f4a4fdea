/**
 * Two databases on one server, each with its own manifest and a service `shop` using the same
 * role: each database keeps its own settings; the connection limit, which Postgres keeps per
 * role for the whole server, is not silently overwritten by the second manifest.
 */
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import { connectionLimitRecord } from '../../src/provision/limits.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, snapshot, tempDir } from './fixtures.js';

const shop = (limits: string, role = 'xdb_shop') =>
  parseManifest(
    `version: 1\nservices:\n  shop:\n    role: ${role}\n    owns: [shop]\n    limits: { ${limits} }\n`,
    '/virtual/pgpact.yaml',
  );

const dbName = (url: string) => new URL(url).pathname.slice(1);

async function settingsAs(url: string, stateDir: string, role = 'xdb_shop') {
  return withClient(serviceUrl(url, role, stateDir), async (c) => {
    const { rows } = await c.query<{ st: string; wm: string }>(
      `SELECT current_setting('statement_timeout') AS st, current_setting('work_mem') AS wm`,
    );
    return rows[0];
  });
}

describeEachServer('limits across two databases of one server', (server) => {
  it("each database keeps its own settings; a second manifest's connection limit is reported, not applied", async () => {
    const first = await server().createDatabase();
    const second = await server().createDatabase();
    const stateDir = tempDir();
    const one = shop('connections: 5, statement_timeout: 2s, work_mem: 8MB');
    const two = shop('connections: 7, statement_timeout: 30s');

    await applyProvisioning(first, one, { stateDir });
    await applyProvisioning(second, two, { stateDir });
    expect((await planFor(first, one)).steps).toEqual([]);
    expect((await planFor(second, two)).steps).toEqual([]);

    // The second apply left the first database's values alone.
    expect(await settingsAs(first, stateDir)).toEqual({ st: '2s', wm: '8MB' });
    expect(await settingsAs(second, stateDir)).toEqual({ st: '30s', wm: '4MB' });

    // One connection limit for the role: the first manifest's, and the second's plan says so.
    const role = (await snapshot(second)).roles.find((r) => r.name === 'xdb_shop')!;
    expect(role.connectionLimit).toBe(5);
    const conflict = (await planFor(second, two)).findings.find(
      (f) => f.kind === 'connection-limit-conflict',
    );
    expect(conflict).toMatchObject({ severity: 'warning', object: 'xdb_shop' });
    expect(conflict!.message).toContain(`set by the manifest of database ${dbName(first)}`);
    expect(conflict!.message).toContain('wants connections: 7');
    // The first database's manifest owns the limit: changing it there still works.
    const changed = shop('connections: 6, statement_timeout: 2s, work_mem: 8MB');
    await applyProvisioning(first, changed, { stateDir });
    expect((await snapshot(first)).roles.find((r) => r.name === 'xdb_shop')!.connectionLimit).toBe(
      6,
    );
  });

  it('moves settings an earlier pgpact set for every database without changing any database', async () => {
    const first = await server().createDatabase();
    const other = await server().createDatabase();
    const stateDir = tempDir();
    await applyProvisioning(first, shop('statement_timeout: 2s', 'xdb_old'), { stateDir });
    // What pgpact did before settings went per database: the value on the role, for every database.
    await withClient(first, (c) =>
      c.query(`ALTER ROLE xdb_old IN DATABASE ${JSON.stringify(dbName(first))} RESET ALL;
               ALTER ROLE xdb_old SET statement_timeout = '9s'; ALTER ROLE xdb_old SET work_mem = '2MB'`),
    );
    expect(await settingsAs(other, stateDir, 'xdb_old')).toEqual({ st: '9s', wm: '2MB' });

    const manifest = shop('statement_timeout: 3s', 'xdb_old');
    const plan = (await planFor(first, manifest)).steps.map((s) => s.sql);
    expect(plan).toEqual(
      expect.arrayContaining([
        `ALTER ROLE "xdb_old" IN DATABASE "${dbName(other)}" SET statement_timeout = '9s'`,
        'ALTER ROLE "xdb_old" RESET statement_timeout',
        `ALTER ROLE "xdb_old" IN DATABASE "${dbName(first)}" SET statement_timeout = '3000ms'`,
      ]),
    );
    await applyProvisioning(first, manifest, { stateDir });
    expect((await planFor(first, manifest)).steps).toEqual([]);
    const role = (await snapshot(first)).roles.find((r) => r.name === 'xdb_old')!;
    expect(role.settings).toEqual({});
    // Sessions in the other database see exactly what they saw before; this one its manifest.
    expect(await settingsAs(other, stateDir, 'xdb_old')).toEqual({ st: '9s', wm: '2MB' });
    expect(await settingsAs(first, stateDir, 'xdb_old')).toEqual({ st: '3s', wm: '4MB' });
  });

  it('records the database that set the limit whatever its name holds (quotes, a line break)', async () => {
    const name = `weird "db"\n${Date.now() % 100000}`;
    await withClient(server().url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    const url = urlWith(server().url, { database: name });
    const stateDir = tempDir();
    const manifest = shop('connections: 3', 'xdb_weird');
    await applyProvisioning(url, manifest, { stateDir });
    expect((await planFor(url, manifest)).steps).toEqual([]);
    const role = (await snapshot(url)).roles.find((r) => r.name === 'xdb_weird')!;
    expect(connectionLimitRecord(role.comment)).toEqual({ limit: 3, database: name });
    // Another database asking for another limit is told which one set it.
    const other = await server().createDatabase();
    const plan = await planFor(other, shop('connections: 4', 'xdb_weird'));
    expect(plan.steps.filter((s) => s.sql.includes('CONNECTION LIMIT'))).toEqual([]);
    expect(plan.findings.find((f) => f.kind === 'connection-limit-conflict')?.message).toContain(
      `set by the manifest of database ${name}`,
    );
  });

  it("keeps the role's own comment, blank lines and all, next to the record", async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'xdb_commented') THEN CREATE ROLE xdb_commented LOGIN; END IF;
        END $$;
        COMMENT ON ROLE xdb_commented IS E'owned by team shop\n\nask #shop';`),
    );
    const manifest = shop('connections: 2', 'xdb_commented');
    await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect((await planFor(url, manifest)).steps).toEqual([]);
    const role = (await snapshot(url)).roles.find((r) => r.name === 'xdb_commented')!;
    expect(role.comment).toBe(
      `owned by team shop\n\nask #shop\npgpact: connection limit 2 set by database ${JSON.stringify(dbName(url))}`,
    );
  });
});
