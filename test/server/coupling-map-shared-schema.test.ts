import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import type { CatalogSnapshot, RelationInfo } from '../../src/catalog-types.js';
import { buildCouplingMap } from '../../src/server/coupling-map.js';

const table = (oid: number, name: string): RelationInfo => ({
  oid,
  schema: 'public',
  name,
  kind: 'table',
  owner: 'admin',
  columns: [{ name: 'id', position: 1, type: 'integer', notNull: true, grants: [] }],
  grants: [],
  constraints: [],
  indexes: [],
  estimatedRows: 0,
  sizeBytes: 0,
});

it('the coupling map gives each table of a shared schema to the service whose owns: matches it', () => {
  const catalog: CatalogSnapshot = {
    serverVersion: 180000,
    database: 'monolith',
    schemas: [{ name: 'public', owner: 'admin', grants: [] }],
    relations: [table(1, 'batch_changes'), table(2, 'changesets'), table(3, 'legacy')],
    roles: [],
    defaultPrivileges: [],
    functions: [],
    databaseGrants: [],
    extensions: [],
  };
  const manifest = parseManifest(
    'version: 1\nservices:\n  batches:\n    owns: [public.batch_*]\n  repos:\n    owns: [public.changesets]\n',
    '/tmp/pgpact.yaml',
  );
  const map = buildCouplingMap({ catalog, manifest });
  expect(Object.fromEntries(map.tables.map((t) => [t.id, t.ownerService ?? null]))).toEqual({
    'public.batch_changes': 'batches',
    'public.changesets': 'repos',
    'public.legacy': null,
  });
});
