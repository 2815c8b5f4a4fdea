import pg from 'pg';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import type { OldShapeUse } from '../../src/migrate/consumers.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { urlWith } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createBatchTables, MOVE_FILE, type MoveRoles } from './move-table-fixture.js';

/**
 * Old code that keeps using a moved table's old name is seen on every version, Postgres 18
 * included (where pg_stat_statements counts the old name's statement and the new name's as one
 * entry): by its lock on the compatibility view and by its session's last statement.
 */

const OLD_BATCH = 'public."Batch Changes"';
const NEW_BATCH = '"Batches"."Batch Changes"';
const QUIET_MS = 1500;

async function connect(url: string, application = 'pgpact-test'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: application });
  await c.connect();
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loginAs(c: pg.Client, url: string, role: string): Promise<string> {
  await c.query(`ALTER ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
  return urlWith(url, { user: role, password: `pw-${role}` });
}

function manifestFor(roles: MoveRoles) {
  return parseManifest(
    `version: 1
services:
  batches:
    role: ${roles.owner}
    owns: [Batches]
  reports:
    role: ${roles.reader}
  billing:
    role: ${roles.clerk}
  notes:
    role: ${roles.tenantA}
`,
    '/virtual/pgpact.yaml',
  );
}

const liveOf = (uses: OldShapeUse[]) => uses.filter((u) => u.seen !== undefined && u.blocking);

/** Runs `statement()` in a loop, each run short, until stopped. */
function loop(client: pg.Client, statement: () => [string, unknown[]]) {
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const [text, values] = statement();
      await client.query(text, values);
      await sleep(10);
    }
  })();
  return async () => {
    stop = true;
    await done;
  };
}

describeEachServer('move_table: old-name use seen live', (server) => {
  it('a reader that ran through the old name before start and keeps doing so blocks complete, named; once it names the new name complete goes through', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    try {
      const roles = await createBatchTables(c);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${roles.reader}`);
      const old = await connect(await loginAs(c, url, roles.reader), 'reports-v1');
      const manifest = manifestFor(roles);
      const select = (ref: string) => `SELECT note FROM ${ref} WHERE id = $1`;
      // Before start: on Postgres 18 this entry is the one every later run adds to.
      await old.query(select(OLD_BATCH), [1]);
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'));
      let target = OLD_BATCH;
      const stop = loop(old, () => [select(target), [2]]);
      try {
        const refused = await completeMigration(url, { manifest, quietForMs: QUIET_MS }).catch(
          (e) => e,
        );
        expect(refused).toBeInstanceOf(MigrationBlockedError);
        const live = liveOf((refused as MigrationBlockedError).uses);
        expect(live.map((u) => u.service)).toEqual(['reports']);
        expect(live[0]!.access).toBe('read');
        expect(live[0]!.change).toMatch(
          /^reports: deploy a version that names Batches\."Batch Changes" instead of public\."Batch Changes" .*seen now through .*(a lock on the view|its last statement) \(pid \d+, application reports-v1\)/,
        );
        expect((await c.query('SELECT phase FROM pgpact.migrations')).rows[0].phase).toBe('active');
        const assessment = (refused as MigrationBlockedError).assessment!;
        if (server().label === 'embedded PG 18')
          expect(assessment.uses.find((u) => u.ambiguous)?.change ?? '').toMatch(
            /pg_stat_statements on PostgreSQL 18 counts statements through the old name and the new one as one entry/,
          );

        // The new version: the same statement, naming the new name.
        target = NEW_BATCH;
        await sleep(300);
        const status = (await migrationStatus(url, { manifest, quietForMs: QUIET_MS }))!;
        expect(liveOf(status.consumers.uses)).toEqual([]);
        await sleep(QUIET_MS + 100);
        const done = await completeMigration(url, { manifest, quietForMs: QUIET_MS });
        expect(done.outcome).toBe('completed');
        expect(done.forcedPast).toEqual([]);
      } finally {
        await stop();
        await old.end();
      }
    } finally {
      await c.end();
    }
  }, 120_000);

  it('an idle pooled connection whose last statement used the old name, and a writer inserting through it, are named', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    try {
      const roles = await createBatchTables(c);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${roles.clerk}, ${roles.tenantA}`);
      const pooled = await connect(await loginAs(c, url, roles.clerk), 'billing-pool');
      const writer = await connect(await loginAs(c, url, roles.tenantA), 'notes-v1');
      const manifest = manifestFor(roles);
      await writer.query(`INSERT INTO tenant_notes (body) VALUES ($1)`, ['before']);
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'));
      await pooled.query(`SELECT id, "Key" FROM ${OLD_BATCH} WHERE id = $1`, [1]);
      // A transaction that read through the old name and went on: its lock on the view tells.
      await c.query(`GRANT USAGE ON SCHEMA public TO ${roles.reader}`);
      const open = await connect(await loginAs(c, url, roles.reader), 'reports-tx');
      await open.query('BEGIN');
      await open.query(`SELECT count(*) FROM ${OLD_BATCH}`);
      await open.query('SELECT 1');
      const stop = loop(writer, () => [`INSERT INTO tenant_notes (body) VALUES ($1)`, ['old']]);
      try {
        const status = (await migrationStatus(url, { manifest, quietForMs: QUIET_MS }))!;
        const idle = liveOf(status.consumers.uses).find((u) => u.service === 'billing');
        expect(idle?.seen).toEqual(['last statement']);
        expect(idle?.change).toMatch(/its last statement \(pid \d+, application billing-pool\)/);
        const locked = liveOf(status.consumers.uses).find((u) => u.service === 'reports');
        expect(locked?.seen).toEqual(['lock']);
        expect(locked?.change).toMatch(/a lock on the view \(pid \d+, application reports-tx\)/);
        const refused = await completeMigration(url, { manifest, quietForMs: QUIET_MS }).catch(
          (e) => e,
        );
        expect(refused).toBeInstanceOf(MigrationBlockedError);
        const live = liveOf((refused as MigrationBlockedError).uses);
        expect(live.map((u) => u.service).sort()).toEqual(['billing', 'notes', 'reports']);
        const notes = live.find((u) => u.service === 'notes')!;
        expect(notes.access).toBe('write');
        expect(notes.columns).toEqual(['public.tenant_notes.*']);
      } finally {
        await stop();
        await open.end();
        await writer.end();
        await pooled.end();
      }
    } finally {
      await c.end();
    }
  }, 120_000);
});
