import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

// pgpact as a team installs it: pack the project, install the tarball into an empty
// project (install scripts of dependencies not approved, as npm does by default), then
// run the demo, `check` on the example and a strict TypeScript file importing the library.

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-pack-'));
// As root, pgpact runs the Postgres binaries as the `postgres` user: it must reach them.
fs.chmodSync(work, 0o755);
const source = path.join(work, 'source');
const project = path.join(work, 'project');
let tarball = '';
let files: string[] = [];

/**
 * The environment without the npm_* variables `npm test` sets (they would point npm at
 * this repository) and without a database: everything runs on pgpact's own servers.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'DATABASE_URL' && k !== 'PGPACT_HOME') env[k] = v;
  }
  return { ...env, NO_COLOR: '1' };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function installedVersion(name: string): string {
  const file = path.join(repo, 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

const SKIP = new Set(['node_modules', 'dist', '.git', '.pgpact', 'test-artifacts']);

beforeAll(async () => {
  // A copy of the sources, so packing (which rebuilds dist/) never disturbs this checkout.
  fs.mkdirSync(source);
  for (const entry of fs.readdirSync(repo)) {
    if (SKIP.has(entry) || entry.startsWith('.scratch-')) continue;
    fs.cpSync(path.join(repo, entry), path.join(source, entry), {
      recursive: true,
      // State of local runs (kept shadow bases, usage) is no part of the sources.
      filter: (from) => !from.split(path.sep).includes('.pgpact'),
    });
  }
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(source, 'node_modules'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], source, 300_000);
  expect(packed.code, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(work, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);

  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'team-project', private: true, type: 'module' }, null, 2),
  );
  const installed = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      `typescript@${installedVersion('typescript')}`,
      `@types/node@${installedVersion('@types/node')}`,
    ],
    project,
    300_000,
  );
  expect(installed.code, installed.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

it('the tarball ships what a user runs and nothing of the development tree', () => {
  for (const f of [
    'bin/pgpact.js',
    'dist/src/cli/main.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/web/index.html',
    'dist/web/app.js',
    'dist/examples/shared-database/users/main.js',
    'examples/shared-database/pgpact.yaml',
    'examples/library/deploy-gate.ts',
    'src/demo/assets/split-street-and-number.yaml',
    'README.md',
    'LICENSE',
    'package.json',
  ]) {
    expect(files, f).toContain(f);
  }
  // The graph layout library is a chunk the page loads on demand.
  expect(files.some((f) => /^dist\/web\/chunks\/elk\.bundled-\w+\.js$/.test(f))).toBe(true);
  const unwanted = files.filter(
    (f) =>
      /^(test|bench|\.ci|web|node_modules)\//.test(f) ||
      /^examples\/[^/]+\/test\//.test(f) ||
      /^dist\/(test|examples\/[^/]+\/test)\//.test(f) ||
      f.endsWith('.map') ||
      (f.startsWith('src/') && !f.startsWith('src/demo/')),
  );
  expect(unwanted).toEqual([]);
});

it('npx pgpact demo runs the whole story from the installed package', async () => {
  const demo = await run('npx', ['--no-install', 'pgpact', 'demo'], project, 300_000);
  expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
  expect(demo.stdout).toMatch(/all \d+ chapters ok/);
}, 360_000);

it('npx pgpact check on the example names invoicing as broken by dropping street_and_number', async () => {
  const example = path.join(project, 'example');
  fs.cpSync(path.join(project, 'node_modules', 'pgpact', 'examples', 'shared-database'), example, {
    recursive: true,
  });
  fs.writeFileSync(
    path.join(example, 'drop.sql'),
    'ALTER TABLE users.account DROP COLUMN street_and_number;\n',
  );
  const check = await run(
    'npx',
    ['--no-install', 'pgpact', 'check', '--format', 'json', 'drop.sql'],
    example,
  );
  expect(check.code, check.stderr).toBe(1);
  const report = JSON.parse(check.stdout) as {
    breaking: boolean;
    findings: { kind: string; object: string; consumers: { service: string }[] }[];
  };
  expect(report.breaking).toBe(true);
  const dropped = report.findings.find((f) => f.kind === 'column-dropped');
  expect(dropped?.object).toBe('users.account.street_and_number');
  expect(dropped?.consumers.map((c) => c.service)).toContain('invoicing');
}, 240_000);

it('the library example compiles with tsc --strict against the installed types and gates a deploy', async () => {
  const gate = path.join(project, 'gate');
  fs.mkdirSync(gate);
  fs.copyFileSync(
    path.join(project, 'node_modules', 'pgpact', 'examples', 'library', 'deploy-gate.ts'),
    path.join(gate, 'deploy-gate.ts'),
  );
  const tsc = await run(
    'npx',
    [
      '--no-install',
      'tsc',
      '--strict',
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--types',
      'node',
      'gate/deploy-gate.ts',
    ],
    project,
  );
  expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  const example = path.join(project, 'node_modules', 'pgpact', 'examples', 'shared-database');
  fs.writeFileSync(
    path.join(gate, 'rename.sql'),
    'ALTER TABLE users.account RENAME COLUMN zip TO postal_code;\n',
  );
  fs.writeFileSync(
    path.join(gate, 'add.sql'),
    'ALTER TABLE users.account ADD COLUMN phone text;\n',
  );
  const manifest = path.join(example, 'pgpact.yaml');
  const wait = await run('node', ['gate/deploy-gate.js', manifest, 'gate/rename.sql'], project);
  expect(wait.code, wait.stderr).toBe(1);
  expect(wait.stdout.trim()).toBe('deploy: wait');
  expect(wait.stderr).toContain('users.account.zip');
  const go = await run('node', ['gate/deploy-gate.js', manifest, 'gate/add.sql'], project);
  expect(go.code, go.stderr).toBe(0);
  expect(go.stdout.trim()).toBe('deploy: go');
}, 240_000);
