import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgpactError, type Problem } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';
import {
  commonTableName,
  matchesTablePattern,
  readOwnsEntry,
} from '../../src/manifest/table-pattern.js';
import { ownerOfTable, sharedSchemas } from '../../src/manifest/ownership.js';

function problemsOf(text: string): Problem[] {
  try {
    parseManifest(text, 'pgpact.yaml');
  } catch (error) {
    if (!(error instanceof PgpactError)) throw error;
    for (const p of error.problems) expect(p.hint, `${p.code} has a hint`).toBeTruthy();
    return error.problems;
  }
  throw new Error('expected the manifest to be invalid');
}

describe('owns: table patterns', () => {
  it('reads schemas and table patterns, quoted parts included', () => {
    expect(readOwnsEntry('users')).toEqual({ kind: 'schema', name: 'users' });
    expect(readOwnsEntry('"my.schema"')).toEqual({ kind: 'schema', name: 'my.schema' });
    expect(readOwnsEntry('public.batch_*')).toEqual({
      kind: 'table',
      schema: 'public',
      table: 'batch_*',
      literal: false,
    });
    expect(readOwnsEntry('"Public"."Weird.Name"')).toEqual({
      kind: 'table',
      schema: 'Public',
      table: 'Weird.Name',
      literal: true,
    });
    expect(readOwnsEntry('pub*.t').kind).toBe('invalid');
    expect(readOwnsEntry('a.b.c').kind).toBe('invalid');
  });

  it('matches names as a glob', () => {
    const p = (table: string, literal = false) => ({ table, literal });
    expect(matchesTablePattern(p('batch_*'), 'batch_changes')).toBe(true);
    expect(matchesTablePattern(p('batch_*'), 'batch_')).toBe(true);
    expect(matchesTablePattern(p('batch_*'), 'changesets')).toBe(false);
    expect(matchesTablePattern(p('*_log*x'), 'a_logx')).toBe(true);
    expect(matchesTablePattern(p('a*a'), 'a')).toBe(false);
    expect(matchesTablePattern(p('a*', true), 'a*')).toBe(true);
    expect(matchesTablePattern(p('a*', true), 'ab')).toBe(false);
  });

  it('finds a common name exactly when two patterns overlap (property, against a regex)', () => {
    const pattern = fc.stringMatching(/^[ab*]{1,6}$/);
    const toRegex = (p: string) => new RegExp(`^${p.replaceAll('*', '[ab]*')}$`);
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const name = commonTableName({ table: a, literal: false }, { table: b, literal: false });
        // Brute force: every name of up to 12 letters a/b.
        let exists = false;
        for (let n = 1; n <= 12 && !exists; n++) {
          for (let bits = 0; bits < 1 << n && !exists; bits++) {
            const s = [...Array(n)].map((_, i) => ((bits >> i) & 1 ? 'a' : 'b')).join('');
            if (toRegex(a).test(s) && toRegex(b).test(s)) exists = true;
          }
        }
        if (name === undefined) return !exists;
        return (
          matchesTablePattern({ table: a, literal: false }, name) &&
          matchesTablePattern({ table: b, literal: false }, name)
        );
      }),
      { numRuns: 150 },
    );
  });

  it('parses a manifest with tables of several services in public', () => {
    const manifest = parseManifest(
      [
        'version: 1',
        'services:',
        '  batches:',
        '    owns: [batches, public.batch_*, public.changesets]',
        '  users:',
        `    owns: ['"Public"."Weird.Name"', public.users]`,
        '    reads:',
        '      public.changesets: [id]',
        '',
      ].join('\n'),
      'pgpact.yaml',
    );
    const [batches, users] = manifest.services;
    expect(batches!.owns).toEqual(['batches']);
    expect(batches!.ownsTables.map((p) => [p.schema, p.table, p.location.line])).toEqual([
      ['public', 'batch_*', 4],
      ['public', 'changesets', 4],
    ]);
    expect(users!.ownsTables.map((p) => [p.schema, p.table])).toEqual([
      ['Public', 'Weird.Name'],
      ['public', 'users'],
    ]);
    expect(ownerOfTable(manifest, 'public', 'batch_specs')?.name).toBe('batches');
    expect(ownerOfTable(manifest, 'public', 'users')?.name).toBe('users');
    expect(ownerOfTable(manifest, 'public', 'orphans')).toBeUndefined();
    expect(ownerOfTable(manifest, 'batches', 'anything')?.name).toBe('batches');
    expect(sharedSchemas(manifest).sort()).toEqual(['Public', 'public']);
  });

  it('reports a table matched by two services at both lines, every problem at once', () => {
    const problems = problemsOf(
      [
        'version: 1',
        'services:',
        '  a:',
        '    owns: [public.batch_*]',
        '  b:',
        '    owns:',
        '      - public.*_changes',
        '      - other',
        '  c:',
        '    owns: [other.t, "x*.t"]',
        '    reads:',
        '      public.nobody: [id]',
        '',
      ].join('\n'),
    );
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([
      ['MANIFEST_TABLE_OWNED_TWICE', 4, 12],
      ['MANIFEST_TABLE_OWNED_TWICE', 7, 9],
      ['MANIFEST_TABLE_OWNED_TWICE', 8, 9],
      ['MANIFEST_TABLE_OWNED_TWICE', 10, 12],
      ['MANIFEST_BAD_TABLE_REF', 10, 21],
      ['MANIFEST_CONTRACT_UNOWNED_TABLE', 12, 7],
    ]);
    expect(problems[0]!.message).toContain('pgpact.yaml:7:9');
    expect(problems[0]!.message).toMatch(/table `public\.batch_\w*changes`/);
    expect(problems[1]!.message).toContain('pgpact.yaml:4:12');
    expect(problems[2]!.message).toContain('pgpact.yaml:10:12');
    expect(problems[3]!.message).toContain('pgpact.yaml:8:9');
  });

  it('refuses a contract on a table the service owns in a shared schema', () => {
    const problems = problemsOf(
      'version: 1\nservices:\n  a:\n    owns: [public.t]\n    reads:\n      public.t: [id]\n',
    );
    expect(problems.map((p) => p.code)).toEqual(['MANIFEST_READS_OWN_SCHEMA']);
  });
});
