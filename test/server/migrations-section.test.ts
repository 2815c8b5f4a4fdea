import { describe, expect, it } from 'vitest';
import type { OldShapeUse } from '../../src/migrate/consumers.js';
import { consumerViews, STATEMENTS_PER_CONSUMER } from '../../src/server/migrations-section.js';

const observed = (role: string, calls: number, service?: string): OldShapeUse => ({
  ...(service === undefined ? {} : { service }),
  role,
  source: 'observed',
  access: 'read',
  columns: ['users.account.street_and_number'],
  blocking: true,
  change: `${service ?? `role ${role}`}: deploy a version that uses street, number instead of street_and_number`,
  statement: {
    queryId: `q${calls}`,
    query: `SELECT street_and_number FROM users.account LIMIT ${calls}`,
    callsSinceStart: calls,
    lastChangeSeenAt: '2024-01-01T00:00:00.000Z',
  },
});

describe('the consumers of the old shape, as the dashboard groups them', () => {
  it('one row per consumer with how pgpact knows, the changes once each, the most called statements first', () => {
    const uses: OldShapeUse[] = [
      {
        service: 'invoicing',
        source: 'declared',
        access: 'read',
        columns: ['users.account.street_and_number'],
        blocking: true,
        change:
          'invoicing: change reads users.account from [id, street_and_number] to [id, street, number]',
        location: '/srv/pgpact.yaml:7',
      },
      ...[3, 40, 1, 7, 12, 5, 2].map((calls) => observed('invoicing', calls, 'invoicing')),
      { ...observed('Bericht Job', 9), blocking: false },
    ];
    const views = consumerViews(uses);
    expect(views.map((v) => [v.name, v.declared, v.observed, v.view, v.blocking])).toEqual([
      ['invoicing', true, true, false, true],
      ['role Bericht Job', false, true, false, false],
    ]);
    const invoicing = views[0]!;
    expect(invoicing.changes).toEqual([
      'invoicing: change reads users.account from [id, street_and_number] to [id, street, number]',
      'invoicing: deploy a version that uses street, number instead of street_and_number',
    ]);
    expect(invoicing.locations).toEqual(['/srv/pgpact.yaml:7']);
    expect(invoicing.role).toBe('invoicing');
    expect(invoicing.statements.map((s) => s.callsSinceStart)).toEqual([40, 12, 7, 5, 3]);
    expect(invoicing.statements).toHaveLength(STATEMENTS_PER_CONSUMER);
    expect(invoicing.moreStatements).toBe(2);
    expect(views[1]).toMatchObject({ role: 'Bericht Job', moreStatements: 0 });
  });
});
