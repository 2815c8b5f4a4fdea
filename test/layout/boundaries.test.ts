import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Folder rules from STYLE.md: sql/ owns the parser; sql/ and manifest/ stay free of database access. */

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  );
}

const SRC = path.resolve('src');

describe('folder boundaries', () => {
  it('no file under src/sql or src/manifest imports src/postgres', () => {
    const offenders: string[] = [];
    for (const folder of ['sql', 'manifest']) {
      for (const file of sourceFiles(path.join(SRC, folder))) {
        for (const spec of importsOf(file)) {
          if (!spec.startsWith('.')) continue;
          const target = path.resolve(path.dirname(file), spec);
          if (target.startsWith(path.join(SRC, 'postgres') + path.sep))
            offenders.push(`${path.relative(SRC, file)} → ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('libpg-query is imported only under src/sql', () => {
    const offenders = sourceFiles(SRC)
      .filter((file) => !file.startsWith(path.join(SRC, 'sql') + path.sep))
      .filter((file) => importsOf(file).includes('libpg-query'))
      .map((file) => path.relative(SRC, file));
    expect(offenders).toEqual([]);
  });

  it('the rules see real imports (sanity: sql/parse.ts imports libpg-query)', () => {
    expect(importsOf(path.join(SRC, 'sql', 'parse.ts'))).toContain('libpg-query');
    expect(
      importsOf(path.join(SRC, 'impact', 'shadow.ts')).some((s) => s.includes('sql/parse')),
    ).toBe(true);
  });
});
