import { describe, expect, it } from 'vitest';
import {
  forwardMigrations,
  forwardText,
  rollbackFile,
} from '../../src/provision/migration-layout.js';
import type { PgpactError } from '../../src/errors.js';
import { writeProject } from './fixtures.js';

/** The forward migrations of folder m of a project holding `files`, by name. */
function forwardNames(files: Record<string, string>): string[] {
  const dir = writeProject(files);
  return forwardMigrations(`${dir}/m`).map((m) => m.name);
}

describe('migration folders of other tools', () => {
  it('golang-migrate and sqlx: up files run, down files never', () => {
    expect(
      forwardNames({
        'm/000002_add_phone.down.sql': 'ALTER TABLE users DROP COLUMN phone;',
        'm/000002_add_phone.up.sql': 'ALTER TABLE users ADD COLUMN phone text;',
        'm/000001_init.up.sql': 'CREATE TABLE users (id int);',
        'm/000001_init.down.sql': 'DROP TABLE users;',
      }),
    ).toEqual(['000001_init.up.sql', '000002_add_phone.up.sql']);
  });

  it('Diesel and Prisma: one folder per migration, its up.sql or migration.sql, in natural order of the folders', () => {
    expect(
      forwardNames({
        'm/2019-03-03-163336_create_post/up.sql': 'CREATE TABLE post (id int);',
        'm/2019-03-03-163336_create_post/down.sql': 'DROP TABLE post;',
        'm/2019-02-26-002946_create_user/up.sql': 'CREATE TABLE person (id int);',
        'm/2019-02-26-002946_create_user/down.sql': 'DROP TABLE person;',
        'm/00000000000000_diesel_initial_setup/up.sql': 'SELECT 1;',
        'm/20240101000000_prisma/migration.sql': 'CREATE TABLE p (id int);',
        'm/meta/_journal.json': '{}',
        'm/notes/readme.txt': 'no migration here',
      }),
    ).toEqual([
      '00000000000000_diesel_initial_setup/up.sql',
      '2019-02-26-002946_create_user/up.sql',
      '2019-03-03-163336_create_post/up.sql',
      '20240101000000_prisma/migration.sql',
    ]);
  });

  it('Flyway undo, yoyo rollback and other rollback names are left out; plain and versioned files run', () => {
    expect(
      forwardNames({
        'm/V1__init.sql': 'CREATE TABLE a (id int);',
        'm/U1__init.sql': 'DROP TABLE a;',
        'm/V2__more.sql': 'CREATE TABLE b (id int);',
        'm/0003.sql': 'CREATE TABLE c (id int);',
        'm/0003.rollback.sql': 'DROP TABLE c;',
        'm/0004_x.undo.sql': 'DROP TABLE d;',
        'm/0004_x.sql': 'CREATE TABLE d (id int);',
        'm/0005_down.sql': 'DROP TABLE e;',
        'm/downtime_notes.sql': 'SELECT 1;',
      }),
    ).toEqual(['0003.sql', '0004_x.sql', 'downtime_notes.sql', 'V1__init.sql', 'V2__more.sql']);
    // Flyway: repeatable migrations run after every versioned one.
    expect(
      forwardNames({
        'm/R__views.sql': 'CREATE OR REPLACE VIEW v AS SELECT * FROM a;',
        'm/V10__later.sql': 'SELECT 10;',
        'm/V2__more.sql': 'SELECT 2;',
        'm/V1_1__init.sql': 'CREATE TABLE a (id int);',
      }),
    ).toEqual(['V1_1__init.sql', 'V2__more.sql', 'V10__later.sql', 'R__views.sql']);
    expect(rollbackFile('migrations/000001_init.down.sql')).toMatch(/golang-migrate/);
    expect(rollbackFile('U2__x.sql')).toMatch(/Flyway/);
    expect(rollbackFile('V2__x.sql')).toBeUndefined();
    expect(rollbackFile('undo_log.sql')).toBeUndefined();
  });

  it('goose, dbmate and node-pg-migrate files: only the up sections run, every statement on its own line and column', () => {
    const goose = [
      '-- a comment before the marker',
      '-- +goose Up',
      '-- +goose StatementBegin',
      'CREATE TABLE t (id int);',
      '-- +goose StatementEnd',
      '',
      '-- +goose Down',
      'DROP TABLE t;',
      '',
    ].join('\n');
    const up = forwardText(goose);
    expect(up.split('\n')).toHaveLength(goose.split('\n').length);
    expect(up.split('\n')[3]).toBe('CREATE TABLE t (id int);');
    expect(up).not.toContain('DROP');
    expect(up).not.toMatch(/goose (Up|Down)/);
    expect(up.length).toBe(goose.length);

    const dbmate =
      '-- migrate:up transaction:false\r\nCREATE INDEX i ON t (id);\r\n\r\n-- migrate:down\r\nDROP INDEX i;\r\n';
    expect(forwardText(dbmate).replace(/\s+/g, ' ').trim()).toBe('CREATE INDEX i ON t (id);');
    expect(forwardText(dbmate).length).toBe(dbmate.length);

    const pgMigrate =
      '-- Up Migration\nALTER TABLE t ADD c int;\n-- Down Migration\nALTER TABLE t DROP c;\n';
    expect(forwardText(pgMigrate).trim()).toBe('ALTER TABLE t ADD c int;');

    // No markers: the text as it is, comments that only mention up or down included.
    const plain = '-- down the road we may split this\nCREATE TABLE u (id int);\n';
    expect(forwardText(plain)).toBe(plain);
    // A down marker alone makes no sectioned file: nothing is blanked.
    const noUp = 'CREATE TABLE v (id int);\n-- Down Migration\n';
    expect(forwardText(noUp)).toBe(noUp);
  });

  it('a Sqitch project: deploy scripts in plan order, a reworked change first as it was at its tag, revert and verify never', () => {
    const plan = [
      '%syntax-version=1.0.0',
      '%project=flipr',
      '',
      'users 2024-01-01T00:00:00Z Ann <ann@example.org> # users first',
      'appschema [users] 2024-01-02T00:00:00Z Ann <ann@example.org>',
      '+flips [appschema users] 2024-01-03T00:00:00Z Ann <ann@example.org>',
      '@v1.0 2024-01-04T00:00:00Z Ann <ann@example.org> # released',
      '',
      'flips [flips@v1.0] 2024-02-01T00:00:00Z Ann <ann@example.org> # reworked',
    ].join('\n');
    const files = {
      'm/sqitch.plan': plan,
      'm/sqitch.conf': '[core]\n\tengine = pg\n',
      'm/deploy/users.sql': 'BEGIN; CREATE TABLE users (id int); COMMIT;',
      'm/deploy/appschema.sql': 'BEGIN; CREATE SCHEMA flipr; COMMIT;',
      'm/deploy/flips@v1.0.sql': 'BEGIN; CREATE TABLE flips (id int); COMMIT;',
      'm/deploy/flips.sql': 'BEGIN; ALTER TABLE flips ADD body text; COMMIT;',
      'm/revert/users.sql': 'BEGIN; DROP TABLE users; COMMIT;',
      'm/revert/appschema.sql': 'BEGIN; DROP SCHEMA flipr; COMMIT;',
      'm/verify/users.sql': 'SELECT id FROM users WHERE false;',
    };
    const order = [
      'deploy/users.sql',
      'deploy/appschema.sql',
      'deploy/flips@v1.0.sql',
      'deploy/flips.sql',
    ];
    expect(forwardNames(files)).toEqual(order);
    // Pointed at the deploy folder, the same project is read through its plan.
    const dir = writeProject(files);
    expect(forwardMigrations(`${dir}/m/deploy`).map((m) => m.name)).toEqual(order);
    expect(forwardMigrations(`${dir}/m/deploy`)[0]!.path).toBe(`${dir}/m/deploy/users.sql`);

    // A planned change without its script, or a revert entry: named at the plan's line.
    const missing = writeProject(
      Object.fromEntries(Object.entries(files).filter(([f]) => f !== 'm/deploy/appschema.sql')),
    );
    expect(() => forwardMigrations(`${missing}/m`)).toThrow(
      expect.objectContaining({
        code: 'MIGRATION_INVALID',
        message: expect.stringContaining(
          'sqitch.plan:5: change appschema has no deploy script deploy/appschema.sql',
        ),
      }) as PgpactError,
    );
    const reverted = writeProject({
      ...files,
      'm/sqitch.plan': `${plan}\n-flips 2024-03-01T00:00:00Z Ann <ann@example.org>\n`,
    });
    expect(() => forwardMigrations(`${reverted}/m`)).toThrow(/sqitch\.plan:10: a revert entry/);
  });
});
