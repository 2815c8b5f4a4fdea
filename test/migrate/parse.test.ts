import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { loadMigration, parseMigration } from '../../src/migrate/parse.js';

const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name);

async function problemsOf(text: string, file = '/tmp/m.yaml') {
  try {
    await parseMigration(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PgpactError);
    expect((error as PgpactError).code).toBe('MIGRATION_INVALID');
    return (error as PgpactError).problems;
  }
  throw new Error('expected the migration to be rejected');
}

describe('migration files', () => {
  it('reads every pgpact operation, names as written (quotes, capitals, non-ASCII)', async () => {
    const m = await loadMigration(fixture('all-operations.yaml'));
    expect(m.name).toBe('all-operations');
    expect(m.format).toBe('pgpact');
    expect(m.operations.map((o) => o.op)).toEqual([
      'create_table',
      'add_column',
      'add_column',
      'drop_column',
      'rename_column',
      'merge_columns',
      'change_type',
      'set_not_null',
      'add_index',
      'add_constraint',
      'add_constraint',
      'add_constraint',
      'split_column',
      'sql',
      'sql',
    ]);
    const split = m.operations.find((o) => o.op === 'split_column');
    expect(split).toMatchObject({
      table: { schema: 'shop', name: 'Address Book' },
      from: 'Straße und Nummer',
    });
    expect(m.operations[0]).toMatchObject({ table: { schema: 'shop', name: 'review' } });
    // pgroll's default: columns are NOT NULL unless nullable: true.
    const created = m.operations[0] as { columns: { name: string; nullable: boolean }[] };
    expect(created.columns.map((c) => [c.name, c.nullable])).toEqual([
      ['id', false],
      ['customer_id', true],
      ['body', false],
    ]);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps pgroll operations onto pgpact ones', async () => {
    const m = await loadMigration(fixture('pgroll-operations.json'));
    expect(m.format).toBe('pgroll');
    expect(m.operations.map((o) => o.op)).toEqual([
      'create_table',
      'rename_column',
      'change_type',
      'set_not_null',
      'add_column',
      'drop_column',
      'add_index',
      'add_constraint',
      'rename_column',
      'sql',
    ]);
    expect(m.operations[1]).toMatchObject({
      from: 'nick',
      to: 'nickname',
      table: { schema: 'public', name: 'people' },
    });
    expect(m.operations[2]).toMatchObject({
      column: 'age',
      type: 'integer',
      up: 'CAST(age AS integer)',
    });
    expect(m.operations[6]).toMatchObject({
      name: 'people_city_idx',
      columns: ['city'],
      method: 'btree',
      unique: false,
    });
  });

  it('reports every problem with its line, and suggests the closest key', async () => {
    const problems = await problemsOf(`name: broken
operations:
  - split_colum:
      table: users.account
  - split_column:
      table: users.account
      from: street_and_number
      to:
        - { name: street, type: text, up: "split_part(street_and_number, ' ', 1" }
      down: street
  - add_column:
      table: users.account
      column: { name: x, type: int, nulable: true }
  - alter_column: { table: t, column: c, unique: true }
  - rename_table: { from: a, to: other.b }
  - rename_column: { table: t, from: a, to: a }
`);
    const text = problems.map((p) => `${p.line}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^3: unknown operation `split_colum`.*did you mean `split_column`/),
        expect.stringMatching(/^9: `up` is not valid SQL/),
        expect.stringMatching(/^13: unknown key `nulable`.*did you mean `nullable`/),
        expect.stringMatching(/^14: `unique` of alter_column must be a mapping/),
        expect.stringMatching(
          /^15: .*rename_table renames a table within its schema \(public\), not into other/,
        ),
        expect.stringMatching(/renames it to itself/),
      ]),
    );
    expect(problems.every((p) => p.file === '/tmp/m.yaml')).toBe(true);
  });

  it('rejects a statement where an expression is expected, and two changes of one column', async () => {
    const problems = await problemsOf(`operations:
  - drop_column: { table: t, column: a, down: "1; DROP TABLE t" }
  - rename_column: { table: t, from: b, to: c }
  - split_column: { table: t, from: b, to: [{ name: d, type: text, up: b }], down: d }
`);
    expect(problems.map((p) => p.message).join('\n')).toMatch(/`down` is not valid SQL/);
    expect(problems.map((p) => p.message).join('\n')).toMatch(
      /public\.t\.b is changed by both rename_column and split_column/,
    );
  });

  it('refuses names Postgres would cut or that hold control characters, at their line', async () => {
    const long = 'c'.repeat(64);
    const problems = await problemsOf(`name: "evil\\u001b[2J"
schema: "${'p'.repeat(64)}"
operations:
  - add_constraint: { table: t, name: ${long}, type: check, check: "a > 0" }
  - add_column: { table: t, column: { name: "x\\ry", type: int, nullable: true } }
  - add_index: { table: "${'s'.repeat(64)}.t", name: i, columns: [a] }
  - add_index: { table: t, name: j, columns: ["a\\nb"], method: "btree; DROP" }
`);
    const text = problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^4:\d+: `name` of add_constraint is 64 bytes long, more than the 63/,
        ),
        expect.stringMatching(/^5:\d+: `name` of a column holds a control character/),
        expect.stringMatching(/^6:\d+: `table` of add_index: `s+` is 64 bytes long/),
        expect.stringMatching(
          /^7:\d+: `a\\nb` in `columns` of add_index holds a control character/,
        ),
        expect.stringMatching(/^7:\d+: unknown index method `btree; DROP`/),
      ]),
    );
  });

  it('takes the name from the file when the migration has none, and says which file is missing', async () => {
    const m = await parseMigration('operations:\n  - sql: { up: "SELECT 1" }\n', '/x/007_seed.yml');
    expect(m.name).toBe('007_seed');
    await expect(loadMigration('/nonexistent/m.yaml')).rejects.toMatchObject({
      code: 'MIGRATION_NOT_FOUND',
    });
    const syntax = await problemsOf('operations: [\n', '/tmp/bad.yaml');
    expect(syntax[0]).toMatchObject({ code: 'MIGRATION_SYNTAX', file: '/tmp/bad.yaml' });
  });
});
