import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { parseDuration, parseWorkMem } from '../../src/manifest/units.js';
import { describeEachServer } from '../helpers/postgres.js';

const DURATIONS = [
  '0',
  '1',
  '500',
  '500ms',
  '2s',
  '2 s',
  '1.5s',
  '1min',
  '90min',
  '1h',
  '1d',
  '24d',
  '25d',
  '1500us',
  '2S',
  '1m',
  '-1s',
  '1.2.3s',
  'x',
  '2147483647',
  '2147483648',
  '0.4ms',
  '0.6ms',
  '+5s',
  '1.s',
  '1e-3min',
  '2.5e1s',
  '1e3',
  '0.001min',
  '0.5ms',
  '1.5ms',
  '2.5ms',
  '0.0005s',
  '1.0005s',
  '1.5kB',
  '64.5kB',
  '0.5MB',
];
const SIZES = [
  '64',
  '63',
  '64kB',
  '16MB',
  '1GB',
  '1.5MB',
  '65536B',
  '1TB',
  '2TB',
  '16mb',
  '16M',
  '1 GB',
  '2147483647',
  '2147483648',
  '0',
  'lots',
];

describeEachServer('durations and sizes agree with Postgres', (server) => {
  it('accepts exactly what Postgres accepts, with the same value (stricter only on rounding to 0)', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      const postgresValue = async (name: string, text: string): Promise<number | undefined> => {
        await c.query('BEGIN');
        try {
          await c.query('SELECT set_config($1, $2, true)', [name, text]);
          const { rows } = await c.query<{ setting: string }>(
            'SELECT setting FROM pg_settings WHERE name = $1',
            [name],
          );
          return Number(rows[0]!.setting);
        } catch {
          return undefined;
        } finally {
          await c.query('ROLLBACK');
        }
      };
      for (const text of DURATIONS) {
        const ours = parseDuration(text);
        // lock_timeout parses exactly as statement_timeout (milliseconds, 0 to INT_MAX) but does
        // not cancel the next query when set to a millisecond or two on a loaded machine.
        const theirs = await postgresValue('lock_timeout', text);
        if (ours.ok) expect([text, ours.value]).toEqual([text, theirs]);
        else
          expect([
            text,
            theirs === undefined || (theirs === 0 && Number.parseFloat(text) !== 0),
          ]).toEqual([text, true]);
      }
      for (const text of SIZES) {
        const ours = parseWorkMem(text);
        const theirs = await postgresValue('work_mem', text);
        expect([text, ours.ok ? ours.value : undefined]).toEqual([text, theirs]);
      }
    });
  });
});
