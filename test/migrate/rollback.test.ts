import { expect, it } from 'vitest';
import { loadMigration } from '../../src/migrate/parse.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import type { RunOptions } from '../../src/migrate/types.js';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createShop, fixture, leftovers } from './helpers.js';

/** The shape and content of schema shop: what a rollback must restore exactly. */
async function snapshot(url: string) {
  return withClient(url, async (c) => {
    const catalog = await readCatalog(c);
    const relations = catalog.relations
      .filter((r) => r.schema === 'shop')
      .map((r) => ({
        name: r.name,
        kind: r.kind,
        columns: r.columns.map((col) => [col.name, col.type, col.notNull, col.default ?? null]),
        constraints: r.constraints.map((k) => [k.name, k.definition, k.validated]),
        indexes: r.indexes.map((i) => i.definition),
      }));
    const triggers = await c.query(
      `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`,
    );
    // set_not_null fills NULL countries in place (documented): a rollback keeps them, so country is left out.
    const data = await c.query(
      `SELECT md5(string_agg(row(id, email, fullname, first, last, zip, fax)::text, ',' ORDER BY id)) AS customer FROM shop.customer`,
    );
    const book = await c.query(
      `SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS book FROM shop."Address Book" t`,
    );
    return { relations, triggers: triggers.rows, data: data.rows[0], book: book.rows[0] };
  });
}

/** Starts the all-operations migration and interrupts it where `stopAt` says (or lets it finish). */
async function startUntil(
  url: string,
  stopAt?: (controller: AbortController) => Pick<RunOptions, 'onStep' | 'onProgress'>,
) {
  const migration = await loadMigration(fixture('all-operations.yaml'));
  const controller = new AbortController();
  const hooks = stopAt?.(controller) ?? {};
  const run = startMigration(url, migration, {
    batchSize: 40,
    signal: controller.signal,
    ...hooks,
  });
  if (stopAt) await expect(run).rejects.toThrow(/abort/i);
  else await run;
  return withClient(
    url,
    async (c) => (await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase as string,
  );
}

async function expectRestored(url: string, before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await snapshot(url)).toEqual(before);
  await withClient(url, async (c) => {
    expect(await leftovers(c)).toEqual({ triggers: [], functions: [] });
    expect((await c.query('SELECT count(*)::int AS n FROM pgpact.migrations')).rows[0].n).toBe(0);
    const history = await c.query(
      'SELECT outcome FROM pgpact.migration_history ORDER BY finished_at DESC LIMIT 1',
    );
    expect(history.rows).toEqual([{ outcome: 'rolled_back' }]);
  });
}

describeEachServer('rollback undoes the expand at any point before complete', (server) => {
  const cases: [
    string,
    string,
    ((c: AbortController) => Pick<RunOptions, 'onStep' | 'onProgress'>) | undefined,
  ][] = [
    [
      'right after the expand DDL',
      'backfilling',
      (c) => ({ onStep: (s) => s.startsWith('backfill') && c.abort() }),
    ],
    [
      'in the middle of the backfill',
      'backfilling',
      (c) => {
        let batches = 0;
        return { onProgress: () => ++batches === 2 && c.abort() };
      },
    ],
    [
      'while validating',
      'validating',
      (c) => ({ onStep: (s) => s.startsWith('index') && c.abort() }),
    ],
    ['once active', 'active', undefined],
  ];
  for (const [label, phase, stopAt] of cases) {
    it(`${label}: schema and data as before`, async () => {
      const url = await server().createDatabase();
      await withClient(url, (c) => createShop(c, 150));
      const before = await snapshot(url);
      expect(await startUntil(url, stopAt)).toBe(phase);
      const result = await rollbackMigration(url);
      expect(result).toMatchObject({ name: 'all-operations', outcome: 'rolled-back', from: phase });
      await expectRestored(url, before);
      // A second rollback finds nothing left to do.
      expect(await rollbackMigration(url)).toMatchObject({ outcome: 'already-rolled-back' });
    });
  }

  it('an interrupted rollback resumes; a migration being completed cannot be rolled back', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createShop(c, 50));
    const before = await snapshot(url);
    await startUntil(url);
    const controller = new AbortController();
    let steps = 0;
    await expect(
      rollbackMigration(url, {
        signal: controller.signal,
        onStep: () => ++steps === 4 && controller.abort(),
      }),
    ).rejects.toThrow(/abort/i);
    await withClient(url, async (c) =>
      expect((await c.query('SELECT phase FROM pgpact.migrations')).rows).toEqual([
        { phase: 'rolling_back' },
      ]),
    );
    expect(await rollbackMigration(url)).toMatchObject({ outcome: 'rolled-back', resumed: true });
    await expectRestored(url, before);

    await startUntil(url);
    await withClient(url, (c) => c.query(`UPDATE pgpact.migrations SET phase = 'completing'`));
    await expect(rollbackMigration(url)).rejects.toMatchObject({ code: 'MIGRATION_IN_PROGRESS' });
  });
});
