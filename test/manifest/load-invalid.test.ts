import { describe, expect, it } from 'vitest';
import { formatError } from '../../src/cli/report-error.js';
import { PgpactError, type Problem } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';
import { MANIFEST_PROBLEM_CODES } from '../../src/manifest/problem-codes.js';

/** Parses text expected to be invalid; returns its problems as [code, line, column]. */
function problemsOf(text: string): Problem[] {
  try {
    parseManifest(text, 'pgpact.yaml');
  } catch (error) {
    if (!(error instanceof PgpactError)) throw error;
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(error.message).toBe(
      `${error.problems.length === 1 ? '1 problem' : `${error.problems.length} problems`} in pgpact.yaml`,
    );
    for (const p of error.problems) {
      expect(p.file).toBe('pgpact.yaml');
      expect(p.hint, `${p.code} has a hint`).toBeTruthy();
      expect(MANIFEST_PROBLEM_CODES).toContain(p.code);
    }
    return error.problems;
  }
  throw new Error('expected the manifest to be invalid');
}

const at = (problems: Problem[]) => problems.map((p) => [p.code, p.line, p.column]);

/** Each case: a manifest, the problems expected as [code, line, column], and text a message or hint mentions. */
const CASES: {
  name: string;
  yaml: string;
  expected: [string, number, number][];
  mentions?: RegExp;
}[] = [
  {
    name: 'YAML syntax error',
    yaml: 'version: 1\nservices:\n  a: [x, y\n  b: {}\n',
    expected: [['MANIFEST_YAML_SYNTAX', 4, 3]],
  },
  {
    name: 'unquoted * is a YAML alias, not "every column"',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: *\n',
    expected: [['MANIFEST_YAML_SYNTAX', 6, 12]],
  },
  { name: 'empty file', yaml: '# nothing here\n', expected: [['MANIFEST_EMPTY', 1, 1]] },
  { name: 'a list at the top', yaml: '- version: 1\n', expected: [['MANIFEST_WRONG_TYPE', 1, 1]] },
  {
    name: 'missing version',
    yaml: 'services:\n  a:\n',
    expected: [['MANIFEST_MISSING_KEY', 1, 1]],
    mentions: /version: 1/,
  },
  { name: 'missing services', yaml: 'version: 1\n', expected: [['MANIFEST_MISSING_KEY', 1, 1]] },
  {
    name: 'version 2',
    yaml: 'version: 2\nservices: {}\n',
    expected: [['MANIFEST_BAD_VERSION', 1, 10]],
  },
  {
    name: 'unknown top-level key with a suggestion',
    yaml: 'version: 1\nservice:\n  a:\n',
    expected: [
      ['MANIFEST_MISSING_KEY', 1, 1],
      ['MANIFEST_UNKNOWN_KEY', 2, 1],
    ],
    mentions: /did you mean `services`\?/,
  },
  {
    name: 'unknown service key with a suggestion',
    yaml: 'version: 1\nservices:\n  a:\n    own: [a]\n',
    expected: [['MANIFEST_UNKNOWN_KEY', 4, 5]],
    mentions: /did you mean `owns`\?/,
  },
  {
    name: 'unknown limit key with a suggestion',
    yaml: 'version: 1\nservices:\n  a:\n    limits:\n      statementTimeout: 2s\n',
    expected: [['MANIFEST_UNKNOWN_KEY', 5, 7]],
    mentions: /did you mean `statement_timeout`\?/,
  },
  {
    name: 'bad enforcement',
    yaml: 'version: 1\nenforcement: audt\nservices: {}\n',
    expected: [['MANIFEST_BAD_VALUE', 2, 14]],
    mentions: /did you mean `audit`\?/,
  },
  {
    name: 'a schema owned twice is reported at both places',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [users]\n  b:\n    owns: [billing, users]\n',
    expected: [
      ['MANIFEST_SCHEMA_OWNED_TWICE', 4, 12],
      ['MANIFEST_SCHEMA_OWNED_TWICE', 6, 21],
    ],
  },
  {
    name: 'a contract on a schema nobody owns, with the closest owned schema',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [users]\n  b:\n    reads:\n      user.account: [id]\n',
    expected: [['MANIFEST_CONTRACT_UNOWNED_SCHEMA', 7, 7]],
    mentions: /did you mean schema `users`\?/,
  },
  {
    name: 'a service reading its own schema',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [a]\n    reads:\n      a.t: [id]\n',
    expected: [['MANIFEST_READS_OWN_SCHEMA', 6, 7]],
  },
  {
    name: 'a service writing its own schema',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [a]\n    writes: { a.t: "*" }\n',
    expected: [['MANIFEST_WRITES_OWN_SCHEMA', 5, 15]],
  },
  {
    name: 'a bad duration',
    yaml: 'version: 1\nservices:\n  a:\n    limits: { statement_timeout: 2 seconds }\n',
    expected: [['MANIFEST_BAD_DURATION', 4, 34]],
    mentions: /did you mean `2s`\?/,
  },
  {
    name: 'a duration Postgres cannot hold',
    yaml: 'version: 1\nservices:\n  a:\n    limits:\n      lock_timeout: 30d\n',
    expected: [['MANIFEST_BAD_DURATION', 5, 21]],
  },
  {
    name: 'a negative duration',
    yaml: 'version: 1\nservices:\n  a:\n    limits:\n      idle_in_transaction_session_timeout: -5s\n',
    expected: [['MANIFEST_BAD_DURATION', 5, 44]],
  },
  {
    name: 'a size with a lower-case unit',
    yaml: 'version: 1\nservices:\n  a:\n    limits: { work_mem: 16mb }\n',
    expected: [['MANIFEST_BAD_SIZE', 4, 25]],
    mentions: /did you mean `16MB`\?/,
  },
  {
    name: 'work_mem below what Postgres allows',
    yaml: 'version: 1\nservices:\n  a:\n    limits: { work_mem: 32kB }\n',
    expected: [['MANIFEST_BAD_SIZE', 4, 25]],
  },
  {
    name: 'parallel workers that are not a whole number from 0 to 1024',
    yaml: 'version: 1\nservices:\n  a:\n    limits: { parallel_workers: 2.5 }\n  b:\n    limits: { parallel_workers: 5000 }\n',
    expected: [
      ['MANIFEST_BAD_VALUE', 4, 33],
      ['MANIFEST_BAD_VALUE', 6, 33],
    ],
    mentions: /0 turns parallel query off/,
  },
  {
    name: 'zero connections',
    yaml: 'version: 1\nservices:\n  a:\n    limits: { connections: 0 }\n',
    expected: [['MANIFEST_BAD_VALUE', 4, 28]],
  },
  {
    name: 'a service declared twice',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [x]\n  a:\n    owns: [y]\n',
    expected: [['MANIFEST_DUPLICATE_KEY', 5, 3]],
    mentions: /first at line 3/,
  },
  {
    name: 'a key written twice in a service',
    yaml: 'version: 1\nservices:\n  a:\n    role: r1\n    role: r2\n',
    expected: [['MANIFEST_DUPLICATE_KEY', 5, 5]],
  },
  {
    name: 'two services with the same role (one by default)',
    yaml: 'version: 1\nservices:\n  billing:\n  invoicing:\n    role: billing\n',
    expected: [
      ['MANIFEST_DUPLICATE_ROLE', 3, 3],
      ['MANIFEST_DUPLICATE_ROLE', 5, 11],
    ],
  },
  {
    name: 'an empty column list',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: []\n',
    expected: [['MANIFEST_EMPTY_COLUMNS', 6, 12]],
  },
  {
    name: 'a contract with no value',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t:\n',
    expected: [['MANIFEST_EMPTY_COLUMNS', 6, 7]],
  },
  {
    name: 'a column listed twice',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: [id, name, id]\n',
    expected: [['MANIFEST_DUPLICATE_COLUMN', 6, 23]],
  },
  {
    name: 'columns as a plain word instead of a list',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: id\n',
    expected: [['MANIFEST_WRONG_TYPE', 6, 12]],
  },
  {
    name: '"*" inside a list',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: [id, "*"]\n',
    expected: [['MANIFEST_STAR_IN_LIST', 6, 17]],
  },
  {
    name: 'a table reference without schema',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      account: [id]\n',
    expected: [['MANIFEST_BAD_TABLE_REF', 6, 7]],
  },
  {
    name: 'a table reference with three parts',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      db.a.t: [id]\n',
    expected: [['MANIFEST_BAD_TABLE_REF', 6, 7]],
  },
  {
    name: 'a table reference with an unclosed quote',
    yaml: "version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      'a.\"t': [id]\n",
    expected: [['MANIFEST_BAD_TABLE_REF', 6, 7]],
  },
  {
    name: 'the same table written two ways',
    yaml: 'version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: [x]\n      \'"a"."t"\': [y]\n',
    expected: [['MANIFEST_DUPLICATE_CONTRACT', 7, 7]],
  },
  {
    name: 'a name longer than 63 bytes',
    yaml: `version: 1\nservices:\n  a:\n    owns: [${'s'.repeat(64)}]\n`,
    expected: [['MANIFEST_NAME_TOO_LONG', 4, 12]],
  },
  {
    name: 'a non-ASCII name longer than 63 bytes though only 32 characters',
    yaml: `version: 1\nservices:\n  a: { owns: [a] }\n  b:\n    reads:\n      a.t: [${'ä'.repeat(32)}]\n`,
    expected: [['MANIFEST_NAME_TOO_LONG', 6, 13]],
  },
  {
    name: 'a name with NUL',
    yaml: 'version: 1\nservices:\n  a:\n    role: "x\\0y"\n',
    expected: [['MANIFEST_BAD_NAME', 4, 11]],
  },
  {
    name: 'a reserved role name',
    yaml: 'version: 1\nservices:\n  a:\n    role: pg_monitor\n',
    expected: [['MANIFEST_RESERVED_NAME', 4, 11]],
  },
  {
    name: 'owning a system schema',
    yaml: 'version: 1\nservices:\n  a:\n    owns: [pg_catalog]\n',
    expected: [['MANIFEST_RESERVED_NAME', 4, 12]],
  },
  {
    name: 'owns as a single word',
    yaml: 'version: 1\nservices:\n  a:\n    owns: users\n',
    expected: [['MANIFEST_WRONG_TYPE', 4, 11]],
    mentions: /owns: \[users\]/,
  },
  {
    name: 'a service key at the wrong indentation',
    yaml: 'version: 1\nservices:\n  a:\n  owns: [a]\n',
    expected: [['MANIFEST_WRONG_TYPE', 4, 9]],
    mentions: /indent/,
  },
  {
    name: 'a migrations folder that does not exist',
    yaml: 'version: 1\nservices:\n  a:\n    migrations: migrations/nowhere\n',
    expected: [['MANIFEST_MIGRATIONS_NOT_FOUND', 4, 17]],
  },
  {
    name: 'an alias to no anchor',
    yaml: 'version: 1\nservices:\n  a:\n    limits: *nope\n',
    expected: [['MANIFEST_BAD_ALIAS', 4, 13]],
  },
  {
    name: 'a YAML merge key',
    yaml: 'version: 1\nservices:\n  a: &a { team: x }\n  b:\n    <<: *a\n',
    expected: [['MANIFEST_UNKNOWN_KEY', 5, 5]],
    mentions: /merge keys are not supported/,
  },
];

describe('invalid manifests', () => {
  it('has at least 20 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(20));

  it.each(CASES)('$name', ({ yaml, expected, mentions }) => {
    const problems = problemsOf(yaml);
    expect(at(problems)).toEqual(expected);
    if (mentions)
      expect(problems.map((p) => `${p.message}\n${p.hint}`).join('\n')).toMatch(mentions);
  });

  it('reports every problem of a manifest at once, in file order', () => {
    const yaml = [
      'version: 3', // 1
      'enforcment: audit', // 2
      'services:', // 3
      '  users:', // 4
      '    owns: [users, shared]', // 5
      '    limits: { connections: many, statement_timeout: 5 sec, work_mem: 4 TB }', // 6
      '  billing:', // 7
      '    owns: [shared, billing]', // 8
      '    reads:', // 9
      '      users.account: [id, id]', // 10
      '      billing.invoice: "*"', // 11
      '      nobody.table: [x]', // 12
      '    migrations: does/not/exist', // 13
      '    colour: blue', // 14
    ].join('\n');
    const problems = problemsOf(yaml);
    expect(at(problems)).toEqual([
      ['MANIFEST_BAD_VERSION', 1, 10],
      ['MANIFEST_UNKNOWN_KEY', 2, 1],
      ['MANIFEST_SCHEMA_OWNED_TWICE', 5, 19],
      ['MANIFEST_BAD_VALUE', 6, 28],
      ['MANIFEST_BAD_DURATION', 6, 53],
      ['MANIFEST_BAD_SIZE', 6, 70],
      ['MANIFEST_SCHEMA_OWNED_TWICE', 8, 12],
      ['MANIFEST_DUPLICATE_COLUMN', 10, 27],
      ['MANIFEST_READS_OWN_SCHEMA', 11, 7],
      ['MANIFEST_CONTRACT_UNOWNED_SCHEMA', 12, 7],
      ['MANIFEST_MIGRATIONS_NOT_FOUND', 13, 17],
      ['MANIFEST_UNKNOWN_KEY', 14, 5],
    ]);
    // What the CLI prints: one line per problem with file:line:column, no stack trace.
    const printed = formatError(catchError(yaml));
    expect(printed).toMatch(/^error \[MANIFEST_INVALID\]: 12 problems in pgpact.yaml\n/);
    expect(printed).toContain(
      'pgpact.yaml:14:5: unknown key `colour` in service `billing` [MANIFEST_UNKNOWN_KEY]',
    );
    expect(printed).not.toMatch(/\n\s+at /);
  });
});

function catchError(yaml: string): unknown {
  try {
    parseManifest(yaml, 'pgpact.yaml');
  } catch (error) {
    return error;
  }
  return undefined;
}
