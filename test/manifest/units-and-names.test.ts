import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../src/manifest/closest.js';
import { checkIdentifier, checkRoleName } from '../../src/manifest/names.js';
import { formatTableRef, parseTableRef } from '../../src/manifest/table-ref.js';
import { parseDuration, parseWorkMem } from '../../src/manifest/units.js';

describe('closestName', () => {
  it('suggests a near name and nothing for a far one', () => {
    expect(closestName('statment_timeout', ['statement_timeout', 'lock_timeout'])).toBe(
      'statement_timeout',
    );
    expect(closestName('owsn', ['owns', 'role'])).toBe('owns');
    expect(closestName('street_and_nr', ['id', 'street_and_number', 'zip'])).toBe(
      'street_and_number',
    );
    expect(closestName('colour', ['role', 'owns', 'team'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });

  it('prefers a case-only difference and never suggests the name itself', () => {
    expect(closestName('Account', ['accounts', 'account'])).toBe('account');
    expect(closestName('users', ['users'])).toBeUndefined();
  });

  it('counts code points and neighbour swaps as one edit', () => {
    expect(editDistance('straße', 'strasse')).toBe(2);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('😀x', 'x')).toBe(1);
    expect(closestName('Strase', ['Straße', 'Hausnummer'])).toBe('Straße');
  });
});

describe('durations and sizes', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1min', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1500', 1500],
    ['0', 0],
    ['1.5s', 1500],
    ['2 s', 2000],
    ['2147483647ms', 2147483647],
  ])('duration %s is %d ms', (text, ms) =>
    expect(parseDuration(text)).toEqual({ ok: true, value: ms }),
  );

  it.each(['2S', '1m', '-1s', 'soon', '', '25d', '0.1us', '1.2.3s', '0.001min'])(
    'rejects duration %j',
    (text) => {
      const result = parseDuration(text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.hint.length).toBeGreaterThan(0);
    },
  );

  it.each([
    ['64kB', 64],
    ['16MB', 16_384],
    ['1GB', 1_048_576],
    ['1024', 1024],
    ['65536B', 64],
    ['1.5MB', 1536],
    ['2147483647kB', 2147483647],
  ])('work_mem %s is %d kB', (text, kb) =>
    expect(parseWorkMem(text)).toEqual({ ok: true, value: kb }),
  );

  it.each(['63kB', '16mb', '16M', '2TB', '0', 'lots'])('rejects work_mem %j', (text) => {
    expect(parseWorkMem(text).ok).toBe(false);
  });
});

describe('table references', () => {
  it.each([
    ['users.account', 'users', 'account'],
    ['Users.Account', 'Users', 'Account'],
    ['"My Schema"."Tab.le"', 'My Schema', 'Tab.le'],
    ['"say ""hi"""."t"', 'say "hi"', 't'],
    ['my schema.über tabelle', 'my schema', 'über tabelle'],
    [' a . b ', ' a ', ' b '],
  ])('%s is %s / %s', (text, schema, table) => {
    expect(parseTableRef(text)).toEqual({ ok: true, schema, table });
    expect(parseTableRef(formatTableRef(schema, table))).toEqual({ ok: true, schema, table });
  });

  it.each(['account', 'a.b.c', 'a.', '.b', '"a.b', 'a"b.c', '"a"x.b', '""."t"'])(
    'rejects %j',
    (text) => {
      expect(parseTableRef(text).ok).toBe(false);
    },
  );
});

describe('names Postgres can hold', () => {
  it('measures length in UTF-8 bytes', () => {
    expect(checkIdentifier('a'.repeat(63), 'table')).toBeUndefined();
    expect(checkIdentifier('a'.repeat(64), 'table')?.code).toBe('MANIFEST_NAME_TOO_LONG');
    expect(checkIdentifier('€'.repeat(21), 'table')).toBeUndefined();
    expect(checkIdentifier('€'.repeat(22), 'table')?.code).toBe('MANIFEST_NAME_TOO_LONG');
  });

  it('accepts any text but empty, NUL and reserved roles', () => {
    for (const ok of ['Users', 'my table', 'say "hi"', "it's", 'Ωμέγα', '日本', 'a.b', '123']) {
      expect(checkIdentifier(ok, 'table')).toBeUndefined();
    }
    expect(checkIdentifier('', 'table')?.code).toBe('MANIFEST_BAD_NAME');
    expect(checkIdentifier('a\u0000b', 'table')?.code).toBe('MANIFEST_BAD_NAME');
    expect(checkRoleName('pg_signal_backend')?.code).toBe('MANIFEST_RESERVED_NAME');
    expect(checkRoleName('public')?.code).toBe('MANIFEST_RESERVED_NAME');
    expect(checkRoleName('Public')).toBeUndefined();
  });
});
