import pg from 'pg';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import { formatStatus } from '../../src/migrate/format.js';
import { readMigrationStatus } from '../../src/migrate/read-status.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { describeEachServer } from '../helpers/postgres.js';
import { columnsOf } from './helpers.js';
import {
  createBatchTables,
  MOVE_FILE,
  outcomes,
  roleStatements,
  shapeOf,
} from './move-table-fixture.js';

const OLD_BATCH = 'public."Batch Changes"';
const NEW_BATCH = '"Batches"."Batch Changes"';

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

function manifestFor(roles: { owner: string; reader: string }) {
  return parseManifest(
    `version: 1
services:
  batches:
    role: ${roles.owner}
    owns: ['public."Batch Changes"', public.tenant_notes]
  reports:
    role: ${roles.reader}
    reads:
      'public."Batch Changes"': [id, Key]
`,
    '/virtual/pgpact.yaml',
  );
}

describeEachServer('move_table', (server) => {
  it('start moves the tables with everything they carry; the old names keep working for every role exactly as before', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    try {
      const roles = await createBatchTables(c);
      const before = await outcomes(
        c,
        roleStatements(OLD_BATCH, 'public.tenant_notes', roles),
        roles,
      );
      // Unqualified names resolve through search_path as old code writes them.
      const bare = await outcomes(
        c,
        roleStatements('"Batch Changes"', 'tenant_notes', roles),
        roles,
      );
      const publicBefore = await shapeOf(c, 'public');
      const columns = await columnsOf(c, 'public', 'Batch Changes');

      const migration = await parseMigration(MOVE_FILE, '/virtual/move.yaml');
      const result = await startMigration(url, migration);
      expect(result.phase).toBe('active');
      expect(result.notes.join('\n')).toMatch(/tenant_notes has row-level security/);

      // Through the old name (a view now), qualified or not, and through the new one: same outcomes.
      expect(
        await outcomes(c, roleStatements(OLD_BATCH, 'public.tenant_notes', roles), roles),
      ).toEqual(before);
      expect(
        await outcomes(c, roleStatements('"Batch Changes"', 'tenant_notes', roles), roles),
      ).toEqual(bare);
      expect(
        await outcomes(c, roleStatements(NEW_BATCH, '"Batches".tenant_notes', roles), roles),
      ).toEqual(before);
      expect(await columnsOf(c, 'Batches', 'Batch Changes')).toEqual(columns);
      expect(await columnsOf(c, 'public', 'Batch Changes')).toEqual(columns);

      const moved = await shapeOf(c, 'Batches');
      const names = moved.relations.map((r) => `${r.name}:${r.kind}`);
      expect(names).toEqual(
        expect.arrayContaining([
          'Batch Changes:r',
          'Batch Changes_pkey:i',
          'Batch Changes_Key_key:i',
          'Batch Changes_id_seq:S',
          'Batch Changes_seq_seq:S',
          'batch_changes_batch:i',
          'tenant_notes:r',
          'tenant_notes_id_seq:S',
          'tenant_notes_pkey:i',
        ]),
      );
      // Grants, triggers and policies came along unchanged.
      const oldTable = publicBefore.relations.find((r) => r.name === 'Batch Changes')!;
      const newTable = moved.relations.find((r) => r.name === 'Batch Changes')!;
      expect(newTable.acl).toEqual(oldTable.acl);
      expect(newTable.columns).toEqual(oldTable.columns);
      expect(moved.triggers).toEqual([{ name: 'touch', rel: '"Batches"."Batch Changes"' }]);
      expect(moved.policies.map((p) => p.tablename)).toEqual(['tenant_notes']);
      const review = await c.query(
        `SELECT confrelid::regclass::text AS target FROM pg_constraint WHERE conrelid = 'public.change_review'::regclass AND contype = 'f'`,
      );
      expect(review.rows).toEqual([{ target: '"Batches"."Batch Changes"' }]);

      // The views: same owner and grants as the tables; invoker only where policies must apply.
      const publicNow = await shapeOf(c, 'public');
      const view = publicNow.relations.find((r) => r.name === 'Batch Changes')!;
      expect(view.kind).toBe('v');
      expect(view.owner).toBe(roles.owner);
      expect(view.acl).toEqual(oldTable.acl);
      expect(view.columns).toEqual(oldTable.columns);
      expect(view.options).toBeNull();
      const notesView = publicNow.relations.find((r) => r.name === 'tenant_notes')!;
      expect(notesView.kind).toBe('v');
      expect(notesView.options).toEqual(['security_invoker=true']);
      expect(notesView.acl).toEqual(
        publicBefore.relations.find((r) => r.name === 'tenant_notes')!.acl,
      );
      // The schema start created belongs to the tables' owner; everyone granted on them may use it.
      const schema = await c.query(
        `SELECT pg_get_userbyid(nspowner) AS owner, array(SELECT pg_get_userbyid(a.grantee)::text FROM aclexplode(nspacl) a WHERE a.privilege_type = 'USAGE' ORDER BY 1) AS usage
         FROM pg_namespace WHERE nspname = 'Batches'`,
      );
      expect(schema.rows[0].owner).toBe(roles.owner);
      expect(schema.rows[0].usage).toEqual(
        [roles.owner, roles.reader, roles.clerk, roles.tenantA, roles.tenantB].sort(),
      );

      // Defaults: an INSERT through the view leaving columns out (or writing DEFAULT) gets the
      // table's, including a default changed on the table after the move.
      await c.query(`ALTER TABLE ${NEW_BATCH} ALTER COLUMN note SET DEFAULT 'later'`);
      const inserted = await c.query(
        `INSERT INTO ${OLD_BATCH} (id, seq, batch_id, "Key", note) VALUES (DEFAULT, DEFAULT, 3, 'd1', DEFAULT) RETURNING id, seq, note, changed_at IS NOT NULL AS stamped`,
      );
      expect(inserted.rows[0].note).toBe('later');
      expect(inserted.rows[0].stamped).toBe(true);
      expect(Number(inserted.rows[0].id)).toBeGreaterThan(100);
      // What does not work through a view (FORMAT.md): ON CONFLICT ON CONSTRAINT, TRUNCATE, COPY FROM.
      await expect(
        c.query(
          `INSERT INTO ${OLD_BATCH} (batch_id, "Key") VALUES (1, 'k1') ON CONFLICT ON CONSTRAINT "Batch Changes_Key_key" DO NOTHING`,
        ),
      ).rejects.toThrow(/does not exist/);
      await expect(c.query(`TRUNCATE ${OLD_BATCH}`)).rejects.toThrow(/not a table/);

      // start again: nothing to do.
      expect((await startMigration(url, migration)).outcome).toBe('already-active');
      const done = await completeMigration(url, { force: true });
      expect(done.outcome).toBe('completed');
      const after = await c.query(
        `SELECT to_regclass('public."Batch Changes"') AS old, to_regclass('public.tenant_notes') AS notes, to_regclass('"Batches"."Batch Changes"')::text AS moved`,
      );
      expect(after.rows[0]).toEqual({ old: null, notes: null, moved: '"Batches"."Batch Changes"' });
      expect((await c.query(`SELECT count(*)::int AS n FROM ${NEW_BATCH}`)).rows[0].n).toBe(101);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('status and complete name every consumer of the old name; complete refuses while they remain', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    const reader = await connect(url);
    try {
      const roles = await createBatchTables(c);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${roles.reader}`);
      await reader.query(`SET ROLE ${roles.reader}`);
      // Run before the move: the same statement later naming the new name is the table's, not the view's.
      await reader.query(`SELECT id FROM public."Batch Changes" WHERE id = 1`);
      const manifest = manifestFor(roles);
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'));
      await reader.query(`SELECT "Key" FROM public."Batch Changes" WHERE id = 2`);
      await reader.query(`SELECT id FROM "Batches"."Batch Changes" WHERE id = 1`);
      await c.query(`CREATE VIEW public.batch_report AS SELECT id FROM public."Batch Changes"`);
      // The admin's own look through the old name is nobody's consumer.
      await c.query(`SELECT count(*) FROM public."Batch Changes" WHERE note IS NOT NULL`);

      const status = (await migrationStatus(url, { manifest }))!;
      expect(status.canComplete).toBe(false);
      // The read-only reading (the dashboard's) names the same blocking consumers.
      const reading = (await readMigrationStatus(c, { manifest }))!;
      const blockingOf = (list: typeof uses) =>
        list
          .filter((u) => u.blocking)
          .map((u) => `${u.source} ${u.change}`)
          .sort();
      expect(blockingOf(reading.uses)).toEqual(blockingOf(status.consumers.uses));
      const text = formatStatus(status);
      expect(text).toContain(
        'moved (a view keeps the old name until complete drops it):\n  public.Batch Changes -> Batches.Batch Changes\n  public.tenant_notes -> Batches.tenant_notes\n',
      );
      expect(text).toContain('complete: blocked by reports, view batch_report');
      const uses = status.consumers.uses;
      const blocking = uses.filter((u) => u.blocking);
      expect(blocking.find((u) => u.source === 'declared')?.change).toBe(
        'reports: in pgpact.yaml, change reads public."Batch Changes" to reads Batches."Batch Changes" (same columns)',
      );
      const observed = blocking.filter((u) => u.source === 'observed');
      expect(observed.map((u) => u.statement!.query)).toEqual([
        'SELECT "Key" FROM public."Batch Changes" WHERE id = $1',
      ]);
      expect(observed[0]!.service).toBe('reports');
      expect(observed[0]!.change).toMatch(
        /names Batches\."Batch Changes" instead of public\."Batch Changes"/,
      );
      expect(blocking.find((u) => u.source === 'dependency')?.view).toBe('batch_report');
      // Advice, not blocking: the owner's owns: entry, and objects that follow the table.
      const advice = uses.filter((u) => !u.blocking).map((u) => u.change);
      expect(advice).toContain(
        'batches: in pgpact.yaml, add Batches to owns (the table is Batches."Batch Changes" now); the entry for public."Batch Changes" can go after complete',
      );
      expect(advice.join('\n')).toMatch(
        /foreign key change_review_change_id_fkey of public\.change_review references the table itself/,
      );

      // A view on the compatibility view: complete (even --force) and rollback refuse, nothing changes.
      await expect(completeMigration(url, { manifest, force: true })).rejects.toThrow(
        /batch_report/,
      );
      const rollbackRefused = await rollbackMigration(url).catch((e) => e);
      expect(rollbackRefused.code).toBe('MIGRATION_BLOCKED');
      expect(rollbackRefused.detail).toMatch(
        /^view batch_report depends on the compatibility view public\.Batch Changes$/,
      );
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows[0].phase).toBe('active');
      await c.query('DROP VIEW public.batch_report');

      // Declared and observed consumers block complete without --force.
      const refused = await completeMigration(url, { manifest }).catch((e) => e);
      expect(refused).toBeInstanceOf(MigrationBlockedError);
      expect((refused as MigrationBlockedError).uses.map((u) => u.source).sort()).toEqual([
        'declared',
        'observed',
      ]);
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows[0].phase).toBe('active');
      expect(
        (
          await c.query(
            `SELECT relkind FROM pg_class WHERE oid = to_regclass('public."Batch Changes"')`,
          )
        ).rows,
      ).toEqual([{ relkind: 'v' }]);

      // Once the reader has moved (quiet since the last look) and the contract names the new table, complete goes through.
      const moved = parseManifest(
        `version: 1
services:
  batches:
    role: ${roles.owner}
    owns: [Batches]
  reports:
    role: ${roles.reader}
    reads:
      'Batches."Batch Changes"': [id, Key]
`,
        '/virtual/pgpact.yaml',
      );
      const calm = (await migrationStatus(url, { manifest: moved, quietForMs: 0 }))!;
      expect(calm.consumers.uses.filter((u) => u.blocking)).toEqual([]);
      expect(calm.canComplete).toBe(true);
      const done = await completeMigration(url, { manifest: moved, quietForMs: 0 });
      expect(done.outcome).toBe('completed');
      expect(done.forcedPast).toEqual([]);
      expect(
        (await c.query(`SELECT to_regclass('public."Batch Changes"') AS v`)).rows[0].v,
      ).toBeNull();
    } finally {
      await reader.end();
      await c.end();
    }
  }, 120_000);

  it('rollback from active moves the tables back and drops the views and the schema it created', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    try {
      const roles = await createBatchTables(c);
      const before = await shapeOf(c, 'public');
      const results = await outcomes(
        c,
        roleStatements(OLD_BATCH, 'public.tenant_notes', roles),
        roles,
      );
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'));
      const rolled = await rollbackMigration(url);
      expect(rolled).toMatchObject({ outcome: 'rolled-back', from: 'active' });
      expect(await shapeOf(c, 'public')).toEqual(before);
      expect(
        (await c.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'Batches'`))
          .rows[0].n,
      ).toBe(0);
      expect(
        await outcomes(c, roleStatements(OLD_BATCH, 'public.tenant_notes', roles), roles),
      ).toEqual(results);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('rollback after a complete that stopped half way (one view dropped) moves every table back', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    const holder = await connect(url);
    try {
      await createBatchTables(c);
      const before = await shapeOf(c, 'public');
      await startMigration(url, await parseMigration(MOVE_FILE, '/virtual/move.yaml'));
      // A reader holding the second view makes complete stop after dropping the first.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.tenant_notes IN ACCESS SHARE MODE');
      const stopped = await completeMigration(url, {
        force: true,
        lockTimeoutMs: 200,
        maxAttempts: 1,
      }).catch((e) => e);
      expect(stopped.code).toBe('MIGRATION_LOCK_TIMEOUT');
      await holder.query('ROLLBACK');
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows[0].phase).toBe(
        'completing',
      );
      const half = await c.query(
        `SELECT to_regclass('public."Batch Changes"') AS batch, to_regclass('public.tenant_notes')::text AS notes`,
      );
      expect(half.rows[0]).toEqual({ batch: null, notes: 'tenant_notes' });
      const rolled = await rollbackMigration(url);
      expect(rolled).toMatchObject({ outcome: 'rolled-back', from: 'completing' });
      expect(await shapeOf(c, 'public')).toEqual(before);
      expect(
        (await c.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'Batches'`))
          .rows[0].n,
      ).toBe(0);
    } finally {
      await holder.end();
      await c.end();
    }
  }, 120_000);

  it('refuses what it cannot move: a partitioned table, a name taken in the target schema, other operations on the table', async () => {
    const url = await server().createDatabase();
    const c = await connect(url);
    try {
      await c.query(`CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE TABLE public.jobs (id serial PRIMARY KEY);
        CREATE SCHEMA work; CREATE TABLE work.jobs_id_seq (x int);`);
      const attempt = async (text: string) =>
        startMigration(url, await parseMigration(text, '/virtual/bad.yaml')).catch((e) => e);
      const partitioned = await attempt(
        'operations:\n  - move_table: { table: public.events, schema: work }\n',
      );
      expect(partitioned.code).toBe('MIGRATION_INVALID');
      expect(JSON.stringify(partitioned.problems)).toMatch(/public.events is partitioned/);
      const partition = await attempt(
        'operations:\n  - move_table: { table: public.events_2026, schema: work }\n',
      );
      expect(String(partition.message)).toMatch(/partitioned or a partition/);
      const clash = await attempt(
        'operations:\n  - move_table: { table: public.jobs, schema: work }\n',
      );
      expect(JSON.stringify(clash.problems)).toMatch(/schema work already holds jobs_id_seq/);
      const mixed = await attempt(
        'operations:\n  - move_table: { table: public.jobs, schema: other }\n  - add_column: { table: public.jobs, column: { name: x, type: int, nullable: true } }\n',
      );
      expect(JSON.stringify(mixed.problems)).toMatch(/also changed by add_column/);
      // Nothing moved, nothing left recorded.
      expect(
        (
          await c.query(
            `SELECT relkind FROM pg_class WHERE oid IN ('public.events'::regclass, 'public.jobs'::regclass) ORDER BY 1`,
          )
        ).rows,
      ).toEqual([{ relkind: 'p' }, { relkind: 'r' }]);
      expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  }, 120_000);
});
