import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffCatalogs } from '../../src/impact/diff-catalogs.js';
import { indexColumns } from '../../src/impact/diff-relation.js';
import { sameDefinitionModuloRenames } from '../../src/impact/sql-tokens.js';
import type { CatalogSnapshot, ColumnInfo, RelationInfo } from '../../src/catalog-types.js';

const col = (
  name: string,
  position: number,
  type = 'text',
  extra: Partial<ColumnInfo> = {},
): ColumnInfo => ({
  name,
  position,
  type,
  notNull: false,
  grants: [],
  ...extra,
});

const table = (
  oid: number,
  schema: string,
  name: string,
  columns: ColumnInfo[],
  extra: Partial<RelationInfo> = {},
): RelationInfo => ({
  oid,
  schema,
  name,
  kind: 'table',
  owner: schema,
  columns,
  grants: [],
  constraints: [],
  indexes: [],
  estimatedRows: 0,
  sizeBytes: 0,
  ...extra,
});

const catalog = (relations: RelationInfo[]): CatalogSnapshot => ({
  serverVersion: 180000,
  database: 'db',
  schemas: [...new Set(relations.map((r) => r.schema))].map((name) => ({
    name,
    owner: name,
    grants: [],
  })),
  relations,
  roles: [],
  defaultPrivileges: [],
  functions: [],
  databaseGrants: [],
  extensions: [],
});

describe('diffCatalogs', () => {
  const account = table(10, 'users', 'account', [
    col('id', 1, 'bigint', { notNull: true }),
    col('street_and_number', 2),
    col('zip', 3),
  ]);

  it('reports a rename by attnum as a rename, even when another column takes the old name', () => {
    const after = table(10, 'users', 'account', [
      col('id', 1, 'bigint', { notNull: true }),
      col('address', 2),
      col('zip', 3),
      col('street_and_number', 4),
    ]);
    expect(diffCatalogs(catalog([account]), catalog([after]))).toEqual([
      {
        kind: 'column-renamed',
        relation: { schema: 'users', name: 'account', kind: 'table' },
        column: 'street_and_number',
        newName: 'address',
      },
      {
        kind: 'column-added',
        relation: { schema: 'users', name: 'account', kind: 'table' },
        column: 'street_and_number',
        toType: 'text',
      },
    ]);
  });

  it('reports a table renamed or moved by oid, and a dropped and recreated table as recreated', () => {
    const other = table(11, 'users', 'session', [col('id', 1)]);
    const moved = { ...account, schema: 'archive', name: 'old_account' };
    expect(diffCatalogs(catalog([account, other]), catalog([moved, other]))).toEqual([
      {
        kind: 'table-renamed',
        relation: { schema: 'users', name: 'account', kind: 'table' },
        newName: 'archive.old_account',
      },
    ]);
    // The only table of a schema moving to a new schema that replaces it: a schema rename.
    expect(
      diffCatalogs(catalog([account]), catalog([{ ...account, schema: 'customers' }])),
    ).toEqual([{ kind: 'schema-renamed', schema: 'users', newName: 'customers' }]);
    const recreated = { ...account, oid: 99, columns: [col('id', 1, 'bigint')] };
    expect(diffCatalogs(catalog([account]), catalog([recreated]))).toEqual([
      {
        kind: 'table-recreated',
        relation: { schema: 'users', name: 'account', kind: 'table' },
        lostColumns: ['street_and_number', 'zip'],
      },
    ]);
  });

  it('finds NOT NULL, a removed default, a type change and a required new column', () => {
    const before = table(1, 's', 't', [col('a', 1, 'integer', { default: '0' }), col('b', 2)]);
    const after = table(1, 's', 't', [
      col('a', 1, 'bigint'),
      col('b', 2, 'text', { notNull: true }),
      col('c', 3, 'text', { notNull: true }),
    ]);
    expect(
      diffCatalogs(catalog([before]), catalog([after])).map((c) => `${c.kind}:${c.column}`),
    ).toEqual([
      'column-type-changed:a',
      'default-removed:a',
      'not-null-added:b',
      'required-column-added:c',
    ]);
  });

  it('ignores a renamed column in a check constraint and a view definition, but not a changed condition', () => {
    const check = (definition: string) => [
      { name: 't_b_check', type: 'c', definition, validated: true, columns: ['b'] },
    ];
    const before = table(1, 's', 't', [col('a', 1), col('b', 2)], {
      constraints: check("CHECK ((b <> ''::text))"),
    });
    const renamed = table(1, 's', 't', [col('a', 1), col('bee', 2)], {
      constraints: check("CHECK ((bee <> ''::text))"),
    });
    expect(diffCatalogs(catalog([before]), catalog([renamed])).map((c) => c.kind)).toEqual([
      'column-renamed',
    ]);
    const changed = table(1, 's', 't', [col('a', 1), col('b', 2)], {
      constraints: check("CHECK ((b <> 'x'::text))"),
    });
    expect(diffCatalogs(catalog([before]), catalog([changed])).map((c) => c.kind)).toEqual([
      'constraint-added',
    ]);
  });

  it('finds nothing between a catalog and itself (property)', () => {
    const name = fc.stringMatching(/^[a-zA-Zä_ "][a-zA-Z0-9ä_ "]{0,8}$/);
    const arb = fc.uniqueArray(
      fc.record({ schema: name, name, cols: fc.uniqueArray(name, { minLength: 1, maxLength: 6 }) }),
      {
        maxLength: 12,
        selector: (r) => `${r.schema}.${r.name}`,
      },
    );
    fc.assert(
      fc.property(arb, (rels) => {
        const snapshot = catalog(
          rels.map((r, i) =>
            table(
              100 + i,
              r.schema,
              r.name,
              r.cols.map((c, j) => col(c, j + 1)),
            ),
          ),
        );
        expect(diffCatalogs(snapshot, structuredClone(snapshot))).toEqual([]);
      }),
    );
  });
});

describe('definition helpers', () => {
  it('reads the columns of a printed unique index, quoted or not, skipping expressions', () => {
    expect(
      indexColumns('CREATE UNIQUE INDEX i ON s.t USING btree (a, "Straße Nr" DESC, lower(b))'),
    ).toEqual(['a', 'Straße Nr']);
  });

  it('compares view definitions modulo renames, including Postgres reprinting old names as aliases', () => {
    const renames = new Map([['zip', 'postal_code']]);
    expect(
      sameDefinitionModuloRenames(
        ' SELECT id,\n    zip\n   FROM users.account;',
        ' SELECT id,\n    postal_code AS zip\n   FROM users.account;',
        renames,
      ),
    ).toBe(true);
    expect(
      sameDefinitionModuloRenames(
        ' SELECT id, zip FROM users.account;',
        ' SELECT id, postal_code AS zip FROM users.account WHERE id > 0;',
        renames,
      ),
    ).toBe(false);
  });
});
