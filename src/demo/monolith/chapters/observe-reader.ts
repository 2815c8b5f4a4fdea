import fs from 'node:fs';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';
import { loadManifest } from '../../../manifest/load.js';
import { withClient } from '../../../postgres/client.js';
import { applyProvisioning } from '../../../provision/apply.js';
import { observeUsage } from '../../../usage/observe.js';
import { saveUsage } from '../../../usage/store.js';
import { suggestContracts } from '../../../usage/suggest.js';
import { ChapterReport } from '../../chapter-report.js';
import type { DemoChapter } from '../../types.js';
import type { MonolithContext } from '../types.js';
import { describeProbe, forbiddenWrite, probeAs, trafficSummary } from './story-helpers.js';

/** How long observe watches the traffic. */
const WINDOW_MS = 2000;
/** The longest it waits for the reports it needs to see. */
const MAX_WINDOW_MS = 8000;

/** Chapter: observe names the reader nobody declared; team C's contract goes into the manifest. */
export const observeReaderChapter: DemoChapter<MonolithContext> = {
  id: 'monolith-observe',
  title: 'observe finds the reader nobody declared: reporting reads invoicing’s table',
  articleQuote:
    'But, what about a new team C, that is not made aware of team A. And what about technical processes like backups and reports',
  async run(ctx) {
    const report = new ChapterReport();
    const from = Date.now();
    let manifest = loadManifest(ctx.manifestFile);
    ctx.progress(`pgpact observe (${WINDOW_MS / 1000} s window)`);
    const first = await withClient(ctx.adminUrl, (c) =>
      observeUsage({ client: c, manifest, sinceReset: true }),
    );
    // At least the window, and long enough for reporting's revenue report to have run a few
    // times (about 4 a second at the default rate; a busy machine may lag): what observe sees.
    const windowStart = Date.now();
    await ctx.sleep(WINDOW_MS);
    while (
      !ctx.signal.aborted &&
      Date.now() - windowStart < MAX_WINDOW_MS &&
      (ctx.traffic.stats(windowStart).services.reporting?.operations['customers-by-city'] ?? 0) < 3
    )
      await ctx.sleep(250);
    if (ctx.signal.aborted) return report.result();
    const seen = await withClient(ctx.adminUrl, (c) =>
      observeUsage({ client: c, manifest, previous: first.usage }),
    );
    saveUsage(path.join(ctx.stateDir, 'usage.json'), seen.usage);
    report.did(
      `pgpact observe: two pg_stat_statements snapshots ${WINDOW_MS / 1000} s apart, ${seen.statements} statements analyzed (observeUsage)`,
    );
    const reporting = seen.usage.roles.find((r) => r.role === 'reporting');
    const readTables = Object.keys(reporting?.relationsRead ?? {}).sort();
    const invoiceColumns = Object.keys(reporting?.reads ?? {})
      .filter((c) => c.startsWith('public.invoice.'))
      .map((c) => c.slice('public.invoice.'.length))
      .sort();
    const finding = seen.findings.find(
      (f) => f.kind === 'unknown-role' && f.object === 'reporting',
    );
    report.measured(
      `${finding ? `${finding.severity} ${finding.kind} ${finding.object}: ${finding.message}` : 'no finding about role reporting'}`,
      {
        name: 'undeclaredReader',
        value: {
          finding: finding ? `${finding.kind} ${finding.object}` : null,
          tables: readTables,
          invoiceColumns,
        },
      },
    );
    report.expect(finding !== undefined, 'observe did not report role reporting');
    report.expect(
      readTables.includes('public.invoice'),
      `reporting's reads of public.invoice were not observed: ${readTables.join(', ')}`,
    );

    // Team C is told, and declares what it reads: the suggestion, merged into pgpact.yaml.
    const suggestion = suggestContracts(
      { ...seen.usage, roles: reporting ? [reporting] : [] },
      manifest,
      seen.catalog,
    );
    const suggested = (parse(suggestion) as { services?: Record<string, unknown> }).services
      ?.reporting;
    if (!report.expect(suggested !== undefined, 'observe --suggest proposed nothing for reporting'))
      return report.result();
    const doc = parseDocument(fs.readFileSync(ctx.manifestFile, 'utf8'));
    doc.setIn(['services', 'reporting'], doc.createNode(suggested));
    fs.writeFileSync(ctx.manifestFile, doc.toString({ lineWidth: 0 }));
    manifest = loadManifest(ctx.manifestFile);
    const declared = manifest.services
      .find((s) => s.name === 'reporting')
      ?.reads.map(
        (c) => `${c.schema}.${c.table} [${c.columns === '*' ? '*' : c.columns.join(', ')}]`,
      );
    report.did('team C declared its reads: pgpact observe --suggest, merged into pgpact.yaml');
    report.measured(`reporting reads ${declared?.join('; ') ?? 'nothing'}`, {
      name: 'declared',
      value: declared ?? [],
    });
    report.expect(
      declared?.some((d) => d.startsWith('public.invoice ')) ?? false,
      'the manifest does not declare reporting’s read of public.invoice',
    );
    ctx.progress('pgpact apply');
    const applied = await applyProvisioning(ctx.adminUrl, manifest, { stateDir: ctx.stateDir });
    report.did(`pgpact apply: ${applied.steps.length} steps (reporting is a service now)`);
    // A service in audit mode reads every table (reported); what it could write before, beyond
    // its contract, it keeps until enforce mode (listed as revoke-deferred): nothing breaks.
    const write = forbiddenWrite('public');
    const probe = await probeAs(ctx.adminUrl, 'reporting', write);
    const deferred = applied.findings.filter(
      (f) =>
        f.kind === 'revoke-deferred' &&
        f.object === 'public.invoice' &&
        /UPDATE/.test(f.suggestion ?? '') &&
        /FROM "?reporting"?$/.test(f.suggestion ?? ''),
    );
    report.measured(
      `reporting, a service now (audit mode: reads anything, keeps the writes it had until enforce mode): ${write} ${describeProbe(probe)}; ${deferred[0]?.suggestion ?? 'no revoke-deferred finding'}`,
      {
        name: 'forbiddenWrite',
        value: {
          allowed: probe.allowed,
          sqlstate: probe.sqlstate,
          deferred: deferred.map((f) => f.suggestion ?? ''),
        },
      },
    );
    report.expect(probe.allowed, `audit mode took reporting's write to invoices: ${probe.message}`);
    report.expect(
      deferred.length === 1,
      `the apply did not list reporting's UPDATE on public.invoice as revoke-deferred`,
    );

    const traffic = trafficSummary(ctx, from, Date.now());
    report.measured(`traffic through the chapter: ${traffic.line}`, {
      name: 'traffic',
      value: traffic.figure,
    });
    report.expect(traffic.errors === 0, `${traffic.errors} requests failed: ${traffic.failures}`);
    return report.result();
  },
};
