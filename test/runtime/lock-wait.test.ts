import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { RuntimeMonitor } from '../../src/runtime/monitor.js';
import { describeEachServer } from '../helpers/postgres.js';
import { closeAll, createLoginRole, manifestOf, openAs, waitFor } from './helpers.js';

// Service A (users) and service B (invoicing) of the article share one table; names
// are deliberately awkward: a role with a space and capitals, a quoted schema and table.
describeEachServer('lock waits name the waiting and the holding service', (server) => {
  it('invoicing idles in a transaction holding a row lock; users waits for it', async () => {
    const db = await server().createDatabase('locks');
    await withClient(db, (c) =>
      c.query(`
        CREATE SCHEMA "Users";
        CREATE TABLE "Users"."Account" (id int PRIMARY KEY, "Näme" text);
        INSERT INTO "Users"."Account" VALUES (1, 'Ada'), (2, 'Grace');`),
    );
    const usersUrl = await createLoginRole(db, 'Users Svc');
    const invoicingUrl = await createLoginRole(db, 'invoicing_rw');
    const strayUrl = await createLoginRole(db, 'batch_job');
    await withClient(db, (c) =>
      c.query(`GRANT USAGE ON SCHEMA "Users" TO "Users Svc", invoicing_rw, batch_job;
               GRANT SELECT, UPDATE ON "Users"."Account" TO "Users Svc", invoicing_rw, batch_job;`),
    );
    const manifest = manifestOf({ users: 'Users Svc', invoicing: 'invoicing_rw' });
    const monitorClient = await openAs(db, 'pgpact test');
    const users = await openAs(usersUrl, 'users-api');
    const invoicing = await openAs(invoicingUrl, 'invoicing-worker');
    const stray = await openAs(strayUrl, 'cron');
    try {
      const monitor = await RuntimeMonitor.create(monitorClient, { manifest });
      await monitor.tick();
      await invoicing.query('BEGIN');
      await invoicing.query(`UPDATE "Users"."Account" SET "Näme" = 'Ada L.' WHERE id = 1`);
      const blocked = users
        .query(`UPDATE "Users"."Account" SET "Näme" = 'Ada Lovelace' WHERE id = 1`)
        .catch((e: Error) => e);
      await waitFor(async () =>
        (await monitor.tick()).sample.lockWaits.length === 1 ? true : undefined,
      );
      const queued = stray
        .query(`UPDATE "Users"."Account" SET "Näme" = 'A.' WHERE id = 1`)
        .catch((e: Error) => e);
      const report = await waitFor(
        async () => {
          const r = await monitor.tick();
          const ready =
            r.sample.lockWaits.length === 2 && r.sample.lockWaits.every((w) => w.waitedMs >= 1000);
          return ready ? r : undefined;
        },
        15_000,
        'two lock waits of a second',
      );

      // The first waiter waits for invoicing's transaction on the row; the second for the first.
      const onInvoicing = report.sample.lockWaits.find((w) =>
        w.holding.some((h) => h.service === 'invoicing'),
      )!;
      expect(onInvoicing.waiting).toMatchObject({
        service: 'users',
        attribution: 'manifest-role',
        role: 'Users Svc',
      });
      expect(onInvoicing.holding).toHaveLength(1);
      expect(onInvoicing.holding[0]).toMatchObject({
        service: 'invoicing',
        role: 'invoicing_rw',
        applicationName: 'invoicing-worker',
        state: 'idle in transaction',
      });
      expect(onInvoicing.object).toMatchObject({
        kind: 'row',
        schema: 'Users',
        relation: 'Account',
        tuple: '(0,1)',
      });
      expect(onInvoicing.object.description).toMatch(/^row \(0,1\) of "Users"\."Account"/);
      expect(onInvoicing.waitedMs).toBeGreaterThanOrEqual(1000);
      const onUsers = report.sample.lockWaits.find((w) => w !== onInvoicing)!;
      expect(onUsers.waiting).toMatchObject({ service: 'batch_job', attribution: 'unknown-role' });
      expect(onUsers.holding.map((h) => h.service)).toEqual(['users']);

      const byKind = (kind: string) => report.findings.filter((f) => f.kind === kind);
      const lockWait = byKind('lock-wait').find((f) =>
        f.parties.some((p) => p.service === 'invoicing'),
      )!;
      expect(lockWait.severity).toBe('warning');
      expect(lockWait.parties.map((p) => [p.service, p.as])).toEqual([
        ['users', 'waiting'],
        ['invoicing', 'holding'],
      ]);
      expect(lockWait.message).toContain('users (pid');
      expect(lockWait.message).toContain('invoicing (pid');
      const blocker = byKind('idle-in-transaction-blocker');
      expect(blocker).toHaveLength(1);
      expect(blocker[0]!.parties.map((p) => [p.service, p.as])).toEqual([
        ['invoicing', 'holding'],
        ['users', 'waiting'],
      ]);
      expect(blocker[0]!.message).toMatch(
        /invoicing \(pid \d+\) is idle in a transaction open for [\d.]+ s/,
      );
      // The unknown role is named as such, not silently dropped.
      expect(byKind('lock-wait').some((f) => f.message.includes('unknown role "batch_job"'))).toBe(
        true,
      );

      const usersRow = report.sample.services.find((s) => s.service === 'users')!;
      expect(usersRow.waiting).toBe(1);
      expect(
        report.sample.services.find((s) => s.service === 'invoicing')!.connections
          .idleInTransaction,
      ).toBe(1);

      await invoicing.query('COMMIT');
      expect(await blocked).not.toBeInstanceOf(Error);
      expect(await queued).not.toBeInstanceOf(Error);
      const after = await monitor.tick();
      expect(after.sample.lockWaits).toEqual([]);
      expect(after.findings.filter((f) => f.kind === 'idle-in-transaction-blocker')).toEqual([]);
      expect(after.sample.services.find((s) => s.service === 'users')!.totals.lockWaits).toBe(1);
    } finally {
      await closeAll([users, invoicing, stray, monitorClient]);
    }
  });

  it('names a relation lock (ALTER TABLE waits for a reader)', async () => {
    const db = await server().createDatabase('rel');
    await withClient(db, (c) => c.query('CREATE TABLE ledger (id int)'));
    const readerUrl = await createLoginRole(db, 'reader_svc');
    await withClient(db, (c) => c.query('GRANT SELECT ON ledger TO reader_svc'));
    const monitorClient = await openAs(db, 'pgpact test');
    const reader = await openAs(readerUrl, 'reader');
    const admin = await openAs(db, 'migration');
    try {
      const monitor = await RuntimeMonitor.create(monitorClient);
      await reader.query('BEGIN');
      await reader.query('SELECT * FROM ledger');
      const alter = admin.query('ALTER TABLE ledger ADD COLUMN note text').catch((e: Error) => e);
      const report = await waitFor(async () => {
        const r = await monitor.tick();
        return r.sample.lockWaits.length > 0 ? r : undefined;
      });
      const wait = report.sample.lockWaits[0]!;
      expect(wait.object).toMatchObject({ kind: 'relation', schema: 'public', relation: 'ledger' });
      expect(wait.mode).toBe('AccessExclusiveLock');
      expect(wait.waiting.service).toBe('postgres');
      expect(wait.holding.map((h) => [h.service, h.state])).toEqual([
        ['reader_svc', 'idle in transaction'],
      ]);
      await reader.query('ROLLBACK');
      await alter;
    } finally {
      await closeAll([reader, admin, monitorClient]);
    }
  });
});
