import { describe, expect, it } from 'vitest';
import {
  coverTableNames,
  formatTablePart,
  ownsEntries,
  type TablePart,
  tablePartMatches,
} from '../../src/init/table-patterns.js';

/** A small deterministic generator, so a failing case can be rerun. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function expectExactCover(parts: TablePart[], mine: string[], others: string[]): void {
  for (const name of mine)
    expect(
      parts.some((p) => tablePartMatches(p, name)),
      name,
    ).toBe(true);
  for (const name of others)
    expect(
      parts.filter((p) => tablePartMatches(p, name)),
      name,
    ).toEqual([]);
}

/** The true minimum by brute force: every exact name and every usable prefix, smallest cover first. */
function bruteForceMinimum(mine: string[], others: string[]): number {
  const candidates: TablePart[] = mine.map((name) => ({ name }));
  for (const name of mine)
    for (let i = 1; i <= name.length; i++) {
      const prefix = name.slice(0, i);
      if (/^[a-z_]+$/.test(prefix) && !others.some((o) => o.startsWith(prefix)))
        candidates.push({ prefix });
    }
  const covers = (set: TablePart[]) => mine.every((m) => set.some((p) => tablePartMatches(p, m)));
  const choose = (start: number, left: number, chosen: TablePart[]): boolean => {
    if (left === 0) return covers(chosen);
    for (let i = start; i < candidates.length; i++)
      if (choose(i + 1, left - 1, [...chosen, candidates[i]!])) return true;
    return false;
  };
  for (let k = 1; k <= mine.length; k++) if (choose(0, k, [])) return k;
  return mine.length;
}

describe('coverTableNames', () => {
  it('covers a family of tables with one prefix pattern, the longest they share', () => {
    const parts = coverTableNames(
      ['batch_changes', 'batch_specs', 'batch_spec_workspaces'],
      ['users', 'changesets', 'repo'],
    );
    expect(parts.map(formatTablePart)).toEqual(['batch_*']);
  });

  it('never writes a pattern another table would match', () => {
    const mine = ['changesets', 'changeset_specs', 'changeset_events'];
    const others = ['changeset_jobs'];
    const parts = coverTableNames(mine, others);
    expectExactCover(parts, mine, others);
    expect(parts.map(formatTablePart)).toEqual([
      'changeset_events',
      'changeset_specs',
      'changesets',
    ]);
  });

  it('names a table exactly when a longer table of another service starts with its name', () => {
    const mine = ['users', 'users_emails', 'users_settings'];
    const others = ['users_archive'];
    const parts = coverTableNames(mine, others);
    expectExactCover(parts, mine, others);
    expect(parts.map(formatTablePart)).toEqual(['users', 'users_emails', 'users_settings']);
  });

  it('uses a pattern below a shared prefix when the rest of the family is clean', () => {
    const mine = ['batch_a', 'batch_b', 'batch_spec_x', 'batch_spec_y', 'batch_spec_z'];
    const others = ['batch_c'];
    const parts = coverTableNames(mine, others).map(formatTablePart);
    expect(parts).toEqual(['batch_a', 'batch_b', 'batch_spec_*']);
  });

  it('quotes names that need it and never puts a star next to a quoted prefix', () => {
    expect(coverTableNames(['Weird.Name'], ['Weird']).map(formatTablePart)).toEqual([
      '"Weird.Name"',
    ]);
    expect(coverTableNames(['Weird.Name', 'Weird.Other'], ['plain']).map(formatTablePart)).toEqual([
      'Weird*',
    ]);
    // A star in a name is never part of a pattern's prefix.
    expect(coverTableNames(['a*b', 'a*c'], ['x']).map(formatTablePart)).toEqual(['a*']);
    const star = coverTableNames(['a*b', 'a*c'], ['ab']);
    expectExactCover(star, ['a*b', 'a*c'], ['ab']);
    expect(star.map(formatTablePart)).toEqual(['"a*b"', '"a*c"']);
    // The prefix stops before the first character that needs quoting.
    expect(coverTableNames(['Batch.one', 'Batch.two'], ['other']).map(formatTablePart)).toEqual([
      'Batch*',
    ]);
    // ... and is not written when that leaves it shorter than the names another table shares.
    const dotted = coverTableNames(['a.x', 'a.y'], ['ab']);
    expectExactCover(dotted, ['a.x', 'a.y'], ['ab']);
    expect(dotted.map(formatTablePart)).toEqual(['"a.x"', '"a.y"']);
  });

  it('equals the brute-force minimum on 300 random small cases, always an exact cover', () => {
    const next = random(12);
    const letters = 'ab_';
    const word = () => {
      let w = '';
      const n = 1 + Math.floor(next() * 4);
      for (let i = 0; i < n; i++) w += letters[Math.floor(next() * letters.length)];
      return w;
    };
    for (let round = 0; round < 300; round++) {
      const names = [...new Set(Array.from({ length: 2 + Math.floor(next() * 7) }, word))];
      const mine = names.filter(() => next() < 0.5);
      const others = names.filter((n) => !mine.includes(n));
      if (mine.length === 0) continue;
      const parts = coverTableNames(mine, others);
      expectExactCover(parts, mine, others);
      expect(parts.length, JSON.stringify({ mine, others, parts })).toBe(
        bruteForceMinimum(mine, others),
      );
    }
  });

  it('covers hundreds of tables of many services exactly, each with few patterns', () => {
    const next = random(7);
    const families = ['batch', 'changeset', 'user', 'repo', 'search', 'code_intel', 'event'];
    const owner = new Map<string, number>();
    for (let i = 0; i < 900; i++) {
      const family = families[Math.floor(next() * families.length)]!;
      const name = `${family}_${Math.floor(next() * 10_000)}`;
      // Families belong to a service mostly; about 2% of the tables stray to another one.
      const service = next() < 0.02 ? Math.floor(next() * 4) : families.indexOf(family) % 4;
      owner.set(name, service);
    }
    const started = performance.now();
    for (let service = 0; service < 4; service++) {
      const mine = [...owner].filter(([, s]) => s === service).map(([n]) => n);
      const others = [...owner].filter(([, s]) => s !== service).map(([n]) => n);
      const parts = coverTableNames(mine, others);
      expectExactCover(parts, mine, others);
      expect(parts.length).toBeLessThan(mine.length);
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('ownsEntries', () => {
  it('gives a schema name when the service has every table of it, else patterns per schema', () => {
    expect(
      ownsEntries([
        { schema: 'users', mine: ['account', 'address'], others: [] },
        { schema: 'public', mine: ['batch_changes', 'batch_specs'], others: ['users'] },
        { schema: 'Public', mine: ['Weird.Name'], others: ['x'] },
        { schema: 'my schema', mine: ['t1', 't2'], others: ['u'] },
      ]),
    ).toEqual(['Public."Weird.Name"', '"my schema".t*', 'public.batch_*', 'users']);
  });

  it('quotes a schema owned whole when its name holds a dot, so it is not read as a table pattern', () => {
    expect(
      ownsEntries([
        { schema: 'my.schema', mine: ['t'], others: [] },
        { schema: 'My Schema', mine: ['t'], others: [] },
        { schema: '"q', mine: ['t'], others: [] },
      ]),
    ).toEqual(['"""q"', 'My Schema', '"my.schema"']);
  });

  it('gives no entry in a schema where the service has no table and others do', () => {
    expect(ownsEntries([{ schema: 'public', mine: [], others: ['users'] }])).toEqual([]);
  });
});
