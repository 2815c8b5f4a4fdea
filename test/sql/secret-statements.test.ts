import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser } from '../../src/sql/parse.js';
import {
  carriesSecret,
  isWithheldStatement,
  withholdSecretStatement,
} from '../../src/sql/secret-statements.js';

const VERIFIER =
  'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=:c2VydmVyc2VydmVyc2VydmVyc2VydmVyc2VydmVyc2U=';

describe('statement texts carrying a password are withheld', () => {
  beforeAll(async () => {
    await loadParser();
  });

  const secrets: [string, string][] = [
    ["CREATE ROLE billing LOGIN PASSWORD 'hunter2'", 'CREATE ROLE'],
    ["CREATE USER billing WITH ENCRYPTED PASSWORD 'hunter2'", 'CREATE ROLE'],
    [`ALTER USER billing PASSWORD '${VERIFIER}'`, 'ALTER ROLE'],
    ['ALTER ROLE billing PASSWORD $1', 'ALTER ROLE'],
    [
      "CREATE USER MAPPING FOR billing SERVER remote OPTIONS (user 'b', password 'hunter2')",
      'CREATE USER MAPPING',
    ],
    [
      "ALTER USER MAPPING FOR billing SERVER remote OPTIONS (SET password 'hunter2')",
      'ALTER USER MAPPING',
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=db user=r password=hunter2' PUBLICATION p",
      'CREATE SUBSCRIPTION',
    ],
    ["ALTER SUBSCRIPTION s CONNECTION 'host=db password=hunter2'", 'ALTER SUBSCRIPTION'],
    ["SELECT dblink_connect('c', 'host=db user=r password=hunter2')", 'SELECT'],
    ["SELECT * FROM dblink('postgresql://r:hunter2@db/app', 'SELECT 1') AS t(x int)", 'SELECT'],
    ["ALTER SYSTEM SET primary_conninfo = 'host=db password=hunter2'", 'ALTER SYSTEM'],
    ["SET app.db_password = 'hunter2'", 'VARIABLE SET'],
    [`UPDATE pg_authid SET rolpassword = '${VERIFIER}' WHERE rolname = 'x'`, 'UPDATE'],
    [
      "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', password 'hunter2')",
      'CREATE FOREIGN SERVER',
    ],
  ];

  it.each(secrets)('%s', (sql, kind) => {
    const shown = withholdSecretStatement(sql);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('SCRAM-SHA-256$');
    expect(isWithheldStatement(shown)).toBe(true);
    expect(shown).toContain(`(${kind})`);
    expect(carriesSecret(sql)).toBe(true);
  });

  it('withholds text the parser rejects when it could hold a secret (cut by track_activity_query_size)', () => {
    const cut = "CREATE ROLE billing LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2Fsd";
    expect(withholdSecretStatement(cut)).not.toContain('SCRAM');
    expect(withholdSecretStatement(cut)).toContain('(CREATE)');
    expect(
      withholdSecretStatement("CREATE USER MAPPING FOR b SERVER s OPTIONS (password 'hun"),
    ).not.toContain('hun');
    expect(
      withholdSecretStatement("SELECT dblink_connect('postgresql://r:hunter2@db/a"),
    ).not.toContain('hunter2');
    // Cut before any value: nothing secret left to withhold; a column name is no secret.
    expect(withholdSecretStatement('ALTER ROLE x PASSW')).toBe('ALTER ROLE x PASSW');
    expect(withholdSecretStatement('SELECT password_hash FROM users.login WHERE')).toBe(
      'SELECT password_hash FROM users.login WHERE',
    );
  });

  it('keeps ordinary statements, even about password columns', () => {
    for (const sql of [
      'SELECT id, name FROM users.account WHERE id = $1',
      'SELECT password_hash FROM users.login WHERE email = $1',
      'UPDATE users.login SET password_hash = $1 WHERE id = $2',
      'CREATE ROLE reporting LOGIN',
      "ALTER ROLE reporting SET statement_timeout = '30s'",
      "CREATE SUBSCRIPTION s CONNECTION 'host=db user=r' PUBLICATION p",
    ]) {
      expect(withholdSecretStatement(sql)).toBe(sql);
      expect(carriesSecret(sql)).toBe(false);
    }
  });

  it('is idempotent: a withheld text stays as it is', () => {
    const once = withholdSecretStatement("CREATE ROLE a PASSWORD 'hunter2'");
    expect(withholdSecretStatement(once)).toBe(once);
  });
});
