import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { loadManifest, parseManifest } from '../../src/manifest/load.js';
import { ownerOfSchema } from '../../src/manifest/ownership.js';
import { allContracts, serviceOfRole } from '../../src/manifest/types.js';

const fixtures = resolve(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'pgpact-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a valid manifest', () => {
  const file = join(fixtures, 'full', 'pgpact.yaml');
  const manifest = loadManifest(file);
  const service = (name: string) => manifest.services.find((s) => s.name === name)!;

  it('loads the reference system with defaults applied', () => {
    expect(manifest.version).toBe(1);
    expect(manifest.file).toBe(file);
    expect(manifest.dir).toBe(join(fixtures, 'full'));
    expect(manifest.enforcement).toBe('enforce');
    expect(manifest.services.map((s) => s.name)).toEqual([
      'users',
      'invoicing',
      'reporting',
      'Fakturierung Ü',
      'limits_in_numbers',
    ]);
    expect(service('users')).toMatchObject({
      role: 'users',
      team: 'identity',
      contact: '#identity',
      enforcement: 'enforce',
      owns: ['users'],
      reads: [],
      writes: [],
      migrations: join(fixtures, 'full', 'migrations', 'users'),
      location: { file, line: 4, column: 3 },
    });
    expect(service('invoicing').migrations).toBe(join(fixtures, 'full', 'migrations', 'invoicing'));
    expect(service('reporting')).toMatchObject({
      role: 'reporting_ro',
      enforcement: 'audit',
      writes: [],
    });
    expect(service('reporting').team).toBeUndefined();
    expect(service('limits_in_numbers')).toMatchObject({
      role: 'limits_in_numbers',
      owns: [],
      reads: [],
    });
  });

  it('converts durations to milliseconds and work_mem to kB, keeps parallel workers', () => {
    expect(service('users').limits).toEqual({
      connections: 20,
      statementTimeoutMs: 2000,
      lockTimeoutMs: 1000,
    });
    expect(service('reporting').limits).toEqual({
      connections: 5,
      statementTimeoutMs: 30_000,
      idleInTransactionSessionTimeoutMs: 10_000,
      workMemKb: 16 * 1024,
      parallelWorkers: 1,
    });
    expect(service('Fakturierung Ü').limits).toEqual({
      statementTimeoutMs: 0,
      lockTimeoutMs: 1500,
      workMemKb: 1024 * 1024,
    });
    expect(service('limits_in_numbers').limits).toEqual({
      statementTimeoutMs: 500,
      lockTimeoutMs: 500,
      idleInTransactionSessionTimeoutMs: 86_400_000,
      workMemKb: 64,
    });
  });

  it('keeps contracts with their columns and locations', () => {
    const [account] = service('invoicing').reads;
    expect(account).toEqual({
      service: 'invoicing',
      access: 'read',
      schema: 'users',
      table: 'account',
      columns: ['id', 'name', 'street_and_number', 'zip', 'city'],
      location: { file, line: 14, column: 7 },
      columnLocations: [23, 27, 33, 52, 57].map((column) => ({ file, line: 14, column })),
    });
    const invoice = service('reporting').reads[1]!;
    expect(invoice).toMatchObject({
      schema: 'invoicing',
      table: 'invoice',
      columns: '*',
      columnLocations: [],
    });
    expect(allContracts(manifest)).toHaveLength(6);
  });

  it('keeps upper case, spaces, quotes, dots and non-ASCII names exactly', () => {
    const s = service('Fakturierung Ü');
    expect(s.role).toBe('Fakturierung "Ü"');
    expect(s.owns).toEqual(['Rechnungen', 'Mein Schema']);
    expect(s.migrations).toBe(join(fixtures, 'full', 'migrations', 'Fakturierung Ü'));
    expect(s.reads.map((c) => [c.schema, c.table, c.columns])).toEqual([
      ['users', 'Account', ['Straße', 'Haus Nr', 'say "hi"']],
      ['users', 'weird.table', ['*x']],
    ]);
    expect(s.writes.map((c) => [c.access, c.schema, c.table, c.columns])).toEqual([
      ['write', 'invoicing', 'invoice', ['status']],
    ]);
    expect(ownerOfSchema(manifest, 'Mein Schema')?.name).toBe('Fakturierung Ü');
    expect(serviceOfRole(manifest, 'Fakturierung "Ü"')?.name).toBe('Fakturierung Ü');
  });
});

describe('parseManifest', () => {
  it('applies the manifest-wide enforcement unless a service overrides it', () => {
    const m = parseManifest(
      'version: 1\nenforcement: audit\nservices:\n  a:\n  b: { enforcement: enforce }\n',
      join(tmp, 'pgpact.yaml'),
    );
    expect(m.enforcement).toBe('audit');
    expect(m.services.map((s) => [s.name, s.role, s.enforcement])).toEqual([
      ['a', 'a', 'audit'],
      ['b', 'b', 'enforce'],
    ]);
  });

  it('takes names that YAML would read as numbers, booleans or null when quoted, literally', () => {
    const m = parseManifest(
      'version: 1\nservices:\n  "true":\n    owns: [0012, "null", yes, 1e3]\n    role: "~"\n',
      join(tmp, 'pgpact.yaml'),
    );
    expect(m.services[0]).toMatchObject({
      name: 'true',
      role: '~',
      owns: ['0012', 'null', 'yes', '1e3'],
    });
  });

  it('accepts an empty services mapping, aliases and a byte order mark', () => {
    expect(parseManifest('\uFEFFversion: 1\nservices: {}\n', 'p.yaml').services).toEqual([]);
    const m = parseManifest(
      'version: 1\nservices:\n  a:\n    owns: [a]\n    limits: &small { connections: 2 }\n  b:\n    limits: *small\n    reads: { a.t: &cols [x, y] }\n  c:\n    reads: { a.t: *cols }\n',
      'p.yaml',
    );
    expect(m.services.map((s) => s.limits.connections)).toEqual([2, 2, undefined]);
    expect(m.services[2]!.reads[0]!.columns).toEqual(['x', 'y']);
  });

  it('accepts a name of exactly 63 bytes', () => {
    const name = 'ü'.repeat(31) + 'x';
    expect(Buffer.byteLength(name)).toBe(63);
    const m = parseManifest(`version: 1\nservices:\n  ${name}:\n    owns: [${name}]\n`, 'p.yaml');
    expect(m.services[0]!.role).toBe(name);
  });
});

describe('loadManifest', () => {
  it('reports a missing file as CONFIG_NOT_FOUND with a hint', () => {
    const error = catchError(() => loadManifest(join(tmp, 'nope.yaml')));
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.message).toContain('nope.yaml');
    expect(error.hint).toMatch(/--config/);
  });

  it('reports a folder given as the manifest as CONFIG_NOT_FOUND', () => {
    expect(catchError(() => loadManifest(tmp)).code).toBe('CONFIG_NOT_FOUND');
  });

  it('reports a file that is not UTF-8', () => {
    const file = join(tmp, 'latin1.yaml');
    writeFileSync(file, Buffer.from('version: 1\nservices:\n  caf\xe9:\n', 'latin1'));
    const error = catchError(() => loadManifest(file));
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(error.problems.map((p) => p.code)).toEqual(['MANIFEST_ENCODING']);
  });

  it('resolves migrations relative to the manifest, not the working directory', () => {
    const file = join(fixtures, 'full', 'pgpact.yaml');
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect(loadManifest(file).services[0]!.migrations).toBe(
        join(fixtures, 'full', 'migrations', 'users'),
      );
    } finally {
      process.chdir(cwd);
    }
  });
});

function catchError(fn: () => unknown): PgpactError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PgpactError) return error;
    throw error;
  }
  throw new Error('expected a PgpactError');
}
