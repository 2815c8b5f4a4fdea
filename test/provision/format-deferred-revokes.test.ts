import { expect, it } from 'vitest';
import type { Finding } from '../../src/findings.js';
import { formatFindings } from '../../src/provision/format-plan.js';

function deferred(table: string, privileges = 'SELECT', grantee = '"analytics"'): Finding {
  return {
    severity: 'info',
    kind: 'revoke-deferred',
    object: `public.${table}`,
    consumers: [],
    message: `audit mode leaves this in place (analytics holds ${privileges} on public.${table}, which the manifest does not declare); enforce mode will revoke it`,
    suggestion: `enforce mode runs: REVOKE ${privileges} ON TABLE "public"."${table}" FROM ${grantee}`,
  };
}

it('plan text: the same deferred revoke on many tables of one role prints once, with one statement naming them all', () => {
  const tables = Array.from({ length: 10 }, (_, i) => `t${i}`);
  const findings = [
    ...tables.map((t) => deferred(t)),
    deferred('orders', 'DELETE, INSERT', '"legacy"'),
  ];
  const text = formatFindings(findings, '-- ');
  const lines = text.trimEnd().split('\n');
  expect(lines).toEqual([
    '-- findings (reported, never granted):',
    '--   info revoke-deferred 10 tables: audit mode leaves SELECT for "analytics" in place, which the manifest does not declare; enforce mode will revoke it: public.t0, public.t1, public.t2, public.t3, public.t4, public.t5, public.t6, public.t7 and 2 more',
    `--     → enforce mode runs: REVOKE SELECT ON TABLE ${tables.map((t) => `"public"."${t}"`).join(', ')} FROM "analytics"`,
    '--   info revoke-deferred public.orders: audit mode leaves this in place (analytics holds DELETE, INSERT on public.orders, which the manifest does not declare); enforce mode will revoke it',
    '--     → enforce mode runs: REVOKE DELETE, INSERT ON TABLE "public"."orders" FROM "legacy"',
  ]);
});
