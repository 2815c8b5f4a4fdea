import { expect, it } from 'vitest';
import type { CatalogSnapshot, RelationInfo } from '../../src/catalog-types.js';
import { parseManifest } from '../../src/manifest/load.js';
import {
  isSharedSchema,
  ownerOfTable,
  ownerResolver,
  ownerRoleFromCatalog,
  ownershipOf,
} from '../../src/manifest/ownership.js';

const manifest = parseManifest(
  `version: 1
services:
  users:
    owns: [users]
  batches:
    owns: [public.batch_*]
  repos:
    owns: [public.changesets, '"Public"."Weird*Name"']
`,
  '/tmp/pgpact.yaml',
);

it('one resolver: schemas owned whole, table patterns in a shared schema, quoted names literal', () => {
  expect(ownershipOf(manifest, 'users', 'account')).toMatchObject({
    kind: 'schema',
    service: { name: 'users' },
  });
  expect(ownershipOf(manifest, 'public', 'batch_changes')).toMatchObject({
    kind: 'table',
    service: { name: 'batches' },
    pattern: { text: 'public.batch_*' },
  });
  expect(ownerOfTable(manifest, 'public', 'changesets')?.name).toBe('repos');
  // A quoted table part is literal: its star is a character, and case is kept.
  expect(ownerOfTable(manifest, 'Public', 'Weird*Name')?.name).toBe('repos');
  expect(ownerOfTable(manifest, 'Public', 'WeirdXName')).toBeUndefined();
  expect(ownerOfTable(manifest, 'public', 'Batch_changes')).toBeUndefined();
  // In a shared schema an unmatched table is nobody's; a schema nobody names is unowned.
  expect(ownershipOf(manifest, 'public', 'legacy')).toEqual({ kind: 'unowned-table' });
  expect(ownershipOf(manifest, 'audit', 'log')).toEqual({ kind: 'unowned-schema' });
  expect(isSharedSchema(manifest, 'public')).toBe(true);
  expect(isSharedSchema(manifest, 'users')).toBe(false);
  const cached = ownerResolver(manifest);
  expect(cached('public', 'batch_specs')?.name).toBe('batches');
  expect(cached('public', 'batch_specs')?.name).toBe('batches');
  expect(cached('users', 'anything')?.name).toBe('users');
});

const relation = (schema: string, name: string, owner: string): RelationInfo => ({
  oid: 1,
  schema,
  name,
  kind: 'table',
  owner,
  columns: [],
  grants: [],
  constraints: [],
  indexes: [],
  estimatedRows: 0,
  sizeBytes: 0,
});

it('without a manifest: each table’s owner role, else its schema’s, skipping roles that are no service', () => {
  const catalog = {
    schemas: [
      { name: 'public', owner: 'postgres', grants: [] },
      { name: 'app', owner: 'app', grants: [] },
    ],
    relations: [
      relation('public', 'orders', 'orders'),
      relation('public', 'invoices', 'billing'),
      relation('public', 'legacy', 'postgres'),
      relation('app', 'settings', 'postgres'),
    ],
  } as unknown as CatalogSnapshot;
  const roleOf = ownerRoleFromCatalog(catalog, (role) => role === 'postgres');
  expect(roleOf('public', 'orders')).toBe('orders');
  expect(roleOf('public', 'invoices')).toBe('billing');
  expect(roleOf('public', 'legacy')).toBeUndefined();
  expect(roleOf('app', 'settings')).toBe('app');
});
