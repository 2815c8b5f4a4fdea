import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { loadManifest } from '../../../manifest/load.js';
import { withClient } from '../../../postgres/client.js';
import { applyProvisioning } from '../../../provision/apply.js';
import { ChapterReport } from '../../chapter-report.js';
import type { DemoChapter } from '../../types.js';
import type { MonolithContext } from '../types.js';
import {
  describeProbe,
  forbiddenWrite,
  type ProbeResult,
  probeAs,
  trafficSummary,
} from './story-helpers.js';

/** A column of users' table that reporting never declared (it reads name, zip, city, id, created_at). */
const UNDECLARED_READ = 'SELECT street_and_number FROM public.account WHERE id = 1001';

const probeFigure = (p: ProbeResult) => ({ allowed: p.allowed, sqlstate: p.sqlstate });

/** Where invoicing's table lives now: `invoicing` once it moved, else `public`. */
async function invoiceSchema(adminUrl: string): Promise<string> {
  const { rows } = await withClient(adminUrl, (c) =>
    c.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = 'invoice' AND c.relkind = 'r' AND n.nspname IN ('public', 'invoicing')`,
    ),
  );
  return rows[0]?.schema ?? 'public';
}

/** Chapter: enforcement switched on; a write nobody declared is now refused by Postgres. */
export const enforceChapter: DemoChapter<MonolithContext> = {
  id: 'monolith-enforce',
  title:
    'Enforcement is switched on: a write nobody declared is refused, the services keep working',
  articleQuote:
    'Each table owned by service A belongs to a special schema also owned by A. And if another service needs that data, then it is clear who is in charge of that data',
  async run(ctx) {
    const report = new ChapterReport();
    const from = Date.now();
    const schema = await invoiceSchema(ctx.adminUrl);
    const write = forbiddenWrite(schema);
    const read = UNDECLARED_READ;
    const before = {
      write: await probeAs(ctx.adminUrl, 'reporting', write),
      read: await probeAs(ctx.adminUrl, 'reporting', read),
    };

    const doc = parseDocument(fs.readFileSync(ctx.manifestFile, 'utf8'));
    doc.set('enforcement', 'enforce');
    if (schema === 'invoicing') doc.setIn(['services', 'invoicing', 'owns'], ['invoicing']);
    fs.writeFileSync(ctx.manifestFile, doc.toString({ lineWidth: 0 }));
    const manifest = loadManifest(ctx.manifestFile);
    const owns = manifest.services.find((s) => s.name === 'invoicing')?.owns ?? [];
    report.did(
      `pgpact.yaml edited: enforcement: enforce${schema === 'invoicing' ? ', invoicing owns: [invoicing]' : ''}`,
    );
    ctx.progress('pgpact apply (enforce)');
    const applyFrom = Date.now();
    const applied = await applyProvisioning(ctx.adminUrl, manifest, { stateDir: ctx.stateDir });
    report.did(
      `pgpact apply: ${applied.steps.length} steps in one transaction (${Date.now() - applyFrom} ms, the traffic running): each role keeps exactly what it declared`,
    );
    const after = {
      write: await probeAs(ctx.adminUrl, 'reporting', write),
      read: await probeAs(ctx.adminUrl, 'reporting', read),
    };
    report.measured(
      `reporting's write to invoicing's table, ${write}: audit mode ${describeProbe(before.write)}; enforced ${describeProbe(after.write)}`,
    );
    report.measured(
      `reporting's read of a column it never declared, ${read}: audit mode ${describeProbe(before.read)}; enforced ${describeProbe(after.read)}`,
    );
    report.figure('probes', {
      write: { sql: write, audit: probeFigure(before.write), enforce: probeFigure(after.write) },
      read: { sql: read, audit: probeFigure(before.read), enforce: probeFigure(after.read) },
    });
    report.figure('enforcement', { mode: manifest.enforcement, invoicingOwns: owns });
    report.expect(manifest.enforcement === 'enforce', 'the manifest is not in enforce mode');
    report.expect(
      !after.write.allowed && after.write.sqlstate === '42501',
      `enforced, the write was not refused with 42501: ${after.write.message}`,
    );
    report.expect(
      before.read.allowed,
      `in audit mode the undeclared read was refused: ${before.read.message}`,
    );
    report.expect(
      !after.read.allowed && after.read.sqlstate === '42501',
      `enforced, the undeclared read was not refused with 42501: ${after.read.message}`,
    );

    // The services' declared reads and own writes go on: a few seconds of traffic under enforcement.
    await ctx.sleep(1000);
    const traffic = trafficSummary(ctx, from, Date.now());
    const enforced = trafficSummary(ctx, applyFrom, Date.now());
    report.measured(`traffic through the chapter: ${traffic.line}`, {
      name: 'traffic',
      value: traffic.figure,
    });
    report.expect(traffic.errors === 0, `${traffic.errors} requests failed: ${traffic.failures}`);
    report.expect(
      Object.values(ctx.traffic.stats(applyFrom, Date.now()).services).every((s) => s.requests > 0),
      `a service got no request under enforcement: ${enforced.line}`,
    );
    return report.result();
  },
};
