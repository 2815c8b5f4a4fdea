import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { completeMigration, MigrationBlockedError } from '../../src/migrate/complete.js';
import { useLines } from '../../src/migrate/format.js';
import { loadMigration, parseMigration } from '../../src/migrate/parse.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, fixture, runCli } from './helpers.js';
import { tempDir } from '../helpers/temp-dir.js';

const MANIFEST_V1 = `version: 1
services:
  users:
    owns: [users]
  invoicing:
    reads:
      users.account: [id, name, street_and_number, zip]
  reporting:
    reads:
      users.account: [id, zip]
  archive:
    role: archive_job
    reads:
      users.account: "*"
`;
const MANIFEST_V2 = MANIFEST_V1.replace(
  '[id, name, street_and_number, zip]',
  '[id, name, street, number, zip]',
).replace('users.account: "*"', 'users.account: [id, name]');

function manifestFile(text: string): string {
  const dir = tempDir('pgpact-migrate-gating-');
  const file = path.join(dir, 'pgpact.yaml');
  fs.writeFileSync(file, text);
  return file;
}

async function setUp(url: string, roles: string[]): Promise<void> {
  await withClient(url, async (c) => {
    await createAccounts(c, 500);
    for (const role of roles) {
      await c.query(
        `DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'secret-${role}'`,
      );
      await c.query(
        `GRANT USAGE ON SCHEMA users TO ${role}; GRANT SELECT, UPDATE ON users.account TO ${role}`,
      );
    }
  });
}

async function blockedBy(promise: Promise<unknown>): Promise<MigrationBlockedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationBlockedError);
    expect((error as MigrationBlockedError).code).toBe('MIGRATION_BLOCKED');
    return error as MigrationBlockedError;
  }
  throw new Error('complete was not refused');
}

describeEachServer('complete is gated on the consumers of the old shape', (server) => {
  it('declared: refused while a contract names the old column or reads "*", with the manifest change each needs', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    const v1 = parseManifest(MANIFEST_V1, manifestFile(MANIFEST_V1));
    const migration = await loadMigration(fixture('split-street.yaml'));
    await startMigration(url, migration);

    const status = await migrationStatus(url, { manifest: v1, quietForMs: 0 });
    expect(status?.canComplete).toBe(false);
    expect(status?.consumers.uses.map((u) => [u.service, u.source, u.change])).toEqual([
      [
        'invoicing',
        'declared',
        'invoicing: change reads users.account from [id, name, street_and_number, zip] to [id, name, street, number, zip]',
      ],
      [
        'archive',
        'declared',
        'archive: change reads users.account from "*" to [id, name, zip, hits, street, number]',
      ],
    ]);
    expect(status?.consumers.unaffected).toEqual([
      { service: 'reporting', table: 'users.account' },
    ]);
    expect(status?.consumers.uses[0]?.location).toMatch(/pgpact\.yaml:7$/);

    const refused = await blockedBy(completeMigration(url, { manifest: v1, quietForMs: 0 }));
    expect(refused.message).toMatch(/invoicing, archive still use the old shape/);
    expect(refused.detail).toContain(
      'invoicing: change reads users.account from [id, name, street_and_number, zip] to [id, name, street, number, zip]',
    );
    await withClient(url, async (c) => {
      const phase = await c.query('SELECT phase FROM pgpact.migrations');
      expect(phase.rows).toEqual([{ phase: 'active' }]);
    });

    // The CLI says the same with exit code 1.
    const cli = await runCli([
      'migrate',
      'complete',
      '--config',
      manifestFile(MANIFEST_V1),
      '--quiet-for',
      '0s',
      '--database-url',
      url,
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('error [MIGRATION_BLOCKED]');
    expect(cli.stderr).toContain(
      'needs: invoicing: change reads users.account from [id, name, street_and_number, zip] to [id, name, street, number, zip]',
    );

    const v2 = parseManifest(MANIFEST_V2, manifestFile(MANIFEST_V2));
    expect((await migrationStatus(url, { manifest: v2, quietForMs: 0 }))?.canComplete).toBe(true);
    expect(await completeMigration(url, { manifest: v2, quietForMs: 0 })).toMatchObject({
      outcome: 'completed',
      forcedPast: [],
    });
  });

  it('observed: a role reading or writing the old column since start blocks until its statements go quiet', async () => {
    const url = await server().createDatabase();
    await setUp(url, ['invoicing', 'reporting', 'users']);
    const v2 = parseManifest(MANIFEST_V2, manifestFile(MANIFEST_V2));
    const as = (role: string) => urlWith(url, { user: role, password: `secret-${role}` });
    // Before start: not observed (the baseline counts it).
    await withClient(as('invoicing'), (c) =>
      c.query('SELECT street_and_number FROM users.account WHERE id = $1', [1]),
    );
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));

    for (let i = 0; i < 3; i++) {
      await withClient(as('invoicing'), (c) =>
        c.query('SELECT id, name, street_and_number FROM users.account WHERE id = $1', [i + 1]),
      );
    }
    await withClient(as('reporting'), (c) =>
      c.query('SELECT id, zip FROM users.account WHERE id = $1', [1]),
    );
    await withClient(as('users'), (c) =>
      c.query('UPDATE users.account SET street_and_number = $1 WHERE id = $2', ['Elm Road 9', 2]),
    );

    const first = await blockedBy(completeMigration(url, { manifest: v2, quietForMs: 0 }));
    const uses = first.uses.map((u) => [
      u.service,
      u.role,
      u.source,
      u.access,
      u.statement?.callsSinceStart,
    ]);
    expect(uses).toEqual(
      expect.arrayContaining([
        ['invoicing', 'invoicing', 'observed', 'read', 3],
        ['users', 'users', 'observed', 'write', 1],
      ]),
    );
    expect(first.uses.some((u) => u.role === 'reporting')).toBe(false);
    const invoicing = first.uses.find((u) => u.role === 'invoicing')!;
    expect(invoicing.change).toBe(
      'invoicing: deploy a version that uses street, number instead of street_and_number',
    );
    expect(invoicing.statement?.query).toContain('street_and_number');

    // Still running: still blocked.
    await withClient(as('invoicing'), (c) =>
      c.query('SELECT id, name, street_and_number FROM users.account WHERE id = $1', [9]),
    );
    await blockedBy(completeMigration(url, { manifest: v2, quietForMs: 0 }));
    // Quiet since the last check, but not for long enough.
    const waiting = await blockedBy(completeMigration(url, { manifest: v2, quietForMs: 60_000 }));
    expect(waiting.uses.every((u) => u.statement?.quietUntil !== undefined)).toBe(true);
    // Quiet since the last check, and the quiet period is zero: complete proceeds.
    expect(await completeMigration(url, { manifest: v2, quietForMs: 0 })).toMatchObject({
      outcome: 'completed',
    });
  });

  it('observed: an INSERT that leaves out a column complete makes NOT NULL (no default) blocks until it goes quiet; one that gives it does not', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA people; CREATE TABLE people.person (id serial PRIMARY KEY, name text NOT NULL, display_name text);
        DROP ROLE IF EXISTS app_v1; CREATE ROLE app_v1 LOGIN PASSWORD 'secret-app_v1';
        DROP ROLE IF EXISTS app_v2; CREATE ROLE app_v2 LOGIN PASSWORD 'secret-app_v2';
        GRANT USAGE ON SCHEMA people TO app_v1, app_v2;
        GRANT SELECT, INSERT ON people.person TO app_v1, app_v2; GRANT USAGE ON SEQUENCE people.person_id_seq TO app_v1, app_v2;`),
    );
    const as = (role: string) => urlWith(url, { user: role, password: `secret-${role}` });
    await startMigration(
      url,
      await parseMigration(
        `operations:
  - alter_column: { table: people.person, column: display_name, nullable: false, up: "COALESCE(display_name, name)", down: display_name }
`,
        '01_display_name.yaml',
      ),
    );
    // v1 leaves display_name out (the sync trigger fills it until complete); v2 gives it.
    await withClient(as('app_v1'), (c) =>
      c.query('INSERT INTO people.person (name) VALUES ($1)', ['ada']),
    );
    await withClient(as('app_v2'), (c) =>
      c.query('INSERT INTO people.person (name, display_name) VALUES ($1, $2)', ['bob', 'Bob']),
    );
    const refused = await blockedBy(completeMigration(url, { quietForMs: 0 }));
    expect(refused.uses.map((u) => [u.role, u.access, u.blocking])).toEqual([
      ['app_v1', 'write', true],
    ]);
    expect(refused.uses[0]!.change).toBe(
      'role app_v1: deploy a version whose INSERT gives display_name: complete makes it NOT NULL without a default, and the INSERT would fail',
    );
    expect(useLines(refused.uses[0]!)[0]).toBe(
      '  role app_v1 (observed): inserts rows without people.person.display_name',
    );
    // v1 is gone: its statement went quiet, complete proceeds, and v2's INSERT keeps working.
    expect(await completeMigration(url, { quietForMs: 0 })).toMatchObject({ outcome: 'completed' });
    await withClient(as('app_v2'), (c) =>
      c.query('INSERT INTO people.person (name, display_name) VALUES ($1, $2)', ['cy', 'Cy']),
    );
    // A type change made NOT NULL (pgroll alter_column with type and nullable: false): the same.
    await withClient(url, (c) => c.query('ALTER TABLE people.person ADD COLUMN nick text'));
    await startMigration(
      url,
      await parseMigration(
        `operations:
  - alter_column: { table: people.person, column: nick, type: varchar(40), nullable: false, up: "COALESCE(nick, name)", down: nick }
`,
        '02_nick.yaml',
      ),
    );
    await withClient(as('app_v2'), (c) =>
      c.query('INSERT INTO people.person (name, display_name) VALUES ($1, $2)', ['dan', 'Dan']),
    );
    const nick = await blockedBy(completeMigration(url, { quietForMs: 0 }));
    expect(nick.uses.map((u) => [u.role, u.omitted])).toEqual([['app_v2', ['people.person.nick']]]);
  });

  it('--force completes anyway and records what it forced past', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    const v1 = parseManifest(MANIFEST_V1, manifestFile(MANIFEST_V1));
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    const forced = await completeMigration(url, { manifest: v1, force: true, quietForMs: 0 });
    expect(forced.forcedPast.map((u) => u.service)).toEqual(['invoicing', 'archive']);
    await withClient(url, async (c) => {
      const history = await c.query('SELECT outcome, forced_past FROM pgpact.migration_history');
      expect(history.rows[0].outcome).toBe('completed');
      expect(history.rows[0].forced_past.map((u: { service: string }) => u.service)).toEqual([
        'invoicing',
        'archive',
      ]);
    });
  });

  it('a view on the old column blocks complete even with --force (the DROP would fail), until it is redefined', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    await withClient(url, (c) =>
      c.query('CREATE VIEW users."Addresses" AS SELECT id, street_and_number FROM users.account'),
    );
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    const v2 = parseManifest(MANIFEST_V2, manifestFile(MANIFEST_V2));
    const status = await migrationStatus(url, { manifest: v2, quietForMs: 0 });
    expect(status?.consumers.uses).toEqual([
      expect.objectContaining({
        service: 'users',
        source: 'dependency',
        view: 'users.Addresses',
        columns: ['users.account.street_and_number'],
        change:
          'users: redefine or drop view users.Addresses, which reads users.account.street_and_number (complete would fail on it)',
      }),
    ]);
    const refused = await blockedBy(
      completeMigration(url, { manifest: v2, force: true, quietForMs: 0 }),
    );
    expect(refused.uses.map((u) => u.view)).toEqual(['users.Addresses']);
    await withClient(url, async (c) => {
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows).toEqual([
        { phase: 'active' },
      ]);
      await c.query(
        `CREATE OR REPLACE VIEW users."Addresses" AS SELECT id, street || ' ' || number AS street_and_number FROM users.account`,
      );
    });
    expect(await completeMigration(url, { manifest: v2, quietForMs: 0 })).toMatchObject({
      outcome: 'completed',
    });
  });

  it('a foreign key onto the old column blocks complete even with --force, until it is dropped', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    await withClient(url, (c) =>
      c.query(`ALTER TABLE users.account ADD CONSTRAINT account_address_key UNIQUE (id, street_and_number);
               CREATE TABLE users."Mahnung" (id int PRIMARY KEY, account_id int, "Adresse" text,
                 CONSTRAINT "Mahnung an Adresse" FOREIGN KEY (account_id, "Adresse")
                   REFERENCES users.account (id, street_and_number))`),
    );
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    const v2 = parseManifest(MANIFEST_V2, manifestFile(MANIFEST_V2));
    const status = await migrationStatus(url, { manifest: v2, quietForMs: 0 });
    expect(status?.consumers.uses).toEqual([
      expect.objectContaining({
        service: 'users',
        source: 'dependency',
        foreignKey: 'users.Mahnung.Mahnung an Adresse',
        columns: ['users.account.street_and_number'],
        change:
          'users: drop or change foreign key Mahnung an Adresse of users.Mahnung, which references users.account.street_and_number (complete would fail on it)',
      }),
    ]);
    const refused = await blockedBy(
      completeMigration(url, { manifest: v2, force: true, quietForMs: 0 }),
    );
    expect(refused.uses.map((u) => u.foreignKey)).toEqual(['users.Mahnung.Mahnung an Adresse']);
    await withClient(url, async (c) => {
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows).toEqual([
        { phase: 'active' },
      ]);
      await c.query('ALTER TABLE users."Mahnung" DROP CONSTRAINT "Mahnung an Adresse"');
    });
    expect(await completeMigration(url, { manifest: v2, quietForMs: 0 })).toMatchObject({
      outcome: 'completed',
    });
  });

  it('a foreign key onto a table the migration drops blocks complete too', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    await withClient(url, (c) =>
      c.query(`CREATE TABLE users."Tarif" (id int PRIMARY KEY);
               CREATE TABLE users.vertrag (id int PRIMARY KEY, tarif int REFERENCES users."Tarif")`),
    );
    const file = path.join(tempDir('pgpact-migrate-drop-'), 'drop-tarif.yaml');
    fs.writeFileSync(
      file,
      'name: drop-tarif\noperations:\n  - drop_table:\n      table: users."Tarif"\n',
    );
    await startMigration(url, await loadMigration(file));
    const v1 = parseManifest(MANIFEST_V1, manifestFile(MANIFEST_V1));
    const refused = await blockedBy(
      completeMigration(url, { manifest: v1, force: true, quietForMs: 0 }),
    );
    expect(refused.uses.map((u) => [u.foreignKey, u.columns])).toEqual([
      ['users.vertrag.vertrag_tarif_fkey', ['users.Tarif.*']],
    ]);
    await withClient(url, (c) => c.query('ALTER TABLE users.vertrag DROP COLUMN tarif'));
    expect(
      await completeMigration(url, { manifest: v1, force: true, quietForMs: 0 }),
    ).toMatchObject({
      outcome: 'completed',
    });
  });

  it('without pg_stat_statements: status says observation is off, complete needs --force', async () => {
    const url = await server().createDatabase();
    await setUp(url, []);
    await withClient(url, (c) => c.query('DROP EXTENSION pg_stat_statements'));
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    const v2 = parseManifest(MANIFEST_V2, manifestFile(MANIFEST_V2));
    const status = await migrationStatus(url, { manifest: v2 });
    expect(status?.consumers.observation).toEqual({
      available: false,
      reason: expect.stringMatching(
        /^pg_stat_statements was not readable when the migration started, so there is no baseline: pg_stat_statements is not available/,
      ),
    });
    expect(status?.canComplete).toBe(false);
    await expect(completeMigration(url, { manifest: v2 })).rejects.toMatchObject({
      code: 'MIGRATION_UNVERIFIED',
    });
    expect(await completeMigration(url, { manifest: v2, force: true })).toMatchObject({
      outcome: 'completed',
      unverified: expect.stringContaining('pg_stat_statements'),
    });
  });
});
