import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect, it } from 'vitest';
import { completeMigration } from '../../src/migrate/complete.js';
import { MIGRATION_LOCK_KEY } from '../../src/migrate/lock.js';
import { loadMigration, parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, fixture } from './helpers.js';

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'long-report' });
  await c.connect();
  return c;
}

describeEachServer('lock timeouts, the migration lock and bad input', (server) => {
  it('DDL gives up after lock_timeout (writers never wait longer), retries with backoff, names the blocker; a rerun resumes', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 1000));
    const holder = await connect(url);
    const writer = await connect(url);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM users.account');
      // A writer keeps reading: while the ALTER TABLE waits for its lock, the writer queues behind it.
      let running = true;
      let longest = 0;
      const loop = (async () => {
        while (running) {
          const t0 = performance.now();
          await writer.query('SELECT name FROM users.account WHERE id = 1');
          longest = Math.max(longest, performance.now() - t0);
          await sleep(5);
        }
      })();
      const retries: string[] = [];
      const failed = startMigration(url, await loadMigration(fixture('split-street.yaml')), {
        lockTimeoutMs: 300,
        maxAttempts: 3,
        onStep: (s) => s.includes('retry') && retries.push(s),
      });
      await expect(failed).rejects.toMatchObject({ code: 'MIGRATION_LOCK_TIMEOUT' });
      await failed.catch((error) =>
        expect(error.detail).toMatch(
          /open transaction: pid \d+ \(postgres, long-report, idle in transaction/,
        ),
      );
      running = false;
      await loop;
      expect(retries).toHaveLength(2);
      expect(longest).toBeLessThan(300 + 250);
      await holder.query('COMMIT');
      expect(
        await startMigration(url, await loadMigration(fixture('split-street.yaml'))),
      ).toMatchObject({ outcome: 'started', resumed: true });
    } finally {
      await holder.end();
      await writer.end();
    }
  });

  it('one migration at a time: the advisory lock, another migration in progress, a changed file', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 100));
    const migration = await loadMigration(fixture('split-street.yaml'));
    const other = await connect(url);
    try {
      await other.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [MIGRATION_LOCK_KEY]);
      const busy = startMigration(url, migration, { lockWaitMs: 300 });
      await expect(busy).rejects.toMatchObject({ code: 'MIGRATION_IN_PROGRESS' });
      await busy.catch((error) =>
        expect(error.detail).toMatch(/held by pid \d+ \(postgres, long-report/),
      );
    } finally {
      await other.end();
    }
    await startMigration(url, migration);
    const second = await parseMigration(
      'name: second\noperations:\n  - drop_column: { table: users.account, column: zip }\n',
      '/tmp/second.yaml',
    );
    await expect(startMigration(url, second)).rejects.toMatchObject({
      code: 'MIGRATION_IN_PROGRESS',
      message: expect.stringContaining('split-street-and-number is in progress'),
    });
    const text = (await import('node:fs')).readFileSync(fixture('split-street.yaml'), 'utf8');
    const changed = await parseMigration(
      text.replace("' ' || number", "', ' || number"),
      migration.file,
    );
    await expect(startMigration(url, changed)).rejects.toMatchObject({
      code: 'MIGRATION_INVALID',
      message: expect.stringContaining('changed since'),
    });
    expect(await startMigration(url, migration)).toMatchObject({ outcome: 'already-active' });
  });

  it('complete waits for start to finish', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 300));
    const controller = new AbortController();
    await expect(
      startMigration(url, await loadMigration(fixture('split-street.yaml')), {
        batchSize: 100,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
    ).rejects.toThrow(/abort/i);
    await expect(completeMigration(url, { force: true })).rejects.toMatchObject({
      code: 'MIGRATION_IN_PROGRESS',
      hint: expect.stringContaining('pgpact migrate start'),
    });
    const status = await migrationStatus(url);
    expect(status?.phase).toBe('backfilling');
    expect(status?.backfill[0]).toMatchObject({ rowsDone: 100, rowsTotal: 300, done: false });
  });

  it('a migration that does not fit the database is refused whole, before anything changes', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 10));
    const bad = await parseMigration(
      `name: bad
operations:
  - split_column:
      table: users.account
      from: street_and_nr
      to: [{ name: street, type: text, up: "street_and_nr" }]
      down: street
  - add_column: { table: users.account, column: { name: zip, type: text, nullable: true } }
  - add_column: { table: users.missing, column: { name: x, type: int, nullable: true } }
  - set_not_null: { table: users.account, column: name, up: "nmae" }
  - add_column: { table: users.account, column: { name: score, type: int } }
`,
      '/tmp/bad.yaml',
    );
    const refused = startMigration(url, bad);
    await expect(refused).rejects.toMatchObject({ code: 'MIGRATION_INVALID' });
    const problems = await refused.catch((error) =>
      error.problems.map((p: { message: string }) => p.message),
    );
    expect(problems).toEqual([
      'operation 1: column users.account.street_and_nr does not exist',
      'operation 2: column users.account.zip already exists',
      'operation 3: table users.missing does not exist',
      'operation 5: add_column users.account.score is NOT NULL without a default or up',
    ]);
    await withClient(url, async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
    });
    const typo = await parseMigration(
      'operations:\n  - add_column: { table: users.account, column: { name: score, type: int, nullable: true }, up: "length(nmae)" }\n',
      '/tmp/typo.yaml',
    );
    await expect(startMigration(url, typo)).rejects.toMatchObject({
      problems: [
        expect.objectContaining({
          message: expect.stringContaining('names `nmae`, which is not a column of users.account'),
        }),
      ],
    });
  });

  it('backfill walks composite and sparse keys by keyset, dense integer keys by ranges', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public.multi (tenant text, id int, line text NOT NULL, PRIMARY KEY (tenant, id));
        INSERT INTO public.multi SELECT 't' || (g % 7), g, 'Weg ' || g FROM generate_series(1, 2000) g;
        CREATE TABLE public.sparse (id bigint PRIMARY KEY, line text NOT NULL);
        INSERT INTO public.sparse SELECT g * 1000, 'Weg ' || g FROM generate_series(1, 2000) g;
        CREATE TABLE public.dense (id int PRIMARY KEY, line text NOT NULL);
        INSERT INTO public.dense SELECT g, 'Weg ' || g FROM generate_series(1, 2000) g;`),
    );
    const split = (table: string) => `  - split_column:
      table: ${table}
      from: line
      to:
        - { name: street, type: text, up: "split_part(line, ' ', 1)" }
        - { name: no, type: text, up: "split_part(line, ' ', 2)" }
      down: "street || ' ' || no"
`;
    const m = await parseMigration(
      `operations:\n${split('multi')}${split('sparse')}${split('dense')}`,
      '/tmp/keys.yaml',
    );
    const batches: Record<string, number> = {};
    const result = await startMigration(url, m, {
      batchSize: 300,
      onProgress: (p) => {
        batches[p.table.name] = (batches[p.table.name] ?? 0) + 1;
      },
    });
    expect(
      result.backfill.map((b) => [b.table.name, b.rowsDone, b.done, b.keyRange === undefined]),
    ).toEqual([
      ['multi', 2000, true, true],
      ['sparse', 2000, true, true],
      ['dense', 2000, true, false],
    ]);
    // 2000 rows in batches of 300: 7 batches (the last one also finds the end).
    expect(batches).toEqual({ multi: 7, sparse: 7, dense: 7 });
    await withClient(url, async (c) => {
      for (const table of ['multi', 'sparse', 'dense']) {
        const wrong = await c.query(
          `SELECT count(*)::int AS n FROM public.${table} WHERE street IS NULL OR line <> street || ' ' || no`,
        );
        expect(wrong.rows[0].n, table).toBe(0);
      }
    });
  });

  it('as the table owner without superuser: the trigger stands aside through its WHEN clause; no statistics, complete needs --force', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      await c.query(
        `DROP ROLE IF EXISTS app_owner; CREATE ROLE app_owner LOGIN PASSWORD 'owner-secret'`,
      );
      await c.query(
        `GRANT CREATE ON DATABASE ${(await c.query('SELECT current_database() AS d')).rows[0].d} TO app_owner`,
      );
      await c.query(`SET ROLE app_owner`);
      await createAccounts(c, 3000);
      await c.query('RESET ROLE');
    });
    const owner = urlWith(url, { user: 'app_owner', password: 'owner-secret' });
    const writer = await connect(owner);
    try {
      let running = true;
      let writes = 0;
      const loop = (async () => {
        while (running) {
          await writer.query('UPDATE users.account SET street_and_number = $1 WHERE id = $2', [
            `Ring ${writes}`,
            1 + (writes % 3000),
          ]);
          writes++;
        }
      })();
      const result = await startMigration(
        owner,
        await loadMigration(fixture('split-street.yaml')),
        { batchSize: 200 },
      );
      running = false;
      await loop;
      expect(result.backfill[0]).toMatchObject({ rowsDone: 3000, done: true });
      expect(writes).toBeGreaterThan(0);
      const status = await migrationStatus(owner);
      expect(status?.consumers.observation.available).toBe(false);
      await withClient(owner, async (c) => {
        const wrong = await c.query(
          `SELECT count(*)::int AS n FROM users.account WHERE street_and_number <> street || ' ' || number`,
        );
        expect(wrong.rows[0].n).toBe(0);
      });
      // Without the statistics nobody can tell who still reads the old column: only --force.
      await expect(completeMigration(owner)).rejects.toMatchObject({
        code: 'MIGRATION_UNVERIFIED',
      });
      expect(await completeMigration(owner, { force: true })).toMatchObject({
        outcome: 'completed',
      });
    } finally {
      await writer.end();
    }
  });

  it('a table without a primary key is backfilled by pages (ctid)', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public."Legacy Addresses" (line text, note text);
        INSERT INTO public."Legacy Addresses" SELECT 'Gasse ' || g, 'n' FROM generate_series(1, 3000) g;
        ANALYZE public."Legacy Addresses";`),
    );
    const m = await parseMigration(
      `operations:
  - split_column:
      table: '"Legacy Addresses"'
      from: line
      to:
        - { name: street, type: text, up: "split_part(line, ' ', 1)" }
        - { name: no, type: int, up: "split_part(line, ' ', 2)::int" }
      down: "street || ' ' || no"
`,
      '/tmp/legacy.yaml',
    );
    const result = await startMigration(url, m, { batchSize: 500 });
    expect(result.backfill[0]).toMatchObject({ strategy: 'ctid', rowsDone: 3000, done: true });
    await withClient(url, async (c) => {
      const wrong = await c.query(
        `SELECT count(*)::int AS n FROM public."Legacy Addresses" WHERE line IS DISTINCT FROM street || ' ' || no`,
      );
      expect(wrong.rows[0].n).toBe(0);
    });
  });
});
