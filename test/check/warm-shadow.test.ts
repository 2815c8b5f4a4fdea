import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { toCheckJson } from '../../src/impact/format-report.js';
import { type CheckReport, runCheck } from '../../src/impact/run-check.js';
import { loadManifest } from '../../src/manifest/load.js';

// The warm shadow: the article's system (services A, B, C) checked cold, then again from
// the kept snapshot of its base; then team A edits a base migration and the next check
// must see it.

const example = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../examples/shared-database',
);
let dir = '';
let cacheDir = '';

const SPLIT = `ALTER TABLE users.account ADD COLUMN street text, ADD COLUMN number text;
ALTER TABLE users.account DROP COLUMN street_and_number;
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-warm-'));
  fs.cpSync(path.join(example, 'pgpact.yaml'), path.join(dir, 'pgpact.yaml'));
  fs.cpSync(path.join(example, 'migrations'), path.join(dir, 'migrations'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'split.sql'), SPLIT);
  cacheDir = path.join(dir, '.pgpact', 'shadow-base');
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function check(files: string[], shadowCacheDir: string | false): Promise<CheckReport> {
  return runCheck({
    manifest: loadManifest(path.join(dir, 'pgpact.yaml')),
    files,
    root: dir,
    service: 'users',
    shadowCacheDir,
  });
}

/** The report without what differs between runs by design: timings and how the base was obtained. */
function comparable(report: CheckReport): unknown {
  const { timings: _t, shadowBase: _s, ...rest } = report;
  return JSON.parse(JSON.stringify(rest));
}

it('a warm check from the kept snapshot reports exactly what a cold check reports', async () => {
  const cold = await check(['split.sql'], false);
  expect(cold.shadowBase?.state).toBe('uncached');
  expect(cold.breaking).toBe(true);

  const first = await check(['split.sql'], cacheDir);
  expect(first.shadowBase).toMatchObject({
    state: 'built',
    reason: 'no snapshot of this base yet',
  });
  const warm = await check(['split.sql'], cacheDir);
  expect(warm.shadowBase).toEqual({ state: 'reused', key: first.shadowBase?.key });
  expect(warm.timings.baseApplyMs).toBe(0);

  expect(JSON.stringify(toCheckJson(warm.findings))).toBe(
    JSON.stringify(toCheckJson(cold.findings)),
  );
  expect(comparable(warm)).toEqual(comparable(cold));
  expect(comparable(first)).toEqual(comparable(cold));

  // The snapshot holds a superuser password: owner-only folders and files.
  expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
  const entry = path.join(cacheDir, first.shadowBase!.key!);
  expect(fs.statSync(entry).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(entry, 'secret.json')).mode & 0o777).toBe(0o600);
});

it('a changed base file is picked up: the next check rebuilds, names the file and sees the new column', async () => {
  const base = path.join(dir, 'migrations', 'users', '001_create_account.sql');
  const original = fs.readFileSync(base, 'utf8');
  fs.writeFileSync(
    path.join(dir, 'drop-phone.sql'),
    'ALTER TABLE users.account DROP COLUMN phone;\n',
  );
  try {
    fs.writeFileSync(base, `${original}\nALTER TABLE users.account ADD COLUMN phone text;\n`);
    const changed = await check(['drop-phone.sql'], cacheDir);
    expect(changed.shadowBase?.state).toBe('built');
    expect(changed.shadowBase?.reason).toBe(
      'base files changed: migrations/users/001_create_account.sql',
    );
    expect(changed.changes.map((c) => `${c.kind} ${c.column ?? ''}`)).toContain(
      'column-dropped phone',
    );
    const again = await check(['drop-phone.sql'], cacheDir);
    expect(again.shadowBase?.state).toBe('reused');
    expect(comparable(again)).toEqual(comparable(changed));
  } finally {
    fs.writeFileSync(base, original);
  }
  // Back to the first base: its snapshot is still kept, nothing to build.
  const back = await check(['split.sql'], cacheDir);
  expect(back.shadowBase?.state).toBe('reused');
});

it('pgpact check says on stderr whether the base was reused or why it was rebuilt; --format github annotates file:line', async () => {
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
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const code = await runCommand(['check', '--format', 'json', 'split.sql'], output);
    expect(code).toBe(1);
    expect(JSON.parse(out).breaking).toBe(true);
    expect(err).toMatch(/^pgpact check: shadow base (reused|rebuilt)/);
    err = '';
    await runCommand(['check', '--format', 'json', 'split.sql'], output);
    expect(err).toMatch(/^pgpact check: shadow base reused \(snapshot [0-9a-f]{24}/);
    // GitHub Actions annotations at file:line.
    out = '';
    expect(await runCommand(['check', '--format', 'github', 'split.sql'], output)).toBe(1);
    const dropped = out
      .split('\n')
      .find((l) => l.includes('column-dropped users.account.street_and_number'));
    expect(dropped).toMatch(
      /^::error file=split\.sql,line=2,title=pgpact breaking%3A column-dropped users\.account\.street_and_number::.+%0Aconsumers: invoicing \(declared\)/,
    );
  } finally {
    process.chdir(cwd);
  }
});
