import path from 'node:path';
import { withClient } from '../../postgres/client.js';
import { quoteIdent } from '../../postgres/quote.js';
import type { CouplingMap, Section } from '../../server/api-types.js';
import { startDashboard } from '../../server/dashboard.js';
import { findWebBundle } from '../../server/static-assets.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter } from '../types.js';

/** The dashboard chapter: the coupling map of the running system, served as a page and an API. */
export const dashboardChapter: DemoChapter = {
  id: 'dashboard',
  title: 'The coupling map you can look at',
  articleQuote: 'In-transparent schema coupling',
  async run(ctx) {
    const report = new ChapterReport();
    if (findWebBundle() === undefined) {
      report.expect(
        false,
        'the dashboard page is not built (npm run build bundles web/ into dist/web)',
      );
      return report.result();
    }
    const dashboard = await startDashboard({
      databaseUrl: ctx.adminUrl,
      port: 0,
      manifestFile: path.join(ctx.exampleDir, 'pgpact.yaml'),
      usageFile: path.join(ctx.stateDir, 'usage.json'),
      intervalMs: 1000,
    });
    try {
      report.did(
        `started the dashboard on ${dashboard.url}, reading as role ${dashboard.monitorRole} (pg_monitor, no table access)`,
      );
      const response = await fetch(`${dashboard.url}api/map`, { signal: ctx.signal });
      const section = (await response.json()) as Section<CouplingMap>;
      if (!section.available) {
        report.expect(false, `the map is not available: ${section.reason}`);
        return report.result();
      }
      const map = section.data;
      const edge = map.edges.find((e) => e.service === 'invoicing' && e.table === 'users.account');
      report.expect(edge !== undefined, 'the map has no edge invoicing → users.account');
      const street = map.tables
        .find((t) => t.id === 'users.account')
        ?.columns.find((c) => c.name === 'street_and_number');
      const readers = street?.readers.map((r) => r.service) ?? [];
      report.expect(
        readers.includes('invoicing'),
        'users.account.street_and_number does not list invoicing as a reader',
      );
      report.measured(
        `the map: ${map.services.length} services, ${map.tables.length} tables, ${map.edges.length} cross-service edges; street_and_number is read by ${readers.join(', ') || 'nobody'}`,
        { name: 'edges', value: map.edges.map((e) => `${e.service}→${e.table} (${e.status})`) },
      );
      report.figure('url', dashboard.url);
    } finally {
      await dashboard.close();
      if (dashboard.monitorRoleCreated) {
        // Leave the server as we found it: the role is recreated whenever a dashboard starts.
        await withClient(ctx.adminUrl, (c) =>
          c.query(
            `DROP OWNED BY ${quoteIdent(dashboard.monitorRole)}; DROP ROLE ${quoteIdent(dashboard.monitorRole)}`,
          ),
        ).catch(() => undefined);
      }
    }
    return report.result();
  },
};
