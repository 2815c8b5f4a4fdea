import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import type { RoleUsage, UsageSnapshot } from '../../src/usage/types.js';
import { suggestContracts } from '../../src/usage/suggest.js';
import { usageFindings } from '../../src/usage/usage-findings.js';

const count = { calls: 3, rows: 3, totalTimeMs: 1 };

function role(name: string, reads: string[], relations: string[]): RoleUsage {
  return {
    role: name,
    service: name,
    reads: Object.fromEntries(reads.map((c) => [c, count])),
    writes: {},
    relationsRead: Object.fromEntries(relations.map((r) => [r, count])),
    relationsWritten: {},
    statements: [],
  };
}

it('observe: in a shared schema a service reads its own tables freely; another service’s table is an undeclared read naming its owner', () => {
  const manifest = parseManifest(
    'version: 1\nservices:\n  batches:\n    owns: [public.batch_*]\n  repos:\n    owns: [public.changesets]\n',
    '/tmp/pgpact.yaml',
  );
  const usage: UsageSnapshot = {
    version: 1,
    database: 'monolith',
    takenAt: '2026-12-04T20:00:00Z',
    roles: [
      role(
        'batches',
        ['public.batch_changes.id', 'public.changesets.external_id', 'public.legacy.note'],
        ['public.batch_changes', 'public.changesets', 'public.legacy'],
      ),
    ],
  };
  const findings = usageFindings(usage, manifest).filter((f) => f.kind === 'undeclared-read');
  expect(findings.map((f) => [f.severity, f.object])).toEqual([
    ['warning', 'public.changesets.external_id'],
    ['info', 'public.legacy.note'],
  ]);
  expect(findings[0]!.message).toContain('public.changesets belongs to service repos');
  expect(findings[1]!.message).toContain('no service owns public.legacy');
});

it('observe --suggest proposes contracts only for other services’ tables of a shared schema', () => {
  const manifest = parseManifest(
    'version: 1\nservices:\n  batches:\n    owns: [public.batch_*]\n  repos:\n    owns: [public.changesets]\n',
    '/tmp/pgpact.yaml',
  );
  const usage: UsageSnapshot = {
    version: 1,
    database: 'monolith',
    takenAt: '2026-12-04T20:00:00Z',
    roles: [
      role(
        'batches',
        ['public.batch_changes.id', 'public.changesets.external_id'],
        ['public.batch_changes', 'public.changesets'],
      ),
    ],
  };
  const yaml = suggestContracts(usage, manifest);
  expect(yaml).toContain('public.changesets');
  expect(yaml).toContain('external_id');
  expect(yaml).not.toContain('batch_changes');
});

it('observe on a table nobody owns in a shared schema: the suggestion claims it first, and --suggest leaves it out (a contract on it is refused)', () => {
  const text =
    'version: 1\nservices:\n  batches:\n    owns: [public.batch_*]\n  repos:\n    owns: [public.changesets]\n';
  const manifest = parseManifest(text, '/tmp/pgpact.yaml');
  const usage: UsageSnapshot = {
    version: 1,
    database: 'monolith',
    takenAt: '2026-12-04T20:00:00Z',
    roles: [
      role(
        'batches',
        ['public.changesets.external_id', 'public.shop_list.name'],
        ['public.changesets', 'public.shop_list', 'public.legacy'],
      ),
    ],
  };
  const findings = usageFindings(usage, manifest).filter((f) => f.kind === 'undeclared-read');
  const unowned = findings.filter((f) => f.severity === 'info');
  expect(unowned.map((f) => f.object)).toEqual(['public.legacy', 'public.shop_list.name']);
  for (const f of unowned)
    expect(f.suggestion).toMatch(/^add public\.\S+ \(or a pattern matching it\) to owns:/);
  const yaml = suggestContracts(usage, manifest);
  expect(yaml).toContain('public.changesets: [external_id]');
  expect(yaml).not.toMatch(/^\s+public\.(shop_list|legacy):/m);
  expect(yaml).toContain('owned by no service of the manifest');
  expect(yaml).toContain('public.legacy, public.shop_list');
  // Pasted into the manifest, the suggestion loads.
  const merged = text.replace(
    'owns: [public.batch_*]\n',
    `owns: [public.batch_*]\n    reads:\n      public.changesets: [external_id]\n`,
  );
  expect(() => parseManifest(merged, '/tmp/pgpact.yaml')).not.toThrow();
});
