import { LEGACY_TABLE } from '../../../examples/shared-database/setup/legacy.js';
import { withClient } from '../../postgres/client.js';
import { readCatalog } from '../../postgres/catalog.js';
import { planProvisioning } from '../../provision/plan.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter } from '../types.js';

/** Chapter 2: data that neither belongs to A nor to B is found and named. */
export const unownedData: DemoChapter = {
  id: 'unowned-data',
  title: 'Data that belongs to no service is reported',
  articleQuote:
    'The database holds data (schemas, tables,…) that belong to the domain of service A and service B and somehow additional data that neither seems to belong to A or B.',
  async run(ctx) {
    const report = new ChapterReport();
    const legacy = `${LEGACY_TABLE.schema}.${LEGACY_TABLE.name}`;
    const { catalog, access, rows } = await withClient(ctx.adminUrl, async (c) => {
      const snapshot = await readCatalog(c);
      const roles = ctx.manifest.services.map((s) => s.role);
      const privileges = await c.query<{ role: string; can_read: boolean; can_write: boolean }>(
        `SELECT r AS role,
                has_table_privilege(r, format('%I.%I', $2::text, $3::text), 'SELECT') AS can_read,
                has_table_privilege(r, format('%I.%I', $2::text, $3::text), 'INSERT, UPDATE, DELETE') AS can_write
         FROM unnest($1::text[]) AS r`,
        [roles, LEGACY_TABLE.schema, LEGACY_TABLE.name],
      );
      const count = await c.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM public.legacy_audit_log`,
      );
      return { catalog: snapshot, access: privileges.rows, rows: Number(count.rows[0]!.n) };
    });
    report.did('read the catalog and planned provisioning against pgpact.yaml (planProvisioning)');
    const plan = planProvisioning(ctx.manifest, catalog);
    const unowned = plan.findings.filter(
      (f) => f.kind === 'unowned-table' || f.kind === 'unowned-schema',
    );
    for (const f of unowned) report.measured(`${f.severity} ${f.kind} ${f.object}: ${f.message}`);
    const finding = unowned.find((f) => f.object === legacy);
    report.expect(finding !== undefined, `no unowned-table finding for ${legacy}`);
    const table = catalog.relations.find(
      (r) => r.schema === LEGACY_TABLE.schema && r.name === LEGACY_TABLE.name,
    );
    if (table) {
      report.measured(
        `${legacy}: owner ${table.owner} (no service), ${rows} rows, ${Math.round(table.sizeBytes / 1024)} kB`,
      );
    }
    const reachable = access.filter((a) => a.can_read || a.can_write).map((a) => a.role);
    report.measured(
      reachable.length === 0
        ? `no service role can read or write it: only the admin can, and nobody is in charge of it`
        : `service roles that can reach it: ${reachable.join(', ')}`,
    );
    report.measured(`plan after apply: ${plan.steps.length} step(s) left to converge`);
    report.figure(
      'unownedFindings',
      unowned.map((f) => ({ kind: f.kind, object: f.object, severity: f.severity })),
    );
    report.figure('legacyTable', {
      object: legacy,
      owner: table?.owner ?? null,
      rows,
      reachableBy: reachable,
    });
    report.figure('planStepsAfterApply', plan.steps.length);
    return report.result();
  },
};
