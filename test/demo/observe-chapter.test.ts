import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkChapter } from '../../src/demo/chapters/check.js';
import { dashboardChapter } from '../../src/demo/chapters/dashboard.js';
import { demoUsageFile, observeChapter } from '../../src/demo/chapters/observe.js';
import { runDemo } from '../../src/demo/run-demo.js';
import type { DemoChapter } from '../../src/demo/types.js';
import type { Manifest } from '../../src/manifest/types.js';
import { loadUsage } from '../../src/usage/store.js';
import { waitGone } from './leftovers.js';

interface ServiceFigure {
  role: string;
  requests: number;
  calls: number;
  reads: Record<string, string[]>;
  findings: string[];
}

/** The observe chapter against other contracts: reporting declares all it reads, invoicing swaps zip for created_at. */
const withOtherContracts: DemoChapter = {
  id: 'observe-other-contracts',
  title: 'observe with other contracts',
  articleQuote: '—',
  run(ctx) {
    const manifest = structuredClone(ctx.manifest) as Manifest;
    const reporting = manifest.services.find((s) => s.name === 'reporting')!;
    for (const c of reporting.reads) c.columns = '*';
    const invoicing = manifest.services.find((s) => s.name === 'invoicing')!;
    const account = invoicing.reads.find((c) => c.table === 'account')!;
    account.columns = [...(account.columns as string[]).filter((c) => c !== 'zip'), 'created_at'];
    return observeChapter.run({ ...ctx, manifest });
  },
};

describe('demo chapter: observe', () => {
  it('finds what reporting reads beyond its contract on the running demo, and check and the dashboard use that one observation', async () => {
    let usageFile = '';
    const keepFile: DemoChapter = {
      id: 'keep-usage-file',
      title: 'remembers the usage file',
      articleQuote: '—',
      async run(ctx) {
        usageFile = demoUsageFile(ctx.stateDir);
        const usage = loadUsage(usageFile);
        return {
          outcome: 'ok',
          did: [],
          measured: [],
          figures: { roles: usage.roles.map((r) => `${r.role}:${r.service ?? ''}`) },
          problems: [],
        };
      },
    };
    const report = await runDemo(
      {
        accounts: 500,
        chapters: [withOtherContracts, observeChapter, keepFile, checkChapter, dashboardChapter],
      },
      new AbortController().signal,
    );
    const chapter = (id: string) => report.chapters.find((c) => c.id === id)!;

    // Against the example's contracts: reporting's undeclared reads are found, invoicing's reads are declared.
    const observed = report.chapters[1]!;
    expect([observed.id, observed.outcome, observed.problems]).toEqual(['observe-usage', 'ok', []]);
    const window = observed.figures.window as { mode: string; ms: number; requests: number };
    expect(window.mode).toBe('delta');
    expect(window.ms).toBeGreaterThanOrEqual(3000);
    expect(window.requests).toBeGreaterThan(100);
    const services = observed.figures.services as unknown as Record<string, ServiceFigure>;
    const reporting = services.reporting!;
    // The example's customers-by-city reads name, zip and city; team C's export also street_and_number.
    expect(reporting.findings.filter((f) => f.startsWith('undeclared-read'))).toEqual([
      'undeclared-read users.account.city',
      'undeclared-read users.account.name',
      'undeclared-read users.account.street_and_number',
      'undeclared-read users.account.zip',
    ]);
    expect(reporting.reads['users.account']).toEqual(
      expect.arrayContaining(['id', 'created_at', 'name', 'zip', 'city']),
    );
    expect(reporting.calls).toBeGreaterThan(1);
    const invoicing = services.invoicing!;
    expect(invoicing.calls).toBeGreaterThan(0);
    expect(invoicing.findings.filter((f) => f.startsWith('undeclared'))).toEqual([]);
    expect(services.users!.findings).toEqual([]);
    const suggestion = parse(observed.figures.suggestion as string) as {
      services: Record<string, { reads: Record<string, string[]> }>;
    };
    expect(Object.keys(suggestion.services)).toEqual(['reporting']);
    expect(suggestion.services.reporting!.reads).toEqual({
      'invoicing.invoice': ['account_id', 'amount'],
      'users.account': ['city', 'created_at', 'id', 'name', 'street_and_number', 'zip'],
    });
    expect(observed.measured.join('\n')).toMatch(
      /reporting ran \d+× SELECT a\.city.* → reads users\.account\.city, users\.account\.name, users\.account\.zip undeclared/,
    );

    // Other contracts, same system: the chapter fails on both counts and reports the unused column.
    const other = report.chapters[0]!;
    expect(other.outcome).toBe('failed');
    expect(other.problems).toEqual([
      'reporting read no column beyond its contract in the window',
      'invoicing shows undeclared access: users.account.zip',
    ]);
    const otherInvoicing = (other.figures.services as unknown as Record<string, ServiceFigure>)
      .invoicing!;
    expect(otherInvoicing.findings).toEqual(
      expect.arrayContaining([
        'undeclared-read users.account.zip',
        'unused-contract-column users.account.created_at',
      ]),
    );

    // The one observation is on disk, and the check chapter and the dashboard use it.
    expect(chapter('keep-usage-file').figures.roles).toEqual(
      expect.arrayContaining(['invoicing:invoicing', 'reporting:reporting', 'users:users']),
    );
    const check = chapter('migration-check');
    expect([check.outcome, check.problems]).toEqual(['ok', []]);
    expect(check.did.join('\n')).toContain(usageFile);
    const split = check.figures.split as { consumers: { service: string; source: string }[] };
    expect(split.consumers).toContainEqual({ service: 'reporting', source: 'observed' });
    const dashboard = chapter('dashboard');
    expect(dashboard.outcome).toBe('ok');
    expect(dashboard.measured.join('\n')).toMatch(/street_and_number is read by .*reporting/);

    expect(fs.existsSync(usageFile)).toBe(false); // the temporary state went with the demo
    expect(
      await waitGone(
        [report.started!.postgresPid!, ...report.started!.processes.map((p) => p.pid)],
        5000,
      ),
    ).toEqual([]);
  });
});
