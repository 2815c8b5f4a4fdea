import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { withClient } from '../../../src/postgres/client.js';
import { describeEachServer } from '../../../test/helpers/postgres.js';
import { joinLikeMigration, splitLikeMigration, splitStreetAndNumber } from '../users/address.js';
import { loadSplit } from './split-migration.js';

/** Characters that matter to the split: ASCII and other whitespace, letters, digits, punctuation. */
const CHARS = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\f',
  '\u00a0',
  '\u3000',
  'a',
  'ß',
  'É',
  '7',
  '-',
  '.',
  "'",
];
const address = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 12 });

describeEachServer('users v2 splits street_and_number exactly as the migration does', (server) => {
  let url: string;
  let up: { street: string; number: string };
  let down: string;

  beforeAll(async () => {
    url = await server().createDatabase('address');
    const { split } = await loadSplit();
    up = {
      street: split.to.find((c) => c.name === 'street')!.up,
      number: split.to.find((c) => c.name === 'number')!.up,
    };
    down = split.down;
  });

  /** The migration's own up expressions over many values, in one query. */
  const sqlUp = (values: string[]) =>
    withClient(url, (c) =>
      c.query<{ street: string; number: string | null }>(
        `SELECT ${up.street} AS street, ${up.number} AS number
         FROM unnest($1::text[]) WITH ORDINALITY AS t(street_and_number, i) ORDER BY i`,
        [values],
      ),
    );

  it('splitLikeMigration equals the up expressions on 2,000 generated addresses', async () => {
    const values = [
      'Am Markt 3',
      'Hauptstraße',
      'Straße des 17. Juni 135',
      'Am  Kanal\t4',
      'Rue de l\u00a0Église 5',
      'trailing ',
      '',
      ...fc.sample(address, 2000),
    ];
    const { rows } = await sqlUp(values);
    expect(values.map(splitLikeMigration)).toEqual(rows);
  });

  it('joinLikeMigration equals the down expression, and an accepted split survives down then up', async () => {
    const pairs = fc.sample(fc.tuple(address, address), 500);
    const { rows } = await withClient(url, (c) =>
      c.query<{ joined: string }>(
        `SELECT ${down} AS joined FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(street, number, i) ORDER BY i`,
        [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      ),
    );
    expect(pairs.map(([s, n]) => joinLikeMigration(s, n))).toEqual(rows.map((r) => r.joined));

    const accepted = fc
      .sample(address, 2000)
      .map((v) => v.trim())
      .flatMap((v) => splitStreetAndNumber(v) ?? []);
    expect(accepted.length).toBeGreaterThan(100);
    const roundTrip = await sqlUp(accepted.map((a) => joinLikeMigration(a.street, a.number)));
    expect(roundTrip.rows).toEqual(accepted);
  });

  it('refuses what the old shape cannot carry: no number after a space', () => {
    expect(splitStreetAndNumber('Am Markt 3')).toEqual({ street: 'Am Markt', number: '3' });
    expect(splitStreetAndNumber('Hauptstraße')).toBeUndefined();
    expect(splitStreetAndNumber('Rue\u00a05')).toBeUndefined();
    expect(splitStreetAndNumber(' 5')).toBeUndefined();
    expect(splitStreetAndNumber('Am Markt 3 ')).toBeUndefined();
  });
});
