import path from 'node:path';
import type { Manifest } from '../../manifest/types.js';
import { completeMigration, MigrationBlockedError } from '../../migrate/complete.js';
import { loadMigration } from '../../migrate/parse.js';
import { rollbackMigration } from '../../migrate/rollback.js';
import { startMigration } from '../../migrate/start.js';
import { migrationStatus } from '../../migrate/status.js';
import type { Migration, Operation } from '../../migrate/types.js';
import { withClient } from '../../postgres/client.js';
import { quoteIdent, quoteQualified } from '../../postgres/quote.js';
import { applyProvisioning } from '../../provision/apply.js';
import { ChapterReport } from '../chapter-report.js';
import { packageRoot } from '../example-files.js';
import type { DemoChapter, DemoContext, Figure, Handover } from '../types.js';

/** The versions of services A and B that use street and number (examples/shared-database). */
const USERS_V2 = 'users/main-v2';
const INVOICING_V2 = 'invoicing/main-v2';
/** How long an observed statement must stay unchanged between two checks (the CLI's --quiet-for). */
const QUIET_MS = 1_000;

type Split = Extract<Operation, { op: 'split_column' }>;

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

/** Changes an account's address through users, invoices it through invoicing: the billing address line. */
async function invoiceAddress(
  ctx: DemoContext,
  accountId: number,
  address: Record<string, string>,
): Promise<string | undefined> {
  const patched = await json(`${ctx.services.users!.url}/accounts/${accountId}`, 'PATCH', address);
  if (patched.status !== 200) return `users answered ${patched.status}`;
  const invoice = await json(`${ctx.services.invoicing!.url}/invoices`, 'POST', {
    account_id: accountId,
    amount: '12.50',
  });
  if (invoice.status !== 201) return `invoicing answered ${invoice.status}`;
  return (invoice.body.billing as { street_and_number?: string }).street_and_number;
}

/** Rows of the split table whose old column differs from `down` over the new ones (or whose new ones are NULL). */
async function outOfSync(
  ctx: DemoContext,
  split: Split,
): Promise<{ rows: number; differ: number }> {
  const table = quoteQualified(split.table.schema, split.table.name);
  const missing = split.to.map((c) => `${quoteIdent(c.name)} IS NULL`).join(' OR ');
  const { rows } = await withClient(ctx.adminUrl, (c) =>
    c.query<{ rows: number; differ: number }>(
      `SELECT count(*)::int AS rows,
              count(*) FILTER (WHERE ${missing} OR ${quoteIdent(split.from)} IS DISTINCT FROM (${split.down}))::int AS differ
       FROM ${table}`,
    ),
  );
  return rows[0]!;
}

const oneLine = (sql: string, max = 80) => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

/** One stretch of the story with the traffic running: its label and window. */
interface Stretch {
  label: string;
  from: number;
  to: number;
  /** A service was deployed in this stretch (new instance up, traffic moved, old drained). */
  restart?: { service: string; handover: Handover };
}

/** Requests and errors per service in a stretch, as one printable line and a figure. */
function trafficLine(
  ctx: DemoContext,
  s: Stretch,
): { line: string; requests: number; errors: number } {
  const stats = ctx.traffic.stats(s.from, s.to);
  const parts = Object.entries(stats.services).map(
    ([name, x]) => `${name} ${x.requests}${x.errors > 0 ? ` (${x.errors} failed)` : ''}`,
  );
  return {
    line: `${s.label} (${((s.to - s.from) / 1000).toFixed(1)} s): ${parts.join(', ')}`,
    requests: stats.total.requests,
    errors: stats.total.errors,
  };
}

/** Puts v1 back and rolls the expand back, after a failure before complete: later chapters see the system as it was. */
async function restore(ctx: DemoContext, replaced: string[]): Promise<void> {
  await applyProvisioning(ctx.adminUrl, ctx.manifest, { stateDir: ctx.stateDir });
  for (const name of replaced) await ctx.restartService(name);
  await rollbackMigration(ctx.adminUrl);
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
    const split = migration.operations.find((o): o is Split => o.op === 'split_column');
    if (!split) throw new Error(`${migration.name} has no split_column`);
    const { rows } = await withClient(ctx.adminUrl, (c) =>
      c.query<{ id: string }>('SELECT min(id)::text AS id FROM users.account'),
    );
    const accountId = Number(rows[0]!.id);
    const replaced: string[] = [];
    let completed = false;
    try {
      const stretches = await tellStory(ctx, report, migration, split, accountId, replaced, () => {
        completed = true;
      });
      reportTraffic(ctx, report, stretches);
    } catch (error) {
      if (!completed && replaced.length > 0) {
        ctx.progress('putting users and invoicing v1 back, rolling the migration back');
        await restore(ctx, replaced).catch(() => undefined);
      } else if (!completed) await rollbackMigration(ctx.adminUrl).catch(() => undefined);
      throw error;
    }
    return report.result();
  },
};

/** The story itself; returns the stretches of traffic it ran through. */
async function tellStory(
  ctx: DemoContext,
  report: ChapterReport,
  migration: Migration,
  split: Split,
  accountId: number,
  replaced: string[],
  onCompleted: () => void,
): Promise<Stretch[]> {
  const stretches: Stretch[] = [];
  let from = Date.now();
  const stretch = (label: string, restart?: Stretch['restart']) => {
    const to = Date.now();
    stretches.push({ label, from, to, ...(restart ? { restart } : {}) });
    from = to;
  };
  const restart = async (name: string, entry: string) => {
    // The stretch before ended just now: the deploy's window starts with the new process.
    const { handover } = await ctx.restartService(name, { entry });
    replaced.push(name);
    stretch(`${name} deployed as v2`, { service: name, handover });
  };
  const newColumns = split.to.map((c) => c.name);

  // Expand: both shapes live, kept in sync; the backfill runs under the steady traffic.
  ctx.progress(`pgpact migrate start ${migration.name}.yaml`);
  const began = performance.now();
  const started = await startMigration(ctx.adminUrl, migration, { signal: ctx.signal });
  const seconds = (performance.now() - began) / 1000;
  const rowsDone = started.backfill.reduce((n, b) => n + b.rowsDone, 0);
  stretch('migrate start (expand, backfill)');
  report.did(
    `team A started the split: ${newColumns.join(' and ')} added, a sync trigger keeps both shapes equal, existing rows backfilled in batches`,
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
  ctx.progress('restarting users as v2 (writes street and number)');
  await restart('users', USERS_V2);
  report.did('users v2 deployed: it writes street and number, never street_and_number');
  const synced = await invoiceAddress(ctx, accountId, { street: 'Neue Gasse', number: '7' });
  report.measured(
    `users v2 wrote street "Neue Gasse", number "7"; invoicing v1 billed "${synced}" (read from street_and_number)`,
    { name: 'oldReaderSees', value: synced ?? null },
  );
  report.expect(
    synced === 'Neue Gasse 7',
    `invoicing v1 did not see the address users v2 wrote: ${synced}`,
  );

  // Checked before the gate's first look: the check's own read of the old column is then quiet.
  const sync = await outOfSync(ctx, split);
  report.measured(
    `both shapes agree: ${sync.rows - sync.differ} of ${sync.rows} rows have ${split.from} = ${split.down}`,
    { name: 'outOfSync', value: sync.differ },
  );
  report.expect(sync.differ === 0, `${sync.differ} rows have ${split.from} out of sync`);
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
    onCompleted();
  } catch (error) {
    if (!(error instanceof MigrationBlockedError)) throw error;
    refused = error;
  }
  const blockers = refused?.uses.map((u) => `${u.service ?? `role ${u.role}`} (${u.source})`) ?? [];
  report.measured(`complete refused: ${blockers.join(', ') || 'not refused'}`, {
    name: 'refusedBy',
    value: blockers,
  });
  for (const use of refused?.uses ?? []) {
    const how =
      use.source === 'observed' && use.statement
        ? `${use.statement.callsSinceStart} calls since start of ${oneLine(use.statement.query)}`
        : (use.location ?? use.source);
    report.measured(`  ${use.service ?? `role ${use.role}`} (${use.source}): ${how}`);
  }
  for (const change of new Set(refused?.uses.map((u) => u.change) ?? []))
    report.measured(`  needs: ${change}`);
  const unaffected = refused?.assessment.unaffected ?? [];
  report.measured(
    `not in the way: ${unaffected.map((u) => `${u.service} (reads ${u.table}, not ${split.from})`).join(', ') || 'nobody'}`,
    { name: 'unaffected', value: unaffected.map((u) => u.service) },
  );
  report.expect(
    refused !== undefined,
    `complete was not refused while invoicing v1 reads ${split.from}`,
  );
  report.expect(
    blockers.includes('invoicing (declared)') && blockers.includes('invoicing (observed)'),
    'complete did not name invoicing, declared and observed',
  );
  report.expect(
    refused?.uses.every((u) => u.service === 'invoicing') ?? false,
    `complete named others than invoicing: ${blockers.join(', ')}`,
  );
  if (!refused) return stretches;

  // Team B: grants for both shapes while it switches, invoicing v2, then the contract without the old column.
  const contract = ctx.manifest.services
    .find((s) => s.name === 'invoicing')
    ?.reads.find((c) => c.schema === split.table.schema && c.table === split.table.name);
  const table = `${split.table.schema}.${split.table.name}`;
  const oldColumns = contract && contract.columns !== '*' ? contract.columns : [];
  const contractColumns = oldColumns.flatMap((c) => (c === split.from ? newColumns : [c]));
  const transition = withContract(ctx.manifest, 'invoicing', table, [
    ...new Set([...oldColumns, ...contractColumns]),
  ]);
  const finalManifest = withContract(ctx.manifest, 'invoicing', table, contractColumns);
  ctx.progress(`pgpact apply: invoicing may read ${newColumns.join(' and ')} too`);
  await applyProvisioning(ctx.adminUrl, transition, { stateDir: ctx.stateDir });
  stretch('users v2 writes the new columns, invoicing v1 reads the old one');
  ctx.progress('restarting invoicing as v2 (reads street and number)');
  await restart('invoicing', INVOICING_V2);
  report.did(
    `invoicing v2 deployed with its contract changed to ${table} [${contractColumns.join(', ')}] (pgpact apply granted the new columns first)`,
  );
  const v2Sees = await invoiceAddress(ctx, accountId, { street_and_number: 'Alte Allee 12' });
  report.measured(
    `users v2 split "Alte Allee 12" sent the old way; invoicing v2 billed "${v2Sees}" (read from ${newColumns.join(' and ')})`,
    { name: 'newReaderSees', value: v2Sees ?? null },
  );
  report.expect(
    v2Sees === 'Alte Allee 12',
    `invoicing v2 billed "${v2Sees}" instead of "Alte Allee 12"`,
  );

  await migrationStatus(ctx.adminUrl, { manifest: finalManifest, quietForMs: QUIET_MS });
  await ctx.sleep(QUIET_MS + 500);
  ctx.progress('pgpact migrate complete');
  const done = await completeMigration(ctx.adminUrl, {
    manifest: finalManifest,
    quietForMs: QUIET_MS,
    signal: ctx.signal,
  });
  onCompleted();
  ctx.progress(`pgpact apply: the contract without ${split.from}`);
  await applyProvisioning(ctx.adminUrl, finalManifest, { stateDir: ctx.stateDir });
  const columns = await withClient(ctx.adminUrl, (c) =>
    c.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [quoteQualified(split.table.schema, split.table.name)],
    ),
  );
  const names = columns.rows.map((r) => r.name);
  report.measured(`complete: ${done.outcome}; ${table} now has ${names.join(', ')}`, {
    name: 'completed',
    value: { outcome: done.outcome, columns: names },
  });
  report.expect(!names.includes(split.from), `${split.from} is still there after complete`);
  const after = await invoiceAddress(ctx, accountId, { street: 'Am Markt', number: '3' });
  report.expect(after === 'Am Markt 3', `after complete, invoicing billed "${after}"`);
  stretch('invoicing v2 reads the new columns, complete');
  return stretches;
}

/** The traffic through the migration: requests and errors per stretch, each deploy's window on its own line. */
function reportTraffic(ctx: DemoContext, report: ChapterReport, stretches: Stretch[]): void {
  let requests = 0;
  let errors = 0;
  const failures: string[] = [];
  const deploys: Record<string, Figure>[] = [];
  for (const s of stretches) {
    const t = trafficLine(ctx, s);
    requests += t.requests;
    errors += t.errors;
    for (const e of ctx.traffic.stats(s.from, s.to).recentErrors) {
      failures.push(
        `${e.service} ${e.operation} ${e.status === 0 ? 'no answer' : e.status}: ${e.message} (${s.label})`,
      );
    }
    if (!s.restart) {
      report.measured(`traffic, ${t.line}`);
      continue;
    }
    const { service, handover: h } = s.restart;
    const served = ctx.traffic.stats(s.from, s.to).services[service]!;
    report.measured(
      `traffic, ${t.line}; ${service}: new instance ready in ${h.readyMs} ms, traffic moved, ` +
        `${h.inFlightAtSwitch} in flight finished on the old one, which drained in ${h.drainMs} ms (exit ${h.oldExitCode})`,
    );
    deploys.push({
      service,
      requests: t.requests,
      errors: t.errors,
      serviceRequests: served.requests,
      serviceErrors: served.errors,
      ...h,
    });
    report.expect(
      t.errors === 0,
      `${t.errors} requests failed while ${service} was deployed: ${failures.slice(-5).join('; ')}`,
    );
    report.expect(
      served.requests > 0,
      `no request reached ${service} while it was deployed: the deploy window is not covered`,
    );
    report.expect(
      h.oldExitCode === 0,
      `the old ${service} did not drain by itself (exit ${h.oldExitCode})`,
    );
  }
  report.measured(
    `traffic during the migration, deploys included: ${requests} requests, ${errors} failed` +
      ` (${deploys.map((d) => `${d.service} deploy: ${d.requests} requests, ${d.errors} failed`).join('; ')})`,
    { name: 'traffic', value: { requests, errors, deploys } },
  );
  report.expect(
    errors === 0,
    `${errors} requests failed during the migration${failures.length > 0 ? `: ${failures.slice(0, 5).join('; ')}` : ''}`,
  );
}
