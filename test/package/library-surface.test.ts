import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as pgpact from '../../src/index.js';

// The library's one entry: what a deploy script imports, and the rule that the library
// never prints and never exits (only the CLI does), checked over every module it loads.

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

it('src/index.ts exports every operation a deploy script needs', () => {
  for (const name of [
    'loadManifest',
    'parseManifest',
    'ownershipOf',
    'ownerOfTable',
    'planProvisioning',
    'applyProvisioning',
    'readCatalog',
    'loadParser',
    'createCatalogIndex',
    'analyzeStatement',
    'analyzeScript',
    'observeUsage',
    'runCheck',
    'toCheckJson',
    'formatMarkdown',
    'toSarif',
    'loadMigration',
    'startMigration',
    'migrationStatus',
    'completeMigration',
    'rollbackMigration',
  ]) {
    expect(typeof (pgpact as Record<string, unknown>)[name], name).toBe('function');
  }
  expect(new pgpact.PgpactError('USAGE', 'x').code).toBe('USAGE');
  expect(typeof pgpact.RuntimeSampler.prototype.sample).toBe('function');
});

/** Every module under src/ that src/index.ts loads, following relative imports. */
function moduleGraph(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      const target = path.resolve(path.dirname(file), `${m[1]}.ts`);
      if (fs.existsSync(target)) queue.push(target);
    }
  }
  return [...seen].sort();
}

it('no module the library loads prints or exits', () => {
  const modules = moduleGraph(path.join(src, 'index.ts'));
  expect(modules.length).toBeGreaterThan(50);
  expect(modules.some((m) => m.includes(`${path.sep}cli${path.sep}`))).toBe(false);
  const offenders = modules.flatMap((file) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((line, i) => ({ line, at: `${path.relative(src, file)}:${i + 1}` }))
      .filter(({ line }) =>
        /\bconsole\.\w+\(|process\.exit\(|process\.(stdout|stderr)\.write\(/.test(line),
      )
      .map(({ at, line }) => `${at}: ${line.trim()}`),
  );
  expect(offenders).toEqual([]);
});

it('the README quotes the library example exactly as the package test compiles it', () => {
  const readme = fs.readFileSync(path.join(src, '..', 'README.md'), 'utf8');
  const example = fs.readFileSync(
    path.join(src, '..', 'examples', 'library', 'deploy-gate.ts'),
    'utf8',
  );
  expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
});
