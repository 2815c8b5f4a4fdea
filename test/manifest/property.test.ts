import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatError } from '../../src/cli/report-error.js';
import { PgpactError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';
import { MANIFEST_PROBLEM_CODES } from '../../src/manifest/problem-codes.js';
import { formatOwnedSchema } from '../../src/manifest/table-pattern.js';
import { formatTableRef } from '../../src/manifest/table-ref.js';
import type { Manifest } from '../../src/manifest/types.js';

const KNOWN_KEYS = [
  'version',
  'enforcement',
  'services',
  'role',
  'team',
  'contact',
  'owns',
  'reads',
  'writes',
  'limits',
  'migrations',
  'connections',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'work_mem',
];

/** Names of every kind: unicode, quotes, spaces, dots, YAML-looking words. */
const anyName = fc.oneof(
  fc.string({ unit: 'binary', minLength: 0, maxLength: 12 }),
  fc.constantFrom(
    'users',
    'a.b',
    '"q"',
    "it's",
    'My Schema',
    'Ü',
    '~',
    'null',
    'true',
    '*',
    '-',
    ':',
    '#x',
    '&a',
    '*a',
    '',
  ),
  fc.string({ unit: fc.constantFrom('a', '.', '"', ' ', 'É', '\\', ':'), maxLength: 8 }),
);

const scalar = fc.oneof(
  anyName,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('2s', '500', '16MB', '1min', '0', '-1', '64kB', 'enforce', 'audit', '1'),
);

/** Random YAML-able values whose keys are often the manifest's own. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), anyName), tie('value'), { maxKeys: 5 }),
  ),
}));

/** Random manifests near the real shape: version, enforcement and services with random content. */
const nearManifest = fc.record(
  {
    version: scalar,
    enforcement: scalar,
    services: fc.dictionary(anyName, value, { maxKeys: 4 }),
  },
  { requiredKeys: [] },
);

/** Calls parseManifest and checks it returns a Manifest or throws a well-formed MANIFEST_INVALID. */
function parsesOrReports(text: string): void {
  const started = performance.now();
  try {
    const manifest = parseManifest(text, 'pgpact.yaml');
    expect(manifest.version).toBe(1);
  } catch (error) {
    if (!(error instanceof PgpactError)) throw error;
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(error.problems.length).toBeGreaterThan(0);
    for (const p of error.problems) {
      expect(MANIFEST_PROBLEM_CODES).toContain(p.code);
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.column).toBeGreaterThanOrEqual(1);
      expect(p.hint).toBeTruthy();
    }
    const printed = formatError(error);
    expect(printed).not.toContain('INTERNAL');
    expect(printed).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
  }
  expect(performance.now() - started).toBeLessThan(2000);
}

describe('random manifests', () => {
  it('never crash: random structures near the manifest shape', () => {
    fc.assert(
      fc.property(nearManifest, (doc) => parsesOrReports(stringify(doc))),
      { numRuns: 400 },
    );
  });

  it('never crash: random YAML values of any shape', () => {
    fc.assert(
      fc.property(value, (doc) => parsesOrReports(stringify(doc))),
      { numRuns: 300 },
    );
  });

  it('never crash: random text, and valid YAML with characters cut or inserted', () => {
    const base =
      'version: 1\nservices:\n  a: { owns: [a], limits: { work_mem: 16MB } }\n  b:\n    reads:\n      a.t: [x, "y z"]\n      \'"a"."u.v"\': "*"\n';
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc
            .tuple(fc.nat(base.length), fc.nat(6), fc.string({ unit: 'binary', maxLength: 4 }))
            .map(([at, cut, insert]) => base.slice(0, at) + insert + base.slice(at + cut)),
          fc
            .array(
              fc.constantFrom(
                '&a ',
                '*a',
                '[',
                ']',
                '{',
                '}',
                ': ',
                '\n  ',
                '- ',
                '"',
                "'",
                '? ',
                '---\n',
                'x',
              ),
              { maxLength: 30 },
            )
            .map((parts) => parts.join('')),
        ),
        parsesOrReports,
      ),
      { numRuns: 500 },
    );
  });

  it('do not blow up on aliases of aliases', () => {
    const lines = [
      'version: 1',
      'services:',
      '  a: { owns: [a] }',
      '  b:',
      '    reads:',
      '      a.t: &l0 [x]',
    ];
    for (let i = 1; i < 30; i++) lines.push(`      a.t${i}: &l${i} *l${i - 1}`);
    parsesOrReports(lines.join('\n'));
    parsesOrReports('version: 1\nservices: &s\n  a: *s\n  b:\n    reads: &r\n      a.t: *r\n');
  });
});

/** A name Postgres can hold that is neither a reserved role nor a system schema. */
const pgName = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('a', 'Z', ' ', '.', '"', "'", 'ß', 'Ω', '日', '#', ':', '-', '\\', '~'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    minLength: 1,
    maxLength: 20,
  })
  // No control, line-breaking or direction-changing characters: a manifest refuses them in names.
  .filter(
    (s) =>
      !/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/.test(
        s,
      ) && Buffer.byteLength(s) <= 63,
  )
  .filter((s) => !s.startsWith('pg_') && !['public', 'none', 'information_schema'].includes(s));

describe('random valid manifests', () => {
  it('read back exactly the names they were written with', () => {
    // Distinct services each owning one distinct schema; each reads a table of the next one's schema.
    const model = fc.integer({ min: 2, max: 4 }).chain((n) =>
      fc.tuple(
        fc.uniqueArray(pgName, { minLength: n, maxLength: n }),
        fc.uniqueArray(pgName, { minLength: n, maxLength: n }),
        fc.array(fc.tuple(pgName, fc.uniqueArray(pgName, { minLength: 1, maxLength: 4 })), {
          minLength: n,
          maxLength: n,
        }),
      ),
    );
    let checked = 0;
    fc.assert(
      fc.property(model, ([services, schemas, contracts]) => {
        checked++;
        const doc = {
          version: 1,
          services: Object.fromEntries(
            services.map((name, i) => {
              const [table, columns] = contracts[i]!;
              const other = schemas[(i + 1) % schemas.length]!;
              return [
                name,
                {
                  owns: [formatOwnedSchema(schemas[i]!)],
                  reads: { [formatTableRef(other, table)]: columns },
                },
              ];
            }),
          ),
        };
        const manifest: Manifest = parseManifest(stringify(doc), 'pgpact.yaml');
        expect(manifest.services.map((s) => [s.name, s.role, s.owns])).toEqual(
          services.map((name, i) => [name, name, [schemas[i]]]),
        );
        manifest.services.forEach((s, i) => {
          const [table, columns] = contracts[i]!;
          expect(s.reads.map((c) => [c.schema, c.table, c.columns])).toEqual([
            [schemas[(i + 1) % schemas.length], table, columns],
          ]);
        });
      }),
      { numRuns: 300 },
    );
    expect(checked).toBe(300);
  });
});
