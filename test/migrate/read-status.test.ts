import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import type { OldShapeUse } from '../../src/migrate/consumers.js';
import { loadMigration } from '../../src/migrate/parse.js';
import {
  backfillRate,
  OldShapeStatementCache,
  readMigrationHistory,
  readMigrationStatus,
} from '../../src/migrate/read-status.js';
import { rollbackMigration } from '../../src/migrate/rollback.js';
import { startMigration } from '../../src/migrate/start.js';
import { migrationStatus } from '../../src/migrate/status.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { migrationView } from '../../src/server/migrations-section.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createAccounts, createShop, fixture } from './helpers.js';
import { tempDir } from '../helpers/temp-dir.js';

const MANIFEST = `version: 1
services:
  users:
    owns: [users]
  invoicing:
    reads:
      users.account: [id, name, street_and_number, zip]
  reporting:
    reads:
      users.account: [id, zip]
`;

function manifest() {
  const dir = tempDir('pgpact-read-status-');
  const file = path.join(dir, 'pgpact.yaml');
  fs.writeFileSync(file, MANIFEST);
  return parseManifest(MANIFEST, file);
}

/** A login role like the dashboard's: pg_monitor, read-only by default, optionally SELECT on pgpact. */
async function monitorRole(url: string, role: string, grantPgpact: boolean): Promise<string> {
  await withClient(url, async (c) => {
    await c.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
    await c.query(
      `GRANT pg_monitor TO ${role}; ALTER ROLE ${role} SET default_transaction_read_only = on`,
    );
    if (grantPgpact)
      await c.query(
        `GRANT USAGE ON SCHEMA pgpact TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA pgpact TO ${role}`,
      );
  });
  return urlWith(url, { user: role, password: `pw-${role}` });
}

async function bookkeepingRow(url: string) {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      'SELECT phase, updated_at, observations, backfill FROM pgpact.migrations',
    );
    return rows[0];
  });
}

async function addConsumerRole(url: string, role: string): Promise<string> {
  await withClient(url, (c) =>
    c.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}';
             GRANT USAGE ON SCHEMA users TO ${role}; GRANT SELECT ON users.account TO ${role}`),
  );
  return urlWith(url, { user: role, password: `pw-${role}` });
}

describeEachServer('reading a migration without writing (readMigrationStatus)', (server) => {
  it('mid-backfill, as a read-only monitoring role: phase, rows done of total, percent, rate, both shapes, declared readers; stores nothing', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 1000));
    const migration = await loadMigration(fixture('split-street.yaml'));
    const stopAfter = async (batches: number) => {
      const abort = new AbortController();
      let seen = 0;
      await startMigration(url, migration, {
        batchSize: 100,
        signal: abort.signal,
        onProgress: () => {
          seen += 1;
          if (seen === batches) abort.abort();
        },
      }).catch((error: Error) => {
        if (!abort.signal.aborted) throw error;
      });
    };
    await stopAfter(3);
    const reader = await monitorRole(url, 'status_reader', true);
    const before = await bookkeepingRow(url);
    expect(before?.phase).toBe('backfilling');

    const first = await withClient(reader, (c) =>
      readMigrationStatus(c, { manifest: manifest(), quietForMs: 0 }),
    );
    expect(first).toMatchObject({
      name: 'split-street-and-number',
      phase: 'backfilling',
      services: ['users'],
      oldShape: ['users.account.street_and_number'],
      newShape: ['users.account.street', 'users.account.number'],
      canComplete: false,
      declared: true,
      observation: { available: true },
    });
    expect(first!.backfill).toMatchObject({
      rowsDone: 300,
      rowsTotal: 1000,
      percent: 30,
      done: false,
    });
    // The backfill's own rate over its last minute, saved with its progress: known from the first reading.
    expect(first!.backfill.rowsPerSecond).toBeGreaterThan(0);
    expect(first!.backfill.throttledMs).toBe(0);
    expect(first!.uses.map((u) => [u.service, u.source, u.change])).toEqual([
      [
        'invoicing',
        'declared',
        'invoicing: change reads users.account from [id, name, street_and_number, zip] to [id, name, street, number, zip]',
      ],
    ]);
    // The role's sessions are read-only: any write would have failed. And nothing moved.
    expect(await bookkeepingRow(url)).toEqual(before);

    // Resumed for two more batches: the rate comes from the batches' commit times.
    await stopAfter(2);
    const second = await withClient(reader, (c) =>
      readMigrationStatus(c, { manifest: manifest(), previous: first! }),
    );
    expect(second!.backfill).toMatchObject({ rowsDone: 500, percent: 50 });
    expect(second!.backfill.rowsPerSecond).toBeGreaterThan(0);
    // With no batch since, the rate holds for a while, then is dropped; the dashboard flags the silence.
    const lastBatch = Date.parse(second!.updatedAt);
    expect(backfillRate(second, second!, lastBatch + 5_000)).toBe(second!.backfill.rowsPerSecond);
    expect(backfillRate(second, second!, lastBatch + 31_000)).toBeUndefined();
    expect(migrationView(second!, new Map(), lastBatch + 5_000).backfill?.stalled).toBe(false);
    expect(migrationView(second!, new Map(), lastBatch + 61_000).backfill?.stalled).toBe(true);

    await startMigration(url, migration);
    const active = await withClient(reader, (c) => readMigrationStatus(c));
    expect(active).toMatchObject({ phase: 'active', declared: false, services: [] });
    expect(active!.backfill).toMatchObject({ rowsDone: 1000, percent: 100, done: true });
  });

  it('observed: a role reading the old column since start is listed with the change it needs; quiet is judged on the counts status stored', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 50));
    const billing = await addConsumerRole(url, 'billing_job');
    // Before start: in the baseline, not observed.
    await withClient(billing, (c) =>
      c.query('SELECT street_and_number FROM users.account WHERE id = $1', [1]),
    );
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    for (let i = 0; i < 4; i++) {
      await withClient(billing, (c) =>
        c.query('SELECT id, street_and_number FROM users.account WHERE id = $1', [i + 1]),
      );
    }
    const reader = await monitorRole(url, 'observed_reader', true);
    const cache = new OldShapeStatementCache();
    const read = () =>
      withClient(reader, (c) =>
        readMigrationStatus(c, { manifest: manifest(), quietForMs: 0, cache }),
      );
    const first = await read();
    const observed = first!.uses.filter((u) => u.source === 'observed');
    expect(observed.map((u) => [u.service, u.role, u.access, u.blocking, u.change])).toEqual([
      [
        undefined,
        'billing_job',
        'read',
        true,
        'role billing_job: deploy a version that uses street, number instead of street_and_number',
      ],
    ]);
    expect(observed[0]!.statement).toMatchObject({ callsSinceStart: 4 });
    expect(observed[0]!.statement!.query).toContain('street_and_number');
    expect((await bookkeepingRow(url))?.observations).toEqual({});

    // Cached analyses still follow the counts.
    await withClient(billing, (c) =>
      c.query('SELECT id, street_and_number FROM users.account WHERE id = $1', [7]),
    );
    const again = await read();
    expect(again!.uses.find((u) => u.role === 'billing_job')!.statement!.callsSinceStart).toBe(5);

    // status stores the counts; unchanged since, with no quiet period, the reader sees it quiet too.
    await migrationStatus(url, { manifest: manifest(), quietForMs: 0 });
    const quiet = await read();
    expect(quiet!.uses.find((u) => u.role === 'billing_job')!.blocking).toBe(false);
    expect(quiet!.canComplete).toBe(false); // invoicing's contract still names the old column
  });

  it('no bookkeeping yet: no migration and no history; bookkeeping it may not read: INSUFFICIENT_PRIVILEGE with the grant', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createAccounts(c, 10));
    const plain = await monitorRole(url, 'plain_reader', false);
    await withClient(plain, async (c) => {
      expect(await readMigrationStatus(c)).toBeUndefined();
      expect(await readMigrationHistory(c)).toEqual([]);
    });
    await startMigration(url, await loadMigration(fixture('split-street.yaml')));
    await withClient(plain, async (c) => {
      await expect(readMigrationStatus(c)).rejects.toMatchObject({
        code: 'INSUFFICIENT_PRIVILEGE',
        message: 'role plain_reader may not read pgpact.migrations, where migrations are recorded',
        hint: 'GRANT USAGE ON SCHEMA pgpact TO "plain_reader"; GRANT SELECT ON ALL TABLES IN SCHEMA pgpact TO "plain_reader";',
      });
    });
    await rollbackMigration(url);
    const reader = await monitorRole(url, 'history_reader', true);
    await withClient(reader, async (c) => {
      expect(await readMigrationStatus(c)).toBeUndefined();
      const history = await readMigrationHistory(c);
      expect(history).toEqual([
        expect.objectContaining({
          name: 'split-street-and-number',
          outcome: 'rolled_back',
          forcedPast: [],
        }),
      ]);
    });
  });
});

describeEachServer('readMigrationStatus agrees with migrationStatus', (server) => {
  it('on every operation, with quoted, spaced and non-ASCII names of tables, columns, services and roles', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => createShop(c, 20));
    const text = `version: 1
services:
  shop:
    owns: [shop]
  Kundendienst:
    role: kundendienst
    reads:
      'shop."Address Book"': [id, "Straße und Nummer"]
      shop.customer: "*"
`;
    const dir = tempDir('pgpact-read-status-');
    const shopManifest = parseManifest(text, path.join(dir, 'pgpact.yaml'));
    await withClient(url, (c) =>
      c.query(`DROP ROLE IF EXISTS "Bericht Job"; CREATE ROLE "Bericht Job" LOGIN PASSWORD 'pw';
               GRANT USAGE ON SCHEMA shop TO "Bericht Job"; GRANT SELECT ON ALL TABLES IN SCHEMA shop TO "Bericht Job"`),
    );
    await startMigration(url, await loadMigration(fixture('all-operations.yaml')));
    await withClient(urlWith(url, { user: 'Bericht Job', password: 'pw' }), async (c) => {
      await c.query('SELECT "Straße und Nummer" FROM shop."Address Book" WHERE id = $1', [1]);
      await c.query('SELECT fax, zip FROM shop.customer WHERE id = $1', [1]);
    });
    const reader = await monitorRole(url, 'agree_reader', true);
    const read = await withClient(reader, (c) =>
      readMigrationStatus(c, { manifest: shopManifest, quietForMs: 0 }),
    );
    // migrationStatus stores the counts it saw; read first, then compare with what it reports.
    const status = await migrationStatus(url, { manifest: shopManifest, quietForMs: 0 });
    const strip = (uses: OldShapeUse[]) =>
      uses.map((u) => ({
        ...u,
        // Both judge "now" a few milliseconds apart.
        statement: u.statement && { ...u.statement, lastChangeSeenAt: '', quietUntil: '' },
      }));
    expect(strip(read!.uses)).toEqual(strip(status!.consumers.uses));
    expect(read!.uses.map((u) => [u.service ?? u.role, u.source])).toEqual([
      ['Kundendienst', 'declared'],
      ['Kundendienst', 'declared'],
      ['Bericht Job', 'observed'],
      ['Bericht Job', 'observed'],
    ]);
    expect(read!.oldShape).toEqual(
      expect.arrayContaining([
        'shop.customer.fax',
        'shop.customer.fullname',
        'shop.customer.first',
        'shop.customer.last',
        'shop.customer.zip',
        'shop.Address Book.Straße und Nummer',
      ]),
    );
    expect(read!.newShape).toEqual(
      expect.arrayContaining([
        'shop.review.*',
        'shop.customer.tier',
        'shop.customer.email_lower',
        'shop.customer.display_name',
        'shop.customer.full_name',
        'shop.customer.zip',
        'shop.Address Book.Straße',
        'shop.Address Book.Nummer',
      ]),
    );
    expect(read!.canComplete).toBe(status!.canComplete);
    expect(read!.backfill.tables.map((t) => [t.table.name, t.done])).toEqual([
      ['customer', true],
      ['Address Book', true],
    ]);
  });
});
