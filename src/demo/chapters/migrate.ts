import path from 'node:path';
import type { Manifest } from '../../manifest/types.js';
import { completeMigration, MigrationBlockedError } from '../../migrate/complete.js';
import { loadMigration } from '../../migrate/parse.js';
import { startMigration } from '../../migrate/start.js';
import { migrationStatus } from '../../migrate/status.js';
import { withClient } from '../../postgres/client.js';
import { applyProvisioning } from '../../provision/apply.js';
import { ChapterReport } from '../chapter-report.js';
import { packageRoot } from '../example-files.js';
import type { DemoChapter, DemoContext } from '../types.js';

/** The versions of services A and B that use street and number (examples/shared-database). */
const USERS_V2 = 'users/main-v2';
const INVOICING_V2 = 'invoicing/main-v2';
/** How long an observed statement must stay unchanged between two checks (the CLI's --quiet-for). */
const QUIET_MS = 1_000;

/** The manifest with one contract's columns replaced (what a team edits in pgpact.yaml). */
function withContract(
  manifest: Manifest,
  service: string,
  table: string,
  columns: string[],
): Manifest {
  return {
    ...manifest,
    services: manifest.services.map((s) =>
      s.name !== service
        ? s
        : {
            ...s,
            reads: s.reads.map((c) =>
              `${c.schema}.${c.table}` !== table
                ? c
                : { ...c, columns, columnLocations: columns.map(() => c.location) },
            ),
          },
    ),
  };
}

async function json(
  url: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Updates an account through users and invoices it through invoicing: the billing address both services agree on. */
async function invoiceAddress(
  ctx: DemoContext,
  accountId: number,
  address: string,
): Promise<string | undefined> {
  const patched = await json(`${ctx.services.users!.url}/accounts/${accountId}`, 'PATCH', {
    street_and_number: address,
  });
  if (patched.status !== 200) return `users answered ${patched.status}`;
  const invoice = await json(`${ctx.services.invoicing!.url}/invoices`, 'POST', {
    account_id: accountId,
    amount: '12.50',
  });
  if (invoice.status !== 201) return `invoicing answered ${invoice.status}`;
  return (invoice.body.billing as { street_and_number?: string }).street_and_number;
}

/** Chapter: scenario 2 of the article, run as expand/contract with a gate that knows who still reads the old shape. */
export const migrateChapter: DemoChapter = {
  id: 'expand-contract',
  title: 'street_and_number is split while invoicing keeps working; complete waits for invoicing',
  articleQuote:
    'Maybe they come up with a mitigation strategy, maintaining the previous and the new schema for some time. This allows team B to catch up',
  async run(ctx) {
    const report = new ChapterReport();
    const migration = await loadMigration(
      path.join(packageRoot(), 'src', 'demo', 'assets', 'split-street-and-number.yaml'),
    );
    const { rows } = await withClient(ctx.adminUrl, (c) =>
      c.query<{ id: string }>('SELECT min(id)::text AS id FROM users.account'),
    );
    const accountId = Number(rows[0]!.id);
    const windows: [number, number][] = [];
    let from = Date.now();

    // Expand: both shapes live, kept in sync; the backfill runs under the steady traffic.
    ctx.progress('pgpact migrate start split-street-and-number.yaml');
    const began = performance.now();
    const started = await startMigration(ctx.adminUrl, migration, { signal: ctx.signal });
    const seconds = (performance.now() - began) / 1000;
    const rowsDone = started.backfill.reduce((n, b) => n + b.rowsDone, 0);
    report.did(
      'team A started the split: street and number added, sync triggers installed, existing rows backfilled in batches',
    );
    report.measured(
      `start: ${rowsDone} rows backfilled, ${seconds.toFixed(2)} s with the traffic running`,
      {
        name: 'start',
        value: { rows: rowsDone, seconds: Number(seconds.toFixed(3)), phase: started.phase },
      },
    );
    report.expect(started.phase === 'active', `start ended in phase ${started.phase}`);

    // Team A deploys users v2, which writes street and number only; invoicing v1 still reads street_and_number.
    windows.push([from, Date.now()]);
    ctx.progress('restarting users as v2 (writes street and number)');
    await ctx.restartService('users', { entry: USERS_V2 });
    from = Date.now();
    report.did('users v2 deployed: it writes street and number, never street_and_number');
    const synced = await invoiceAddress(ctx, accountId, 'Neue Gasse 7');
    report.measured(
      `invoicing v1 billed an address users v2 wrote to the new columns as "${synced}"`,
      {
        name: 'oldReaderSees',
        value: synced ?? null,
      },
    );
    report.expect(
      synced === 'Neue Gasse 7',
      `invoicing v1 did not see the address users v2 wrote: ${synced}`,
    );

    // The gate: a status records the statements seen; after a quiet period, complete is asked.
    await migrationStatus(ctx.adminUrl, { manifest: ctx.manifest, quietForMs: QUIET_MS });
    await ctx.sleep(QUIET_MS + 500);
    let refused: MigrationBlockedError | undefined;
    try {
      await completeMigration(ctx.adminUrl, {
        manifest: ctx.manifest,
        quietForMs: QUIET_MS,
        signal: ctx.signal,
      });
    } catch (error) {
      if (!(error instanceof MigrationBlockedError)) throw error;
      refused = error;
    }
    const blockers =
      refused?.uses.map((u) => `${u.service ?? `role ${u.role}`} (${u.source})`) ?? [];
    report.measured(`complete refused: ${blockers.join(', ') || 'not refused'}`, {
      name: 'refusedBy',
      value: blockers,
    });
    for (const change of new Set(refused?.uses.map((u) => u.change) ?? []))
      report.measured(`  needs: ${change}`);
    report.expect(
      refused !== undefined,
      'complete was not refused while invoicing v1 reads street_and_number',
    );
    report.expect(
      blockers.includes('invoicing (declared)') && blockers.includes('invoicing (observed)'),
      'complete did not name invoicing, declared and observed',
    );
    report.expect(
      refused?.uses.every((u) => u.service === 'invoicing') ?? false,
      `complete named others than invoicing: ${blockers.join(', ')}`,
    );

    // Team B: grants for both shapes while it switches, invoicing v2, then the contract without the old column.
    const contract = ctx.manifest.services
      .find((s) => s.name === 'invoicing')
      ?.reads.find((c) => `${c.schema}.${c.table}` === 'users.account');
    const oldColumns = contract && contract.columns !== '*' ? contract.columns : [];
    const newColumns = oldColumns.flatMap((c) =>
      c === 'street_and_number' ? ['street', 'number'] : [c],
    );
    const transition = withContract(ctx.manifest, 'invoicing', 'users.account', [
      ...new Set([...oldColumns, ...newColumns]),
    ]);
    const finalManifest = withContract(ctx.manifest, 'invoicing', 'users.account', newColumns);
    ctx.progress('pgpact apply: invoicing may read street and number too');
    await applyProvisioning(ctx.adminUrl, transition, { stateDir: ctx.stateDir });
    windows.push([from, Date.now()]);
    ctx.progress('restarting invoicing as v2 (reads street and number)');
    await ctx.restartService('invoicing', { entry: INVOICING_V2 });
    from = Date.now();
    report.did(
      `invoicing v2 deployed; its contract now reads users.account [${newColumns.join(', ')}]`,
    );
    const v2Sees = await invoiceAddress(ctx, accountId, 'Alte Allee 12');
    report.expect(
      v2Sees === 'Alte Allee 12',
      `invoicing v2 billed "${v2Sees}" instead of "Alte Allee 12"`,
    );

    await migrationStatus(ctx.adminUrl, { manifest: finalManifest, quietForMs: QUIET_MS });
    await ctx.sleep(QUIET_MS + 500);
    const completed = await completeMigration(ctx.adminUrl, {
      manifest: finalManifest,
      quietForMs: QUIET_MS,
      signal: ctx.signal,
    });
    ctx.progress('pgpact apply: the contract without street_and_number');
    await applyProvisioning(ctx.adminUrl, finalManifest, { stateDir: ctx.stateDir });
    windows.push([from, Date.now()]);
    report.measured(
      `complete: ${completed.outcome}; street_and_number, the sync trigger and the bookkeeping are gone`,
      {
        name: 'completed',
        value: completed.outcome,
      },
    );
    const columns = await withClient(ctx.adminUrl, (c) =>
      c.query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'users.account'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      ),
    );
    report.expect(
      !columns.rows.some((r) => r.name === 'street_and_number'),
      'street_and_number is still there after complete',
    );
    const after = await invoiceAddress(ctx, accountId, 'Am Markt 3');
    report.expect(after === 'Am Markt 3', `after complete, invoicing billed "${after}"`);

    // The traffic ran all along; restarts aside, nothing failed.
    const errors = windows.reduce((n, [a, b]) => n + ctx.traffic.stats(a, b).total.errors, 0);
    const requests = windows.reduce((n, [a, b]) => n + ctx.traffic.stats(a, b).total.requests, 0);
    report.measured(
      `traffic during the migration (restarts aside): ${requests} requests, ${errors} errors`,
      {
        name: 'traffic',
        value: { requests, errors },
      },
    );
    report.expect(errors === 0, `${errors} requests failed during the migration`);
    return report.result();
  },
};
