import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';

const YAML = `operations:
  - rename_table:
      from: customers
      to: clients
`;
const JSON_FILE = JSON.stringify({
  name: '04_rename_table',
  operations: [{ rename_table: { from: 'customers', to: 'clients' } }],
});

/** customers with a sequence key, a default, an index and a foreign key onto it; a reader role. */
async function setUp(url: string, role: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, tier text DEFAULT 'basic');
      CREATE INDEX customers_name_idx ON customers (name);
      CREATE TABLE orders (id serial PRIMARY KEY, customer int REFERENCES customers (id));
      INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 500) g;
      CREATE ROLE ${role} LOGIN PASSWORD 'secret';
      GRANT SELECT, INSERT, UPDATE ON customers TO ${role};
      GRANT USAGE ON SEQUENCE customers_id_seq TO ${role};`),
  );
}

/** Writers inserting and updating through one name until stopped; every error is kept. */
function writeThrough(url: string, table: string) {
  let running = true;
  const errors: string[] = [];
  let writes = 0;
  const done = withClient(url, async (c) => {
    while (running) {
      try {
        const { rows } = await c.query<{ id: number }>(
          `INSERT INTO ${table} (name) VALUES ('w') RETURNING id`,
        );
        await c.query(`UPDATE ${table} SET name = name || '+' WHERE id = $1`, [rows[0]!.id]);
        writes += 2;
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await done;
      return { errors, writes };
    },
  };
}

async function blockedBy(promise: Promise<unknown>): Promise<MigrationBlockedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationBlockedError);
    return error as MigrationBlockedError;
  }
  throw new Error('complete was not refused');
}

it('rename_table is read from YAML and JSON with pgroll fields; `to` stays in the schema', async () => {
  const fromYaml = await parseMigration(YAML, '/m/04_rename_table.yaml');
  const fromJson = await parseMigration(JSON_FILE, '/m/04_rename_table.json');
  for (const m of [fromYaml, fromJson])
    expect(m.operations).toEqual([
      { op: 'rename_table', table: { schema: 'public', name: 'customers' }, to: 'clients' },
    ]);
  await expect(
    parseMigration(
      'operations:\n  - rename_table: { from: customers, to: other.clients }\n',
      '/m/x.yaml',
    ),
  ).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
});

describeEachServer('rename_table', (server) => {
  it('old and new names both work from start to complete; the new one across it; privileges kept', async () => {
    const url = await server().createDatabase();
    const role = `r_${randomBytes(3).toString('hex')}`;
    await setUp(url, role);
    const as = urlWith(url, { user: role, password: 'secret' });
    const migration = await parseMigration(YAML, '/m/04_rename_table.yaml');
    const oldWriters = writeThrough(as, 'customers');
    await startMigration(url, migration);
    const newWriters = writeThrough(as, 'clients');
    await new Promise((r) => setTimeout(r, 300));
    const old = await oldWriters.stop();
    expect(old.errors).toEqual([]);
    expect(old.writes).toBeGreaterThan(0);
    await withClient(url, async (c) => {
      // The view is the table: a row written through one name is read through the other.
      const both = await c.query(
        `SELECT (SELECT count(*) FROM customers)::int AS a, (SELECT count(*) FROM clients)::int AS b`,
      );
      expect(both.rows[0].a).toBe(both.rows[0].b);
      const kind = await c.query(
        `SELECT relkind, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'clients'::regclass`,
      );
      expect(kind.rows[0]).toEqual({ relkind: 'v', owner: 'postgres' });
      const grants = await c.query(
        `SELECT has_table_privilege($1, 'clients', 'INSERT') AS ins, has_table_privilege($1, 'clients', 'DELETE') AS del`,
        [role],
      );
      expect(grants.rows[0]).toEqual({ ins: true, del: false });
    });
    // The view under the new name is no reader of the old one: nothing blocks.
    const status = await migrationStatus(url, { quietForMs: 0 });
    expect(status?.consumers.uses.filter((u) => u.source === 'dependency')).toEqual([]);
    await completeMigration(url, { force: true, quietForMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    const fresh = await newWriters.stop();
    expect(fresh.errors).toEqual([]);
    expect(fresh.writes).toBeGreaterThan(0);
    await withClient(url, async (c) => {
      const rel = await c.query(
        `SELECT to_regclass('customers') AS old, (SELECT relkind FROM pg_class WHERE oid = 'clients'::regclass) AS kind`,
      );
      expect(rel.rows[0]).toEqual({ old: null, kind: 'r' });
      // Like pgroll: only the table's name changes; its key, index, default and references stay.
      const fk = await c.query(
        `SELECT confrelid::regclass::text AS target FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'`,
      );
      expect(fk.rows[0].target).toBe('clients');
      const ins = await c.query(`INSERT INTO clients (name) VALUES ('x') RETURNING tier`);
      expect(ins.rows[0].tier).toBe('basic');
      const idx = await c.query(
        `SELECT indexname FROM pg_indexes WHERE tablename = 'clients' ORDER BY 1`,
      );
      expect(idx.rows.map((r) => r.indexname)).toEqual(['customers_name_idx', 'customers_pkey']);
      const count = await c.query(`SELECT count(*)::int AS n FROM clients WHERE name LIKE 'w%'`);
      expect(count.rows[0].n).toBe((old.writes + fresh.writes) / 2);
    });
  }, 60_000);

  it('complete names the consumers still using the old name, declared and observed; readers of the new name do not block', async () => {
    const url = await server().createDatabase();
    const role = `r_${randomBytes(3).toString('hex')}`;
    await setUp(url, role);
    const as = urlWith(url, { user: role, password: 'secret' });
    await startMigration(url, await parseMigration(YAML, '/m/04_rename_table.yaml'));
    await withClient(as, (c) => c.query('SELECT count(*) FROM customers'));
    const blocked = await blockedBy(completeMigration(url, { quietForMs: 60_000 }));
    expect(blocked.uses.map((u) => [u.role, u.source, u.change])).toEqual([
      [
        role,
        'observed',
        `role ${role}: deploy a version that uses public.clients instead of public.customers`,
      ],
    ]);
    const manifest = parseManifest(
      `version: 1\nservices:\n  shop:\n    owns: [public]\n  billing:\n    role: ${role}\n    reads:\n      public.customers: [id, name]\n`,
      '/m/pgpact.yaml',
    );
    const status = await migrationStatus(url, { manifest, quietForMs: 60_000 });
    expect(status?.consumers.uses.map((u) => [u.service, u.source, u.change])).toEqual([
      [
        'billing',
        'declared',
        'billing: change reads public.customers to public.clients (the table is renamed)',
      ],
      [
        'billing',
        'observed',
        'billing: deploy a version that uses public.clients instead of public.customers',
      ],
    ]);
    // Quiet on the old name, busy on the new one: complete goes through.
    await withClient(as, (c) => c.query('SELECT count(*) FROM clients'));
    const done = await completeMigration(url, { quietForMs: 0 });
    expect(done.outcome).toBe('completed');
  }, 60_000);

  it('rollback drops the view and leaves the table as it was; a view built on the new name blocks it', async () => {
    const url = await server().createDatabase();
    const role = `r_${randomBytes(3).toString('hex')}`;
    await setUp(url, role);
    await startMigration(url, await parseMigration(YAML, '/m/04_rename_table.yaml'));
    await withClient(url, (c) => c.query('CREATE VIEW vip AS SELECT id FROM clients'));
    await expect(rollbackMigration(url)).rejects.toMatchObject({ code: 'MIGRATION_BLOCKED' });
    await withClient(url, (c) => c.query('DROP VIEW vip'));
    await rollbackMigration(url);
    await withClient(url, async (c) => {
      const rel = await c.query(
        `SELECT to_regclass('clients') AS new, (SELECT count(*)::int FROM customers) AS n`,
      );
      expect(rel.rows[0]).toEqual({ new: null, n: 500 });
    });
  }, 60_000);

  it('a complete interrupted after the rename committed finishes on its rerun', async () => {
    const url = await server().createDatabase();
    const role = `r_${randomBytes(3).toString('hex')}`;
    await setUp(url, role);
    // A second, later step gives the interruption a point after the rename.
    const migration = await parseMigration(
      `${YAML}  - drop_index: { name: customers_name_idx }\n`,
      '/m/04_rename_table.yaml',
    );
    await startMigration(url, migration);
    await expect(
      completeMigration(url, {
        force: true,
        onStep: (m) => {
          if (m.startsWith('drop index')) throw new Error('killed');
        },
      }),
    ).rejects.toThrow();
    await withClient(url, async (c) => {
      const rel = await c.query(`SELECT to_regclass('customers') AS old`);
      expect(rel.rows[0].old).toBe(null);
    });
    expect((await completeMigration(url, { force: true })).outcome).toBe('completed');
    await withClient(url, async (c) => {
      const n = await c.query(`SELECT count(*)::int AS n FROM clients`);
      expect(n.rows[0].n).toBe(500);
    });
  }, 60_000);
});
