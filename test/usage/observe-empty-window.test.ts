import { expect, it } from 'vitest';
import type { CatalogSnapshot } from '../../src/catalog-types.js';
import type { ObserveResult } from '../../src/usage/observe.js';
import { formatObservationText } from '../../src/usage/format-observation.js';
import type { RoleUsage } from '../../src/usage/types.js';

const catalog = {} as CatalogSnapshot;

function roleUsage(role: string, pgpactRole?: RoleUsage['pgpactRole']): RoleUsage {
  return {
    role,
    ...(pgpactRole ? { pgpactRole } : { service: role }),
    reads: {},
    writes: {},
    relationsRead: {},
    relationsWritten: {},
    statements: [{ queryId: '1', query: 'SELECT 1', calls: 2, rows: 2, totalTimeMs: 1 }],
  } as RoleUsage;
}

function result(roles: RoleUsage[]): ObserveResult {
  return {
    usage: {
      version: 1,
      database: 'pagila',
      takenAt: '2026-12-04T22:00:20Z',
      roles,
      mode: 'delta',
    },
    findings: [],
    catalog,
    window: { mode: 'delta', start: '2026-12-04T22:00:18Z', end: '2026-12-04T22:00:20Z' },
    statements: roles.length,
    skipped: 0,
  };
}

it('observe: a delta in which only pgpact’s own role ran says so, not that every access is declared', () => {
  const onlyAdmin = formatObservationText(result([roleUsage('postgres', 'admin')]), 'usage.json');
  expect(onlyAdmin).toContain(
    "no findings: no role but pgpact's own ran a statement in this window",
  );
  expect(onlyAdmin).toContain('--since-reset');
  expect(onlyAdmin).not.toContain('every observed access is declared');
  const withService = formatObservationText(
    result([roleUsage('postgres', 'admin'), roleUsage('store')]),
    'usage.json',
  );
  expect(withService).toContain('no findings: every observed access is declared');
});
