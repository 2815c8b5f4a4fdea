import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Finding } from '../../src/findings.js';
import { CHECK_FINDING_KINDS } from '../../src/impact/finding-kinds.js';
import { runCheck } from '../../src/impact/run-check.js';
import { loadManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

// One project for every case: service A's schema as the article has it, plus the objects the rules need.
const MANIFEST = `version: 1
services:
  users:
    owns: [users]
    migrations: migrations/users
  invoicing:
    owns: [invoicing]
    migrations: migrations/invoicing
    reads:
      users.account: [id, name]
`;

const USERS_BASE = `
CREATE TABLE users.account (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL,
  nickname   text,
  email      text CONSTRAINT email_present CHECK (email IS NOT NULL),
  manager_id bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_name_idx ON users.account (name);
CREATE VIEW users.account_names AS SELECT id, name FROM users.account;
CREATE TABLE users.session (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES users.account (id)
);
CREATE TABLE users.note (id bigint NOT NULL, body text);
CREATE TYPE users.status AS ENUM ('active', 'closed');
CREATE DOMAIN users.email_address AS text;
CREATE TABLE users.event (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE users.event_2026 PARTITION OF users.event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
`;
const INVOICING_BASE = `CREATE TABLE invoicing.invoice (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL);`;

/** A Squawk rule, pgpact's finding kind for it, a migration that violates it and one that does not. */
interface LintCase {
  squawk: string;
  kind: string;
  bad: string;
  good: string;
}

const LONG_NAME = 'a_column_name_that_is_much_longer_than_the_sixty_three_bytes_postgres_keeps';

const CASES: LintCase[] = [
  {
    squawk: 'adding-field-with-default',
    kind: 'table-rewrite',
    bad: 'ALTER TABLE users.account ADD COLUMN token uuid DEFAULT gen_random_uuid();',
    good: "ALTER TABLE users.account ADD COLUMN token text DEFAULT 'none';",
  },
  {
    squawk: 'adding-foreign-key-constraint',
    kind: 'validating-scan',
    bad: 'ALTER TABLE users.account ADD CONSTRAINT account_manager_fk FOREIGN KEY (manager_id) REFERENCES users.account (id);',
    good: 'ALTER TABLE users.account ADD CONSTRAINT account_manager_fk FOREIGN KEY (manager_id) REFERENCES users.account (id) NOT VALID;',
  },
  {
    squawk: 'adding-not-nullable-field',
    kind: 'validating-scan',
    bad: 'ALTER TABLE users.account ALTER COLUMN nickname SET NOT NULL;',
    good: 'ALTER TABLE users.account ALTER COLUMN email SET NOT NULL;',
  },
  {
    squawk: 'adding-required-field',
    kind: 'required-column-added',
    bad: 'ALTER TABLE users.account ADD COLUMN phone text NOT NULL;',
    good: "ALTER TABLE users.account ADD COLUMN phone text NOT NULL DEFAULT '';",
  },
  {
    squawk: 'adding-serial-primary-key-field / adding-primary-key-constraint',
    kind: 'index-without-concurrently',
    bad: 'ALTER TABLE users.note ADD PRIMARY KEY (id);',
    good: 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS note_pk ON users.note (id);\nALTER TABLE users.note ADD CONSTRAINT note_pkey PRIMARY KEY USING INDEX note_pk;',
  },
  {
    squawk: 'ban-char-field',
    kind: 'char-column',
    bad: 'ALTER TABLE users.account ADD COLUMN country char(2);',
    good: 'ALTER TABLE users.account ADD COLUMN country text;',
  },
  {
    squawk: 'ban-concurrent-index-creation-in-transaction',
    kind: 'concurrently-in-transaction',
    bad: 'BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS account_created_idx ON users.account (created_at);\nCOMMIT;',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS account_created_idx ON users.account (created_at);',
  },
  {
    squawk: 'ban-create-domain-with-constraint',
    kind: 'domain-constraint',
    bad: 'CREATE DOMAIN users.positive AS bigint CHECK (VALUE > 0);',
    good: 'CREATE DOMAIN users.label AS text;',
  },
  {
    squawk: 'ban-alter-domain-with-add-constraint',
    kind: 'domain-constraint',
    bad: "ALTER DOMAIN users.email_address ADD CONSTRAINT has_at CHECK (VALUE LIKE '%@%');",
    good: "ALTER DOMAIN users.email_address SET DEFAULT '';",
  },
  {
    squawk: 'ban-drop-column',
    kind: 'column-dropped',
    bad: 'ALTER TABLE users.account DROP COLUMN nickname;',
    good: 'ALTER TABLE users.account ADD COLUMN alias text;',
  },
  {
    squawk: 'ban-drop-database',
    kind: 'database-dropped',
    bad: 'DROP DATABASE IF EXISTS pgpact_lint_nothing_here;',
    good: 'ALTER TABLE users.account ADD COLUMN alias text;',
  },
  {
    squawk: 'ban-drop-not-null',
    kind: 'not-null-dropped',
    bad: 'ALTER TABLE users.account ALTER COLUMN name DROP NOT NULL;',
    good: "ALTER TABLE users.account ALTER COLUMN nickname SET DEFAULT '';",
  },
  {
    squawk: 'ban-drop-table',
    kind: 'table-dropped',
    bad: 'DROP TABLE users.note;',
    good: 'CREATE TABLE users.memo (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
  },
  {
    squawk: 'ban-truncate-cascade',
    kind: 'truncate-cascade',
    bad: 'TRUNCATE users.account CASCADE;',
    good: 'TRUNCATE users.note;',
  },
  {
    squawk: 'changing-column-type',
    kind: 'column-type-changed',
    bad: 'ALTER TABLE users.account ALTER COLUMN manager_id TYPE numeric;',
    good: 'ALTER TABLE users.account ADD COLUMN manager_ref numeric;',
  },
  {
    squawk: 'constraint-missing-not-valid (CHECK)',
    kind: 'validating-scan',
    bad: 'ALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0);',
    good: 'ALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0) NOT VALID;',
  },
  {
    squawk: 'constraint-missing-not-valid (VALIDATE in the same transaction)',
    kind: 'validate-in-same-transaction',
    bad: 'BEGIN;\nALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0) NOT VALID;\nALTER TABLE users.account VALIDATE CONSTRAINT name_not_empty;\nCOMMIT;',
    good: 'ALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0) NOT VALID;\nALTER TABLE users.account VALIDATE CONSTRAINT name_not_empty;',
  },
  {
    squawk: 'disallowed-unique-constraint',
    kind: 'index-without-concurrently',
    bad: 'ALTER TABLE users.account ADD CONSTRAINT account_name_key UNIQUE (name);',
    good: 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS account_name_key ON users.account (name);\nALTER TABLE users.account ADD CONSTRAINT account_name_key UNIQUE USING INDEX account_name_key;',
  },
  {
    squawk: 'prefer-bigint-over-int',
    kind: 'small-integer-key',
    bad: 'CREATE TABLE users.tag (id int PRIMARY KEY, label text);',
    good: 'CREATE TABLE users.tag (id bigint PRIMARY KEY, label text, uses int);',
  },
  {
    squawk: 'prefer-bigint-over-smallint',
    kind: 'small-integer-key',
    bad: 'CREATE TABLE users.tag (id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text);',
    good: 'CREATE TABLE users.tag (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text, rank smallint);',
  },
  {
    squawk: 'prefer-identity',
    kind: 'serial-column',
    bad: 'CREATE TABLE users.tag (id bigserial PRIMARY KEY, label text);',
    good: 'CREATE TABLE users.tag (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text);',
  },
  {
    squawk: 'prefer-robust-stmts',
    kind: 'non-robust-statement',
    bad: 'CREATE INDEX CONCURRENTLY account_created_idx ON users.account (created_at);',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS account_created_idx ON users.account (created_at);',
  },
  {
    squawk: 'prefer-text-field',
    kind: 'varchar-length',
    bad: 'ALTER TABLE users.account ADD COLUMN code varchar(10);',
    good: 'ALTER TABLE users.account ADD COLUMN code text;',
  },
  {
    squawk: 'prefer-timestamptz',
    kind: 'timestamp-without-time-zone',
    bad: 'ALTER TABLE users.account ADD COLUMN seen_at timestamp;',
    good: 'ALTER TABLE users.account ADD COLUMN seen_at timestamptz;',
  },
  {
    squawk: 'renaming-column',
    kind: 'column-renamed',
    bad: 'ALTER TABLE users.account RENAME COLUMN nickname TO alias;',
    good: 'ALTER TABLE users.account ADD COLUMN alias text;',
  },
  {
    squawk: 'renaming-table',
    kind: 'table-renamed',
    bad: 'ALTER TABLE users.note RENAME TO memo;',
    good: 'CREATE TABLE users.memo (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
  },
  {
    squawk: 'require-concurrent-index-creation',
    kind: 'index-without-concurrently',
    bad: 'CREATE INDEX account_created_idx ON users.account (created_at);',
    good: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS account_created_idx ON users.account (created_at);',
  },
  {
    squawk: 'require-concurrent-index-deletion',
    kind: 'drop-index-without-concurrently',
    bad: 'DROP INDEX users.account_name_idx;',
    good: 'DROP INDEX CONCURRENTLY IF EXISTS users.account_name_idx;',
  },
  {
    squawk: 'require-timeout-settings (lock_timeout)',
    kind: 'missing-lock-timeout',
    bad: 'ALTER TABLE users.account ADD COLUMN alias text;',
    good: "SET lock_timeout = '2s';\nALTER TABLE users.account ADD COLUMN alias text;",
  },
  {
    squawk: 'require-timeout-settings (statement_timeout)',
    kind: 'missing-statement-timeout',
    bad: "SET lock_timeout = '2s';\nALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0);",
    good: "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\nALTER TABLE users.account ADD CONSTRAINT name_not_empty CHECK (length(name) > 0);",
  },
  {
    squawk: 'transaction-nesting',
    kind: 'transaction-nesting',
    bad: 'BEGIN;\nBEGIN;\nALTER TABLE users.account ADD COLUMN alias text;\nCOMMIT;',
    good: 'BEGIN;\nALTER TABLE users.account ADD COLUMN alias text;\nCOMMIT;',
  },
  {
    squawk: 'ban-uncommitted-transaction',
    kind: 'uncommitted-transaction',
    bad: 'BEGIN;\nALTER TABLE users.account ADD COLUMN alias text;',
    good: 'BEGIN;\nALTER TABLE users.account ADD COLUMN alias text;\nCOMMIT;',
  },
  {
    squawk: 'require-enum-value-ordering',
    kind: 'enum-value-appended',
    bad: "ALTER TYPE users.status ADD VALUE 'blocked';",
    good: "ALTER TYPE users.status ADD VALUE 'blocked' BEFORE 'closed';",
  },
  {
    squawk: 'identifier-too-long',
    kind: 'identifier-too-long',
    bad: `ALTER TABLE users.account ADD COLUMN ${LONG_NAME} text;`,
    good: 'ALTER TABLE users.account ADD COLUMN short_name text;',
  },
  {
    squawk: 'require-concurrent-partition-detach',
    kind: 'detach-partition-without-concurrently',
    bad: 'ALTER TABLE users.event DETACH PARTITION users.event_2026;',
    good: 'ALTER TABLE users.event DETACH PARTITION users.event_2026 CONCURRENTLY;',
  },
  {
    squawk: 'require-concurrent-reindex',
    kind: 'reindex-without-concurrently',
    bad: 'REINDEX TABLE users.account;',
    good: 'REINDEX TABLE CONCURRENTLY users.account;',
  },
  {
    squawk: 'prefer-repack',
    kind: 'rewrite-command',
    bad: 'VACUUM FULL users.note;',
    good: 'VACUUM users.note;',
  },
];

function project(sql: string): string {
  const dir = tempDir('pgpact-lint-');
  fs.writeFileSync(path.join(dir, 'pgpact.yaml'), MANIFEST);
  for (const [service, base] of [
    ['users', USERS_BASE],
    ['invoicing', INVOICING_BASE],
  ] as const) {
    fs.mkdirSync(path.join(dir, 'migrations', service), { recursive: true });
    fs.writeFileSync(path.join(dir, 'migrations', service, '001_base.sql'), base);
  }
  fs.mkdirSync(path.join(dir, 'change'));
  fs.writeFileSync(path.join(dir, 'change', '002_change.sql'), `${sql}\n`);
  return dir;
}

async function check(sql: string, serverUrl: string): Promise<Finding[]> {
  const dir = project(sql);
  const report = await runCheck({
    manifest: loadManifest(path.join(dir, 'pgpact.yaml')),
    files: ['change/002_change.sql'],
    root: dir,
    service: 'users',
    shadowServerUrl: serverUrl,
  });
  return report.findings;
}

it('every lint kind has a description (SARIF rules, docs)', () => {
  for (const c of CASES) expect(CHECK_FINDING_KINDS[c.kind], c.kind).toBeTruthy();
});

describeEachServer('lint parity with Squawk', (server) => {
  for (const c of CASES) {
    it(`${c.squawk} → ${c.kind}`, async () => {
      const bad = await check(c.bad, server().url);
      expect(
        bad.map((f) => f.kind),
        'violating migration',
      ).toContain(c.kind);
      expect(bad.find((f) => f.kind === c.kind)?.location).toMatch(/^change\/002_change\.sql:\d+$/);
      const good = await check(c.good, server().url);
      expect(
        good.map((f) => f.kind),
        'clean migration',
      ).not.toContain(c.kind);
      expect(
        good.filter((f) => f.kind === 'migration-fails'),
        'the clean migration applies',
      ).toEqual([]);
    });
  }

  it('lint runs on the statement that fails and on every statement after it', async () => {
    // DROP COLUMN name fails (a view depends on it); the statements after it never run.
    const findings = await check(
      'ALTER TABLE users.account DROP COLUMN name;\nCREATE INDEX account_created_idx ON users.account (created_at);\nALTER TABLE users.account ADD COLUMN country char(2);\nALTER TABLE users.account ALTER COLUMN manager_id TYPE numeric;',
      server().url,
    );
    const at = (kind: string) => findings.filter((f) => f.kind === kind).map((f) => f.location);
    expect(at('migration-fails')).toEqual(['change/002_change.sql:1']);
    expect(at('missing-lock-timeout')).toEqual(['change/002_change.sql:1']);
    expect(at('index-without-concurrently')).toEqual(['change/002_change.sql:2']);
    expect(at('char-column')).toEqual(['change/002_change.sql:3']);
    expect(at('table-rewrite')).toEqual(['change/002_change.sql:4']);
    expect(findings.find((f) => f.kind === 'table-rewrite')?.message).toMatch(/predicted/);
  });

  it('truncate-cascade names the tables it empties too and their readers', async () => {
    const findings = await check('TRUNCATE users.account CASCADE;', server().url);
    const f = findings.find((x) => x.kind === 'truncate-cascade');
    expect(f?.message).toContain('users.session');
    expect(f?.consumers.map((c) => c.service)).toEqual(['invoicing']);
  });

  it('gives the table sizes of a live database in the lock lints', async () => {
    const url = await server().createDatabase('lintsizes');
    await withClient(url, (c) =>
      c.query(`CREATE SCHEMA users;
               CREATE TABLE users.account (id bigint PRIMARY KEY, name text NOT NULL);
               INSERT INTO users.account SELECT g, 'n' || g FROM generate_series(1, 3000) g;
               CREATE INDEX account_name_idx ON users.account (name);
               ANALYZE users.account;`),
    );
    const dir = project('DROP INDEX users.account_name_idx;\nREINDEX TABLE users.account;');
    const report = await runCheck({
      manifest: loadManifest(path.join(dir, 'pgpact.yaml')),
      files: ['change/002_change.sql'],
      root: dir,
      service: 'users',
      databaseUrl: url,
    });
    const message = (kind: string) => report.findings.find((f) => f.kind === kind)?.message;
    expect(message('drop-index-without-concurrently')).toMatch(/\(≈3,000 rows, [\d.]+ kB\)/);
    expect(message('reindex-without-concurrently')).toMatch(/\(≈3,000 rows, [\d.]+ kB\)/);
  });
});
