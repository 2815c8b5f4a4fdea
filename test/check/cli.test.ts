import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import type { SarifLog } from '../../src/impact/format-sarif.js';
import { SCENARIOS_DIR } from './scenario.js';

// The kept shadow bases go to a temporary state directory, not into the scenario folders.
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-check-cli-'));
afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

/** Runs `pgpact check` in-process from a scenario folder, capturing stdout and stderr. */
async function check(
  scenario: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const output: Output = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    isTTY: false,
  };
  const dir = path.join(SCENARIOS_DIR, scenario);
  const cwd = process.cwd();
  const home = process.env.PGPACT_HOME;
  process.chdir(dir);
  process.env.PGPACT_HOME = stateDir;
  try {
    const code = await runCommand(['check', '--config', 'pgpact.yaml', ...args], output);
    return { code, out, err };
  } finally {
    process.chdir(cwd);
    if (home === undefined) delete process.env.PGPACT_HOME;
    else process.env.PGPACT_HOME = home;
  }
}

describe('pgpact check (CLI)', () => {
  it('blocks the article split with exit 1 and the documented JSON', async () => {
    const r = await check(
      'article-split-street-and-number',
      '--format',
      'json',
      '--usage',
      'usage.json',
      'change/002_split_address.sql',
    );
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc).sort()).toEqual(['breaking', 'findings']);
    expect(doc.breaking).toBe(true);
    const dropped = doc.findings[0];
    expect(Object.keys(dropped).sort()).toEqual(
      ['consumers', 'kind', 'location', 'message', 'object', 'severity', 'suggestion'].sort(),
    );
    expect(dropped).toMatchObject({
      severity: 'breaking',
      kind: 'column-dropped',
      object: 'users.account.street_and_number',
      consumers: [
        { service: 'invoicing', source: 'declared' },
        { service: 'reporting', source: 'observed' },
      ],
      location: 'change/002_split_address.sql:6',
    });
    expect(dropped.message).toContain('team billing, #billing');
    expect(dropped.suggestion).toContain('add street and number, keep street_and_number in sync');
    expect(dropped.suggestion).toContain('split_column');
  });

  it('passes a new nullable column with exit 0 in text', async () => {
    const r = await check('harmless-nullable-column', 'change/002_add_phone.sql');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pgpact check: 0 breaking changes, 0 warnings, 1 info: passed/);
    expect(r.out).toMatch(/took .*shadow start .*base .*migration .*diff .*analysis/);
  });

  it('fails on warnings only with --fail-on warning', async () => {
    const plain = await check('lock-risks', 'change/002_slow.sql');
    expect(plain.code).toBe(0);
    expect(plain.out).toContain(
      'WARNING  table-rewrite  invoicing.invoice  (change/002_slow.sql:2)',
    );
    const strict = await check('lock-risks', '--fail-on', 'warning', 'change/002_slow.sql');
    expect(strict.code).toBe(1);
    expect(strict.out).toContain('blocked (--fail-on warning)');
  });

  it('shows a syntax error with file, line, column and a caret, exit 2', async () => {
    const r = await check('syntax-error', 'change/002_typo.sql');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('change/002_typo.sql:3:19');
    expect(r.err).toContain('  ADD COLUM email text;\n');
    expect(r.err).toMatch(/\n\s+\^/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('writes SARIF 2.1.0 that code-scanning tools accept', async () => {
    const r = await check(
      'several-files-at-once',
      '--format',
      'sarif',
      'change/002_add_email.sql',
      'change/003_drop_zip.sql',
      'change/004_invoice_note.sql',
    );
    expect(r.code).toBe(1);
    const log = JSON.parse(r.out) as SarifLog;
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('pgpact');
    const ruleIds = run.tool.driver.rules.map((rule) => rule.id);
    expect(new Set(ruleIds).size).toBe(ruleIds.length);
    expect(run.results.length).toBeGreaterThan(0);
    for (const result of run.results) {
      expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe(result.ruleId);
      expect(['error', 'warning', 'note']).toContain(result.level);
      expect(result.message.text.length).toBeGreaterThan(0);
      const loc = result.locations[0]!.physicalLocation;
      expect(loc.artifactLocation.uri).toMatch(/^change\/00[234]_[a-z_]+\.sql$/);
      expect(loc.artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(loc.region.startLine).toBeGreaterThanOrEqual(1);
      expect(Object.values(result.partialFingerprints)[0]).toMatch(/^[0-9a-f]{32}$/);
    }
    const dropped = run.results.find((x) => x.ruleId === 'column-dropped')!;
    expect(dropped.level).toBe('error');
    expect(dropped.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'change/003_drop_zip.sql', uriBaseId: '%SRCROOT%' },
      region: { startLine: 2 },
    });
  });

  it('writes a markdown pull-request comment', async () => {
    const r = await check(
      'view-on-dropped-column-cascade',
      '--format',
      'markdown',
      'change/002_drop_zip.sql',
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^### pgpact check: ❌ blocked\n/);
    expect(r.out).toContain('| Severity | Kind | Object | Consumers | Location |');
    expect(r.out).toContain(
      '| 🛑 breaking | `column-dropped` | `users.account.zip` | invoicing (declared), reporting (declared) | `change/002_drop_zip.sql:2` |',
    );
    expect(r.out).toContain('_Instead:_');
  });

  it('rejects invalid input with exit 2', async () => {
    expect(
      (await check('harmless-nullable-column', '--format', 'xml', 'change/002_add_phone.sql')).code,
    ).toBe(2);
    expect(
      (await check('harmless-nullable-column', '--fail-on', 'info', 'change/002_add_phone.sql'))
        .code,
    ).toBe(2);
    expect((await check('harmless-nullable-column')).code).toBe(2);
    const missing = await check(
      'harmless-nullable-column',
      '--usage',
      'nope.json',
      'change/002_add_phone.sql',
    );
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.json');
    const service = await check(
      'harmless-nullable-column',
      '--service',
      'billing',
      'change/002_add_phone.sql',
    );
    expect(service.code).toBe(2);
    expect(service.err).toContain('services: users, invoicing, reporting');
    const absent = await check('harmless-nullable-column', 'change/does-not-exist.sql');
    expect(absent.code).toBe(2);
  });
});
