import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { observedUses } from '../../src/migrate/consumers.js';
import type { OldShapeStatement } from '../../src/migrate/observed.js';
import type { MigrationPlan } from '../../src/migrate/plan-types.js';

const plan = {
  oldShape: [
    {
      table: { schema: 'public', name: 'orders' },
      column: 'note',
      replacedBy: [],
      operation: 'drop_column',
      blocking: true,
    },
  ],
  droppedTables: [],
} as unknown as MigrationPlan;

const statement = (role: string, own?: 'admin' | 'bootstrap-superuser'): OldShapeStatement => ({
  key: `${role}:1`,
  role,
  queryId: '1',
  calls: 3,
  query: 'SELECT note FROM public.orders',
  callsSinceStart: 3,
  reads: ['public.orders.note'],
  writes: [],
  ...(own === undefined ? {} : { own }),
});

it('statements of pgpact’s own roles are no consumers; services and unknown roles are, even one logging in as the admin', () => {
  const statements = [
    statement('postgres', 'bootstrap-superuser'),
    statement('pgpact_admin', 'admin'),
    statement('billing'),
    statement('nightly_export'),
  ];
  const withoutService = parseManifest(
    'version: 1\nservices:\n  billing:\n    owns: [public.invoices]\n',
    '/tmp/pgpact.yaml',
  );
  const named = (manifest: typeof withoutService | undefined) =>
    observedUses(statements, plan, manifest, {}, 60_000).uses.map(
      (u) => u.service ?? `role ${u.role}`,
    );
  expect(named(withoutService)).toEqual(['billing', 'role nightly_export']);
  expect(named(undefined)).toEqual(['role billing', 'role nightly_export']);
  // A legacy service of the manifest that logs in as the bootstrap superuser still counts.
  const legacy = parseManifest(
    'version: 1\nservices:\n  billing:\n    owns: [public.invoices]\n  legacy:\n    role: postgres\n    owns: [public.legacy_*]\n',
    '/tmp/pgpact.yaml',
  );
  expect(named(legacy)).toEqual(['legacy', 'billing', 'role nightly_export']);
});
