import fs from 'node:fs';
import { initManifest } from '../../../init/init-manifest.js';
import { loadManifest } from '../../../manifest/load.js';
import { withClient } from '../../../postgres/client.js';
import { applyProvisioning } from '../../../provision/apply.js';
import { ChapterReport } from '../../chapter-report.js';
import type { DemoChapter } from '../../types.js';
import { runSampleQueries } from '../sample-queries.js';
import type { MonolithContext } from '../types.js';
import {
  describeProbe,
  forbiddenWrite,
  probeAs,
  serviceUrls,
  trafficSummary,
} from './story-helpers.js';

/** Chapter: `pgpact init` writes the first manifest; `apply` in audit mode changes no answer. */
export const initAuditChapter: DemoChapter<MonolithContext> = {
  id: 'monolith-init',
  title: 'pgpact init writes the first manifest; apply in audit mode changes no query result',
  articleQuote:
    'This approach may be a starting point for brownfield implementations, where a given database must be reused as-is.',
  async run(ctx) {
    const report = new ChapterReport();
    const from = Date.now();
    const urls = serviceUrls(ctx);
    const before = await runSampleQueries(urls);
    const write = forbiddenWrite('public');
    const writeBefore = await probeAs(ctx.adminUrl, 'reporting', write);
    report.did(
      `ran ${before.length} statements as the services' own roles (reads, and writes rolled back) on rows the traffic leaves alone`,
    );

    ctx.progress('pgpact init');
    const init = await withClient(ctx.adminUrl, (c) => initManifest(c));
    fs.writeFileSync(ctx.manifestFile, init.text, { flag: 'wx', mode: 0o600 });
    const owns = Object.fromEntries(init.owns);
    report.did(
      `pgpact init wrote ${ctx.manifestFile} from the catalog and pg_stat_statements (initManifest)`,
    );
    report.measured(
      `owners proposed from writers (the admin owns every table: ${init.proposal.adminOwnsAll}): ${Object.entries(
        owns,
      )
        .map(([s, o]) => `${s} owns ${o.join(', ')}`)
        .join('; ')}; only reads, so no service yet: ${init.readersOnly.join(', ') || 'nobody'}`,
      {
        name: 'init',
        value: {
          owns,
          adminOwnsAll: init.proposal.adminOwnsAll,
          readersOnly: init.readersOnly,
          unowned: init.proposal.unowned.map((u) => `${u.schema}.${u.table}`),
          manifest: init.text,
        },
      },
    );
    report.expect(init.proposal.adminOwnsAll, 'init did not see that the admin owns every table');
    report.expect(
      JSON.stringify(owns) ===
        JSON.stringify({ invoicing: ['public.invoice'], users: ['public.account'] }),
      `init proposed other owners: ${JSON.stringify(owns)}`,
    );
    report.expect(
      init.readersOnly.includes('reporting'),
      `reporting is not named as a role that only reads: ${init.readersOnly.join(', ')}`,
    );

    const manifest = loadManifest(ctx.manifestFile);
    report.expect(
      manifest.enforcement === 'audit',
      `the first manifest is in ${manifest.enforcement} mode`,
    );
    ctx.progress('pgpact apply (audit mode)');
    const applyFrom = Date.now();
    const applied = await applyProvisioning(ctx.adminUrl, manifest, { stateDir: ctx.stateDir });
    const applyTo = Date.now();
    const owners = await withClient(ctx.adminUrl, (c) =>
      c.query<{ table: string; owner: string }>(
        `SELECT format('%I.%I', 'public', c.relname) AS table, pg_get_userbyid(c.relowner) AS owner
           FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`,
      ),
    );
    report.did(
      `pgpact apply in audit mode: ${applied.steps.length} steps in one transaction (${applyTo - applyFrom} ms, the traffic running)`,
    );
    report.measured(
      `tables now owned by their service's role: ${owners.rows.map((r) => `${r.table} → ${r.owner}`).join(', ')}`,
      { name: 'owners', value: Object.fromEntries(owners.rows.map((r) => [r.table, r.owner])) },
    );

    const after = await runSampleQueries(urls);
    const writeAfter = await probeAs(ctx.adminUrl, 'reporting', write);
    report.measured(
      `as in any monolith, reporting may change invoices: ${write} (rolled back) before pgpact ${describeProbe(writeBefore)}; after apply in audit mode ${describeProbe(writeAfter)}`,
      {
        name: 'forbiddenWrite',
        value: { before: writeBefore.allowed, afterAudit: writeAfter.allowed },
      },
    );
    report.expect(
      writeBefore.allowed && writeAfter.allowed,
      'audit mode changed what reporting, a role of no service yet, may write',
    );
    const changed = after.filter(
      (a, i) => JSON.stringify(a.answer) !== JSON.stringify(before[i]!.answer),
    );
    const errors = before.filter((b) => 'error' in b.answer).length;
    report.measured(
      `the same ${after.length} statements after apply: ${after.length - changed.length} same answers, ${changed.length} changed (${errors} errors before)`,
      {
        name: 'sameAnswers',
        value: { statements: after.length, changed: changed.length, errorsBefore: errors },
      },
    );
    for (const c of changed)
      report.measured(`  changed: ${c.service}: ${c.sql.replace(/\s+/g, ' ')}`);
    report.expect(errors === 0, `${errors} sample statements failed before apply`);
    report.expect(changed.length === 0, `apply in audit mode changed ${changed.length} answers`);

    const traffic = trafficSummary(ctx, from, Date.now());
    report.measured(`traffic through the chapter: ${traffic.line}`, {
      name: 'traffic',
      value: traffic.figure,
    });
    report.expect(traffic.errors === 0, `${traffic.errors} requests failed: ${traffic.failures}`);
    return report.result();
  },
};
