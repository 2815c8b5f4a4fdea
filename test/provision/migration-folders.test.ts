import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { PgpactError } from '../../src/errors.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import {
  applyMigrationFolders,
  listMigrationFiles,
} from '../../src/provision/migration-folders.js';
import { alreadyRanFindings, readToolHistories } from '../../src/provision/migration-baseline.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, snapshot, tempDir } from './fixtures.js';

function failure(promise: Promise<unknown>): Promise<PgpactError> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as PgpactError,
  );
}

it('lists .sql files in natural filename order', () => {
  const { manifest } = projectManifest({
    'pgpact.yaml': 'version: 1\nservices:\n  users:\n    owns: [users]\n    migrations: m\n',
    'm/10_later.sql': 'SELECT 10;',
    'm/2_second.sql': 'SELECT 2;',
    'm/1_first.sql': 'SELECT 1;',
    'm/README.md': 'not a migration',
    'm/002_b.sql': 'SELECT 2;',
  });
  expect(listMigrationFiles(manifest.services[0]!).map((f) => f.file)).toEqual([
    '1_first.sql',
    '002_b.sql',
    '2_second.sql',
    '10_later.sql',
  ]);
});

describeEachServer('migration folders', (server) => {
  it('reads the history tables of goose, dbmate, sqlx, Prisma, Flyway, River and Sqitch as those tools do', async () => {
    const url = await server().createDatabase();
    const histories = await withClient(url, async (c) => {
      await c.query(`CREATE SCHEMA g; CREATE SCHEMA d; CREATE SCHEMA s; CREATE SCHEMA p; CREATE SCHEMA f;
        CREATE TABLE g.goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now());
        INSERT INTO g.goose_db_version (version_id, is_applied) VALUES (0, true), (20240101, true), (20240102, true), (20240102, false);
        CREATE TABLE d.schema_migrations (version varchar(128) PRIMARY KEY);
        INSERT INTO d.schema_migrations VALUES ('20240101120000');
        CREATE TABLE s._sqlx_migrations (version bigint PRIMARY KEY, description text, success boolean NOT NULL);
        INSERT INTO s._sqlx_migrations VALUES (1, 'init', true), (2, 'broken', false);
        CREATE TABLE p._prisma_migrations (id text, migration_name text, finished_at timestamptz, rolled_back_at timestamptz);
        INSERT INTO p._prisma_migrations VALUES ('a', '20240101_init', now(), NULL), ('b', '20240102_gone', now(), now());
        CREATE TABLE f.flyway_schema_history (installed_rank int, version varchar(50), success boolean NOT NULL);
        INSERT INTO f.flyway_schema_history VALUES (1, '1', true), (2, '1.1', true), (3, NULL, true);
        CREATE SCHEMA m; CREATE TABLE m.schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO m.schema_migrations VALUES (2, false);
        CREATE SCHEMA r; CREATE TABLE r.river_migration (line text NOT NULL DEFAULT 'main', version bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO r.river_migration (line, version) VALUES ('main', 1), ('main', 2), ('workflow', 3);
        CREATE SCHEMA sqitch; CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, script_hash text, change text NOT NULL, project text NOT NULL);
        INSERT INTO sqitch.changes VALUES ('a1', 'h1', 'users', 'flipr'), ('a2', 'h2', 'flips', 'flipr');`);
      return readToolHistories(c);
    });
    const applied = (tool: string, names: string[]) =>
      names.filter((n) => histories.find((h) => h.tool === tool)!.applied(n, names));
    expect(histories.map((h) => `${h.tool}: ${h.table}`)).toEqual([
      'dbmate: d.schema_migrations',
      'Flyway: f.flyway_schema_history',
      'goose: g.goose_db_version',
      'golang-migrate: m.schema_migrations',
      'Prisma: p._prisma_migrations',
      'River: r.river_migration',
      'sqlx: s._sqlx_migrations',
      'Sqitch: sqitch.changes',
    ]);
    // golang-migrate keeps its current version only: every file up to it ran; a folder without
    // a file of that version is not its folder (baseline passes it by).
    expect(
      applied('golang-migrate', ['000001_a.up.sql', '000002_b.up.sql', '000003_c.up.sql']),
    ).toEqual(['000001_a.up.sql', '000002_b.up.sql']);
    const golang = histories.find((h) => h.tool === 'golang-migrate')!;
    expect([golang.current!('000002_b.up.sql'), golang.current!('000005_x.up.sql')]).toEqual([
      true,
      false,
    ]);
    // goose: a later row with is_applied false is a down.
    expect(applied('goose', ['20240101_a.sql', '20240102_b.sql', '20240103_c.sql'])).toEqual([
      '20240101_a.sql',
    ]);
    expect(applied('dbmate', ['20240101120000_a.sql', '20240101130000_b.sql'])).toEqual([
      '20240101120000_a.sql',
    ]);
    expect(applied('sqlx', ['0001_init.up.sql', '0002_broken.up.sql'])).toEqual([
      '0001_init.up.sql',
    ]);
    expect(
      applied('Prisma', ['20240101_init/migration.sql', '20240102_gone/migration.sql']),
    ).toEqual(['20240101_init/migration.sql']);
    expect(applied('Flyway', ['V1__init.sql', 'V1_1__more.sql', 'V2__later.sql'])).toEqual([
      'V1__init.sql',
      'V1_1__more.sql',
    ]);
    // River: its main line's versions (another line's version 3 is not main's 003).
    expect(
      applied('River', [
        '001_create_river_migration.up.sql',
        '002_initial_schema.up.sql',
        '003_x.up.sql',
      ]),
    ).toEqual(['001_create_river_migration.up.sql', '002_initial_schema.up.sql']);
    // Sqitch: flips deployed once is its script as it was at v1.0, not the rework after it.
    expect(
      applied('Sqitch', [
        'deploy/users.sql',
        'deploy/appschema.sql',
        'deploy/flips@v1.0.sql',
        'deploy/flips.sql',
      ]),
    ).toEqual(['deploy/users.sql', 'deploy/flips@v1.0.sql']);
  });

  it('a Sqitch project: apply runs its deploy scripts in plan order, each BEGIN … COMMIT script as the one transaction it asks for; its registry baselines what Sqitch deployed', async () => {
    const url = await server().createDatabase();
    const project = {
      'pgpact.yaml':
        'version: 1\nservices:\n  flipr:\n    role: sq_flipr\n    owns: [flipr]\n    migrations: sqitch\n',
      'sqitch/sqitch.plan': [
        '%syntax-version=1.0.0',
        '%project=flipr',
        'users 2024-01-01T00:00:00Z Ann <ann@example.org> # names sort after appschema, run before it',
        'appschema [users] 2024-01-02T00:00:00Z Ann <ann@example.org>',
        '@v1.0 2024-01-03T00:00:00Z Ann <ann@example.org>',
        'users [users@v1.0] 2024-02-01T00:00:00Z Ann <ann@example.org> # reworked',
      ].join('\n'),
      'sqitch/deploy/users@v1.0.sql':
        '-- Deploy flipr:users to pg\n\nBEGIN;\n\nCREATE TABLE users (nickname text PRIMARY KEY);\n\nCOMMIT;\n',
      'sqitch/deploy/appschema.sql':
        '-- Deploy flipr:appschema to pg\n-- requires: users\n\nBEGIN;\nCREATE TABLE flips (id int PRIMARY KEY, nickname text REFERENCES users);\nCOMMIT;\n',
      'sqitch/deploy/users.sql':
        '-- Deploy flipr:users to pg\n\nBEGIN;\nALTER TABLE users ADD COLUMN fullname text;\nCOMMIT;\n',
      'sqitch/revert/users.sql': 'BEGIN;\nDROP TABLE users;\nCOMMIT;\n',
      'sqitch/verify/users.sql': 'SELECT nickname FROM users WHERE false;\n',
    };
    const { dir, manifest } = projectManifest(project);
    const result = await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect(result.migrations.map((m) => m.file)).toEqual([
      'deploy/users@v1.0.sql',
      'deploy/appschema.sql',
      'deploy/users.sql',
    ]);
    const users = (await snapshot(url)).relations.find((r) => r.name === 'users')!;
    expect([users.owner, users.columns.map((c) => c.name)]).toEqual([
      'sq_flipr',
      ['nickname', 'fullname'],
    ]);

    // Any other transaction control is still refused: a script that commits halfway.
    fs.writeFileSync(
      path.join(dir, 'sqitch', 'sqitch.plan'),
      `${project['sqitch/sqitch.plan']}\nhalfway 2024-03-01T00:00:00Z Ann <ann@example.org>\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'sqitch', 'deploy', 'halfway.sql'),
      'BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n',
    );
    const halfway = await failure(applyMigrationFolders(url, manifest));
    expect(halfway.message).toContain('transaction control is not allowed');
    expect(halfway.problems[0]).toMatchObject({ line: 3, column: 1 });

    // The same project where Sqitch deployed users and appschema before the rework.
    const adopted = await server().createDatabase();
    await withClient(adopted, (c) =>
      c.query(`CREATE SCHEMA flipr;
        CREATE TABLE flipr.users (nickname text PRIMARY KEY);
        CREATE TABLE flipr.flips (id int PRIMARY KEY, nickname text REFERENCES flipr.users);
        CREATE SCHEMA sqitch;
        CREATE TABLE sqitch.changes (change_id text PRIMARY KEY, script_hash text, change text NOT NULL, project text NOT NULL);
        INSERT INTO sqitch.changes VALUES ('c1', 'h1', 'users', 'flipr'), ('c2', 'h2', 'appschema', 'flipr');`),
    );
    const fresh = projectManifest(project).manifest;
    const refused = await failure(applyProvisioning(adopted, fresh, { stateDir: tempDir() }));
    expect(refused.message).toContain('(2 of 3 files, by Sqitch: sqitch.changes) already ran');
    const baselined = await applyProvisioning(adopted, fresh, {
      stateDir: tempDir(),
      baseline: true,
    });
    expect(baselined.baselined[0]?.files).toEqual([
      'deploy/users@v1.0.sql',
      'deploy/appschema.sql',
    ]);
    expect(baselined.migrations.map((m) => m.file)).toEqual(['deploy/users.sql']);
  });

  it('a file doing what the service role may not: the hint says what the role needs, not to fix the file', async () => {
    const url = await server().createDatabase();
    const { manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  jobs:\n    role: pv_jobs\n    owns: [jobs]\n    migrations: m\n',
      // public is not jobs's: since PG 15 nobody but its owner creates there.
      'm/001_queue.sql': 'CREATE TABLE public.queue (id bigint PRIMARY KEY);\n',
    });
    const failed = await failure(applyProvisioning(url, manifest, { stateDir: tempDir() }));
    expect(failed.problems[0]).toMatchObject({ code: 'SQLSTATE 42501', line: 1 });
    expect(failed.hint).toContain(
      "migrations run as the service's role pv_jobs, which may not do this",
    );
    expect(failed.hint).toContain('GRANT CREATE ON SCHEMA … TO pv_jobs');
  });

  it('the first file of a folder another tool already ran fails on what exists: the hint names --baseline', async () => {
    const url = await server().createDatabase();
    // A tool pgpact does not know ran 001 (its history is its own business).
    await withClient(url, (c) =>
      c.query('CREATE SCHEMA jobs; CREATE TABLE jobs.queue (id bigint PRIMARY KEY);'),
    );
    const { manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  jobs:\n    role: hb_jobs\n    owns: [jobs]\n    migrations: m\n',
      'm/001_queue.sql': 'CREATE TABLE queue (id bigint PRIMARY KEY);\n',
      'm/002_state.sql': 'ALTER TABLE queue ADD COLUMN state text;\n',
    });
    const failed = await failure(applyProvisioning(url, manifest, { stateDir: tempDir() }));
    expect(failed.problems[0]).toMatchObject({ code: 'SQLSTATE 42P07', line: 1 });
    expect(failed.hint).toContain('pgpact apply --baseline');
  });

  it('a folder Diesel already ran: apply refuses before anything changes; --baseline records what its history names and runs the rest', async () => {
    const url = await server().createDatabase();
    // The database as the previous tool left it: its first migration ran, the second did not.
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA posts; CREATE TABLE posts.post (id int PRIMARY KEY);
        CREATE TABLE public.__diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now());
        INSERT INTO public.__diesel_schema_migrations (version) VALUES ('20190226002946');`),
    );
    const { manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  posts:\n    role: mb_posts\n    owns: [posts]\n    migrations: m\n',
      'm/2019-02-26-002946_create_post/up.sql': 'CREATE TABLE post (id int PRIMARY KEY);',
      'm/2019-02-26-002946_create_post/down.sql': 'DROP TABLE post;',
      'm/2019-03-01-000000_title/up.sql': 'ALTER TABLE post ADD COLUMN title text;',
    });
    // plan says so beside the files it lists as pending; apply refuses.
    const warned = await withClient(url, (c) => alreadyRanFindings(c, manifest));
    expect(warned).toMatchObject([
      {
        severity: 'warning',
        kind: 'migrations-already-ran',
        object: 'service posts',
        suggestion: expect.stringContaining('pgpact apply --baseline'),
      },
    ]);
    const refused = await failure(applyProvisioning(url, manifest, { stateDir: tempDir() }));
    expect(refused.message).toContain(
      'the migrations of posts (1 of 2 files, by Diesel: public.__diesel_schema_migrations) already ran',
    );
    expect(refused.hint).toContain('pgpact apply --baseline');
    const untouched = await snapshot(url);
    expect(untouched.relations.find((r) => r.name === 'post')?.owner).toBe('postgres');
    expect(untouched.schemas.some((s) => s.name === 'pgpact')).toBe(false);

    const result = await applyProvisioning(url, manifest, { stateDir: tempDir(), baseline: true });
    expect(result.baselined).toEqual([
      {
        service: 'posts',
        files: ['2019-02-26-002946_create_post/up.sql'],
        from: 'Diesel: public.__diesel_schema_migrations',
      },
    ]);
    expect(result.migrations.map((m) => m.file)).toEqual(['2019-03-01-000000_title/up.sql']);
    const post = (await snapshot(url)).relations.find((r) => r.name === 'post')!;
    expect([post.owner, post.columns.map((c) => c.name)]).toEqual(['mb_posts', ['id', 'title']]);
    // Recorded once: a later apply, with or without --baseline, runs nothing again.
    const again = await applyProvisioning(url, manifest, { stateDir: tempDir(), baseline: true });
    expect([again.baselined, again.migrations]).toEqual([[], []]);
    expect(await withClient(url, (c) => alreadyRanFindings(c, manifest))).toEqual([]);
  });

  it('--baseline after golang-migrate records the versions up to its current one; a dirty version is refused; without any history every file is recorded', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA billing; CREATE TABLE billing.invoice (id int);
        CREATE TABLE billing.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO billing.schema_migrations VALUES (1, true);`),
    );
    const { manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  billing:\n    role: mb_billing\n    owns: [billing]\n    migrations: m\n  users:\n    role: mb_users\n    owns: [users]\n    migrations: u\n',
      'm/000001_invoice.up.sql': 'CREATE TABLE invoice (id int);',
      'm/000001_invoice.down.sql': 'DROP TABLE invoice;',
      'm/000002_total.up.sql': 'ALTER TABLE invoice ADD COLUMN total numeric;',
      'm/000002_total.down.sql': 'ALTER TABLE invoice DROP COLUMN total;',
      'u/1_account.sql': 'CREATE TABLE account (id int);',
    });
    const dirty = await failure(
      applyProvisioning(url, manifest, { stateDir: tempDir(), baseline: true }),
    );
    expect(dirty.message).toContain(
      "golang-migrate's billing.schema_migrations says version 1 is dirty",
    );
    await withClient(url, (c) =>
      c.query(
        'UPDATE billing.schema_migrations SET dirty = false; CREATE SCHEMA users; CREATE TABLE users.account (id int)',
      ),
    );
    const result = await applyProvisioning(url, manifest, { stateDir: tempDir(), baseline: true });
    expect(result.baselined).toEqual([
      {
        service: 'billing',
        files: ['000001_invoice.up.sql'],
        from: 'golang-migrate: billing.schema_migrations',
      },
      // billing's history is not users' (its schema is billing's): --baseline takes the team's word that users' files all ran.
      { service: 'users', files: ['1_account.sql'] },
    ]);
    expect(result.migrations.map((m) => `${m.service}/${m.file}`)).toEqual([
      'billing/000002_total.up.sql',
    ]);
  });

  it('a folder written for goose, golang-migrate or Diesel: only what runs forward is applied, and recorded by its name', async () => {
    const url = await server().createDatabase();
    const { manifest } = projectManifest({
      'pgpact.yaml': `version: 1
services:
  users:
    role: ml_users
    owns: [users]
    migrations: goose
  billing:
    role: ml_billing
    owns: [billing]
    migrations: golang
  posts:
    role: ml_posts
    owns: [posts]
    migrations: diesel
`,
      // Run whole, each of these files would drop what it just created.
      'goose/20240101_account.sql':
        '-- +goose Up\nCREATE TABLE account (id int PRIMARY KEY);\n\n-- +goose Down\nDROP TABLE account;\n',
      'goose/20240102_phone.sql':
        '-- +goose Up\n-- +goose StatementBegin\nALTER TABLE account ADD COLUMN phone text;\n-- +goose StatementEnd\n-- +goose Down\nALTER TABLE account DROP COLUMN phone;\n',
      // Sorted first, the down file would fail (or, with IF EXISTS, do nothing) before its up file.
      'golang/000001_invoice.down.sql': 'DROP TABLE IF EXISTS invoice;',
      'golang/000001_invoice.up.sql': 'CREATE TABLE invoice (id int);',
      'golang/000002_total.down.sql': 'ALTER TABLE invoice DROP COLUMN total;',
      'golang/000002_total.up.sql': 'ALTER TABLE invoice ADD COLUMN total numeric;',
      'diesel/2019-02-26-002946_create_post/up.sql': 'CREATE TABLE post (id int);',
      'diesel/2019-02-26-002946_create_post/down.sql': 'DROP TABLE post;',
      'diesel/2019-03-01-000000_title/up.sql': 'ALTER TABLE post ADD COLUMN title text;',
      'diesel/2019-03-01-000000_title/down.sql': 'ALTER TABLE post DROP COLUMN title;',
    });
    const result = await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect(result.migrations.map((m) => `${m.service}/${m.file}`)).toEqual([
      'users/20240101_account.sql',
      'users/20240102_phone.sql',
      'billing/000001_invoice.up.sql',
      'billing/000002_total.up.sql',
      'posts/2019-02-26-002946_create_post/up.sql',
      'posts/2019-03-01-000000_title/up.sql',
    ]);
    const columns = (schema: string, table: string) =>
      catalog.relations
        .find((r) => r.schema === schema && r.name === table)
        ?.columns.map((c) => c.name);
    const catalog = await snapshot(url);
    expect(columns('users', 'account')).toEqual(['id', 'phone']);
    expect(columns('billing', 'invoice')).toEqual(['id', 'total']);
    expect(columns('posts', 'post')).toEqual(['id', 'title']);
    // A second apply finds every one recorded: nothing runs again.
    const again = await applyProvisioning(url, manifest, { stateDir: tempDir() });
    expect(again.migrations).toEqual([]);
  });

  it('run as the service role, once each, recorded where services cannot reach', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { manifest } = projectManifest({
      'pgpact.yaml': `version: 1
services:
  users:
    role: mf_users
    owns: [users]
    migrations: migrations/users
  invoicing:
    role: mf_invoicing
    owns: [invoicing]
    migrations: migrations/invoicing
    reads:
      users.account: [id]
`,
      'migrations/users/1_account.sql': 'CREATE TABLE account (id serial PRIMARY KEY, name text);',
      'migrations/users/2_index.sql':
        "CREATE INDEX account_name ON account (name);\nCREATE TYPE status AS ENUM ('a');",
      'migrations/invoicing/1_invoice.sql': 'CREATE TABLE invoice (id int, account_id int);',
    });
    const result = await applyProvisioning(url, manifest, { stateDir });
    expect(result.migrations.map((m) => `${m.service}/${m.file}`)).toEqual([
      'users/1_account.sql',
      'users/2_index.sql',
      'invoicing/1_invoice.sql',
    ]);
    const catalog = await snapshot(url);
    expect(
      catalog.relations.filter((r) => r.schema === 'users').map((r) => [r.name, r.owner]),
    ).toEqual([
      ['account', 'mf_users'],
      ['account_id_seq', 'mf_users'],
    ]);
    expect(catalog.types?.find((t) => t.name === 'status')?.owner).toBe('mf_users');
    expect(catalog.schemas.find((s) => s.name === 'pgpact')?.owner).toBe('postgres');
    // Round two granted the contract on the table the migration created.
    expect(catalog.relations.find((r) => r.name === 'account')!.columns[0]!.grants).toEqual([
      { grantee: 'mf_invoicing', privilege: 'SELECT', grantable: false },
    ]);
    await withClient(url, async (c) => {
      const { rows } = await c.query(
        'SELECT service, file, length(checksum) AS len FROM pgpact.schema_migrations ORDER BY applied_at, file',
      );
      expect(rows).toEqual([
        { service: 'users', file: '1_account.sql', len: 64 },
        { service: 'users', file: '2_index.sql', len: 64 },
        { service: 'invoicing', file: '1_invoice.sql', len: 64 },
      ]);
    });
    await withClient(serviceUrl(url, 'mf_users', stateDir), async (c) => {
      await expect(c.query('SELECT * FROM pgpact.schema_migrations')).rejects.toMatchObject({
        code: '42501',
      });
    });
    expect(await applyMigrationFolders(url, manifest)).toEqual([]);
    // pgpact's own schema is neither managed nor reported.
    const plan = await planFor(url, manifest);
    expect(plan.steps).toEqual([]);
    expect(plan.findings.map((f) => f.object)).not.toContain('pgpact');
  });

  it('a failing file rolls back alone, is reported at its line and column, and a rerun resumes', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const { dir, manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  users:\n    role: mf2_users\n    owns: [users]\n    migrations: m\n',
      'm/1_ok.sql': 'CREATE TABLE a (id int);',
      'm/2_broken.sql':
        '-- Tabellen für Ä\nCREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT id, nosuch FROM b;\n',
      'm/3_after.sql': 'CREATE TABLE c (id int);',
    });
    const error = await failure(applyProvisioning(url, manifest, { stateDir }));
    expect(error.code).toBe('MIGRATION_FAILED');
    expect(error.message).toBe(
      'migration users/2_broken.sql failed at line 4, column 12: column "nosuch" does not exist; it was rolled back, the 1 file(s) before it stay applied',
    );
    expect(error.problems[0]).toMatchObject({
      code: 'SQLSTATE 42703',
      file: path.join(dir, 'm', '2_broken.sql'),
      line: 4,
      column: 12,
    });
    expect(error.detail).toBe('  SELECT id, nosuch FROM b;\n             ^');
    const names = async () =>
      (await snapshot(url)).relations.filter((r) => r.schema === 'users').map((r) => r.name);
    expect(await names()).toEqual(['a']);

    fs.writeFileSync(path.join(dir, 'm', '2_broken.sql'), 'CREATE TABLE b (id int);\n');
    const rerun = await applyProvisioning(url, manifest, { stateDir });
    expect(rerun.migrations.map((m) => m.file)).toEqual(['2_broken.sql', '3_after.sql']);
    expect(await names()).toEqual(['a', 'b', 'c']);

    // A file that ran must not change.
    fs.writeFileSync(path.join(dir, 'm', '1_ok.sql'), 'CREATE TABLE a (id bigint);');
    const changed = await failure(applyMigrationFolders(url, manifest));
    expect(changed).toMatchObject({
      code: 'MIGRATION_INVALID',
      message: 'migration users/1_ok.sql changed after it was applied',
    });
  });

  it('errors without a position point at the statement; transaction control and role switches are refused', async () => {
    const url = await server().createDatabase();
    const { dir, manifest } = projectManifest({
      'pgpact.yaml':
        'version: 1\nservices:\n  users:\n    role: mf3_users\n    owns: [users]\n    migrations: m\n',
      'm/1.sql': 'CREATE TABLE a (id int PRIMARY KEY);\n\n  INSERT INTO a VALUES (1), (1);\n',
    });
    const duplicate = await failure(applyProvisioning(url, manifest, { stateDir: tempDir() }));
    expect(duplicate.problems[0]).toMatchObject({ code: 'SQLSTATE 23505', line: 3, column: 3 });
    expect(duplicate.detail).toContain('Key (id)=(1) already exists.');

    fs.writeFileSync(path.join(dir, 'm', '1.sql'), 'CREATE TABLE a (id int);\nCOMMIT;\n');
    const commit = await failure(applyMigrationFolders(url, manifest));
    expect(commit.problems[0]).toMatchObject({ line: 2, column: 1 });
    expect(commit.message).toContain('transaction control is not allowed');

    fs.writeFileSync(path.join(dir, 'm', '1.sql'), 'CREATE TABLE a (id int);\nRESET ROLE;\n');
    const reset = await failure(applyMigrationFolders(url, manifest));
    expect(reset.message).toContain(
      'the file switched the role to postgres; migrations run as mf3_users',
    );
    expect((await snapshot(url)).relations.filter((r) => r.schema === 'users')).toEqual([]);
  });
});
