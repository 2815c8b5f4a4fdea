import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCheck } from '../../impact/run-check.js';
import { startThrowawayServer } from '../../postgres/local-server.js';
import { loadUsage } from '../../usage/store.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter } from '../types.js';
import { demoUsageFile } from './observe.js';

/** Team A's migration from the article: STREET_AND_NUMBER becomes STREET and NUMBER. */
const SPLIT = `-- users: split street_and_number into street and number
ALTER TABLE users.account ADD COLUMN street text, ADD COLUMN number text;
UPDATE users.account
   SET street = regexp_replace(street_and_number, '\\s*\\S+$', ''),
       number = substring(street_and_number from '\\S+$');
ALTER TABLE users.account DROP COLUMN street_and_number;
`;

/** A change nobody depends on. */
const HARMLESS = `-- users: a new optional phone number
ALTER TABLE users.account ADD COLUMN phone text;
`;

/** Chapter: scenario 1 is caught in CI, before anything ships. */
export const checkChapter: DemoChapter = {
  id: 'migration-check',
  title: 'A breaking migration is stopped in CI, naming every consumer',
  articleQuote:
    'Team A changes the table as required by their product owner and applies any necessary change to their code. All tests pass',
  async run(ctx) {
    const report = new ChapterReport();
    // The one observation of the demo, saved by the observe chapter (team C's address export included).
    const file = demoUsageFile(ctx.stateDir);
    const observed = fs.existsSync(file) ? loadUsage(file) : undefined;
    if (observed) {
      const reporting = observed.roles.find((r) => r.service === 'reporting');
      report.did(
        `used the observed usage the observe chapter saved (${file}: ${observed.roles.length} roles, reporting ${reporting?.statements.length ?? 0} statements)`,
      );
    } else {
      report.expect(false, `no observed usage at ${file} (the observe chapter saves it)`);
    }

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-demo-check-'));
    // One throwaway shadow server for both checks (each gets a fresh database on it).
    ctx.progress('starting a throwaway shadow Postgres');
    const shadow = await startThrowawayServer();
    try {
      fs.writeFileSync(path.join(dir, '002_split_street_and_number.sql'), SPLIT);
      fs.writeFileSync(path.join(dir, '002_add_phone.sql'), HARMLESS);
      ctx.progress('pgpact check 002_split_street_and_number.sql (throwaway shadow database)');
      const split = await runCheck({
        manifest: ctx.manifest,
        files: ['002_split_street_and_number.sql'],
        root: dir,
        service: 'users',
        ...(observed ? { usage: observed } : {}),
        shadowServerUrl: shadow.url,
      });
      report.did(
        "ran pgpact check on team A's split in a throwaway shadow database built from the migrations folders",
      );
      const dropped = split.findings.find(
        (f) => f.kind === 'column-dropped' && f.object === 'users.account.street_and_number',
      );
      const consumers = dropped?.consumers ?? [];
      report.measured(
        `split: ${split.breaking ? 'BLOCKED (exit 1)' : 'passed (exit 0)'}: ${dropped ? `${dropped.object} dropped at ${dropped.location}, ${consumers.map((c) => `${c.service} (${c.source})`).join(', ')}` : 'no column-dropped finding'}`,
        {
          name: 'split',
          value: {
            breaking: split.breaking,
            location: dropped?.location ?? null,
            consumers: consumers.map((c) => ({ ...c })),
          },
        },
      );
      if (dropped?.suggestion) report.measured(`instead: ${dropped.suggestion}`);
      report.expect(split.breaking, 'the split of street_and_number was not reported as breaking');
      report.expect(
        consumers.some((c) => c.service === 'invoicing' && c.source === 'declared'),
        'invoicing (declared) was not named as a consumer of street_and_number',
      );
      report.expect(
        consumers.some((c) => c.service === 'reporting' && c.source === 'observed'),
        'reporting (observed) was not named as a consumer of street_and_number',
      );

      ctx.progress('pgpact check 002_add_phone.sql');
      const harmless = await runCheck({
        manifest: ctx.manifest,
        files: ['002_add_phone.sql'],
        root: dir,
        service: 'users',
        ...(observed ? { usage: observed } : {}),
        shadowServerUrl: shadow.url,
      });
      report.measured(
        `new nullable column: ${harmless.breaking ? 'BLOCKED' : 'passes (exit 0)'} with ${harmless.findings.map((f) => `${f.severity} ${f.kind} ${f.object}`).join('; ')}`,
        {
          name: 'harmless',
          value: {
            breaking: harmless.breaking,
            findings: harmless.findings.map((f) => `${f.severity} ${f.kind} ${f.object}`),
          },
        },
      );
      report.expect(!harmless.breaking, 'a new nullable column was reported as breaking');
      const t = split.timings;
      report.measured(
        `check took ${(t.totalMs / 1000).toFixed(1)} s (base ${(t.baseApplyMs / 1000).toFixed(1)} s, diff + analysis ${(t.diffMs + t.analysisMs).toFixed(0)} ms)`,
        { name: 'checkMs', value: Math.round(t.totalMs) },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await shadow.destroy();
    }
    return report.result();
  },
};
