import fs from 'node:fs';
import path from 'node:path';
import { isScalar, parseDocument, YAMLMap } from 'yaml';
import { loadManifest } from '../../../manifest/load.js';
import type { Manifest } from '../../../manifest/types.js';
import { completeMigration } from '../../../migrate/complete.js';
import type { OldShapeUse } from '../../../migrate/consumers.js';
import { loadMigration } from '../../../migrate/parse.js';
import { rollbackMigration } from '../../../migrate/rollback.js';
import { startMigration } from '../../../migrate/start.js';
import { migrationStatus } from '../../../migrate/status.js';
import { withClient } from '../../../postgres/client.js';
import { ChapterReport } from '../../chapter-report.js';
import type { DemoChapter, Figure, RestartedService } from '../../types.js';
import type { MonolithContext } from '../types.js';
import { trafficSummary } from './story-helpers.js';

/** Team C's ad-hoc export: the top customers of the last 30 days, read from the old name. */
const TOP_CUSTOMERS_EXPORT =
  "SELECT account_id, sum(amount) AS total FROM public.invoice WHERE created_at >= now() - interval '30 days' GROUP BY account_id ORDER BY total DESC LIMIT 10";

/** How long an observed statement must stay unchanged to count as gone (the CLI's --quiet-for). */
const QUIET_MS = 1_000;

const oneLine = (sql: string, max = 90) => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

/** A use of the old name, printable: who, how it was found, and what ends it. */
function describeUse(u: OldShapeUse): string {
  const who = u.service ?? (u.role ? `role ${u.role}` : (u.view ?? u.object ?? 'someone'));
  const how =
    u.source === 'observed' && u.statement
      ? `${u.statement.callsSinceStart} calls since start of ${oneLine(u.statement.query)}`
      : (u.location ?? u.source);
  return `${who} (${u.source}${u.blocking ? '' : ', advice'}): ${how} → ${u.change}`;
}

/**
 * pgpact.yaml after the move, as the teams edit it: the owner adds the new schema to its
 * `owns:` (status's advice; the old entry goes after complete), the reader's contract names
 * the table's new home.
 */
function followMove(file: string, reader: string, from: string, to: string): Manifest {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  doc.addIn(['services', 'invoicing', 'owns'], 'invoicing');
  const reads = doc.getIn(['services', reader, 'reads']);
  if (reads instanceof YAMLMap) {
    const entry = reads.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === from);
    if (entry) entry.key = doc.createNode(to);
  }
  fs.writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return loadManifest(file);
}

/** Chapter: invoicing's table moves into schema invoicing with both names live; the reader is named until it moves. */
export const moveTableChapter: DemoChapter<MonolithContext> = {
  id: 'monolith-move-table',
  title: 'invoice moves into schema invoicing under traffic; reporting is named until it moves too',
  articleQuote:
    'You start by refactoring the different components of a monolith towards clean schema ownership and subsequently migrate step-by-step',
  async run(ctx) {
    const report = new ChapterReport();
    const from = Date.now();
    const migration = await loadMigration(
      path.join(ctx.exampleDir, 'migrations', 'move-invoice-to-invoicing.yaml'),
    );
    let manifest = loadManifest(ctx.manifestFile);
    const deploys: Record<string, Figure>[] = [];
    /** When each service's traffic moved to its v2 instance: until then v1 served it, naming public.invoice. */
    const switchedAt: Record<string, number> = {};
    const deploy = async (name: string, entry: string): Promise<RestartedService> => {
      const began = Date.now();
      const next = await ctx.restartService(name, { entry });
      const window = ctx.traffic.stats(began, Date.now());
      const h = next.handover;
      switchedAt[name] = began + h.readyMs;
      report.measured(
        `${name} deployed as ${entry}: ready in ${h.readyMs} ms, traffic moved (${h.inFlightAtSwitch} in flight finished on the old instance), old drained in ${h.drainMs} ms (exit ${h.oldExitCode}); ${window.total.requests} requests, ${window.total.errors} failed meanwhile`,
      );
      deploys.push({
        service: name,
        requests: window.total.requests,
        errors: window.total.errors,
        ...h,
      });
      report.expect(
        window.total.errors === 0,
        `${window.total.errors} requests failed while ${name} was deployed`,
      );
      report.expect(
        h.oldExitCode === 0,
        `the old ${name} did not drain by itself (exit ${h.oldExitCode})`,
      );
      return next;
    };
    let completed = false;
    let startedAt = Date.now();
    const moved: string[] = [];
    try {
      ctx.progress(`pgpact migrate start ${migration.name}`);
      const startFrom = Date.now();
      const started = await startMigration(ctx.adminUrl, migration, { signal: ctx.signal });
      const startMs = Date.now() - startFrom;
      startedAt = Date.now();
      const names = await withClient(ctx.adminUrl, (c) =>
        c.query<{ old: string | null; moved: string | null }>(
          `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass('public.invoice')) AS old,
                  (SELECT relkind::text FROM pg_class WHERE oid = to_regclass('invoicing.invoice')) AS moved`,
        ),
      );
      const kinds = names.rows[0]!;
      report.did(
        `pgpact migrate start: ALTER TABLE public.invoice SET SCHEMA invoicing, and a view at public.invoice for code that still names it (${startMs} ms, the traffic running)`,
      );
      report.measured(
        `start: phase ${started.phase}; invoicing.invoice is ${kinds.moved === 'r' ? 'the table' : kinds.moved}, public.invoice ${kinds.old === 'v' ? 'a view on it' : kinds.old}`,
        {
          name: 'start',
          value: { phase: started.phase, ms: startMs, old: kinds.old, moved: kinds.moved },
        },
      );
      report.expect(started.phase === 'active', `start ended in phase ${started.phase}`);
      report.expect(
        kinds.moved === 'r' && kinds.old === 'v',
        `after start: ${JSON.stringify(kinds)}`,
      );

      // Team B deploys the version that names its table's new home.
      ctx.progress('deploying invoicing v2 (names invoicing.invoice)');
      await deploy('invoicing', 'invoicing/main-v2');
      moved.push('invoicing');

      // The gate: statements through the old name are recorded, then asked about after a quiet period.
      await migrationStatus(ctx.adminUrl, { manifest, quietForMs: QUIET_MS });
      await ctx.sleep(QUIET_MS + 500);
      // Team C's export, run by hand through the old name: a statement new since start.
      await withClient(ctx.services.reporting!.databaseUrl, (c) => c.query(TOP_CUSTOMERS_EXPORT), {
        applicationName: 'reporting',
      });
      report.did(`team C ran its export by hand as role reporting: ${TOP_CUSTOMERS_EXPORT}`);
      const status = (await migrationStatus(ctx.adminUrl, { manifest, quietForMs: QUIET_MS }))!;
      const blocking = status.consumers.uses.filter((u) => u.blocking);
      report.measured(
        `pgpact migrate status: ${status.canComplete ? 'can complete' : 'complete would be refused'}; still using public.invoice:`,
        {
          name: 'statusBefore',
          value: {
            canComplete: status.canComplete,
            blocking: blocking.map((u) => `${u.service ?? u.role ?? u.view ?? '?'} (${u.source})`),
          },
        },
      );
      for (const u of status.consumers.uses) report.measured(`  ${describeUse(u)}`);
      report.expect(
        !status.canComplete,
        'status would let complete drop public.invoice while reporting reads it',
      );
      // Observed: the export, new since start. (From PostgreSQL 18 on, pg_stat_statements
      // identifies a relation by its name, not its oid: the service's own statements, which
      // ran before start too, stay one entry each with the table's and are not told apart.)
      report.expect(
        blocking.some((u) => u.service === 'reporting' && u.source === 'declared') &&
          blocking.some((u) => u.service === 'reporting' && u.source === 'observed'),
        `status did not name reporting, declared and observed: ${blocking.map(describeUse).join('; ')}`,
      );
      report.expect(
        blocking.every((u) => u.service === 'reporting'),
        `status named others than reporting: ${blocking.map(describeUse).join('; ')}`,
      );

      // Team C moves: its contract names the new table, its new version reads it.
      manifest = followMove(ctx.manifestFile, 'reporting', 'public.invoice', 'invoicing.invoice');
      report.did(
        'pgpact.yaml follows the move: invoicing owns public.invoice and invoicing (status’s advice), reporting reads invoicing.invoice instead of public.invoice',
      );
      ctx.progress('deploying reporting v2 (reads invoicing.invoice)');
      await deploy('reporting', 'reporting/main-v2');
      moved.push('reporting');

      await migrationStatus(ctx.adminUrl, { manifest, quietForMs: QUIET_MS });
      await ctx.sleep(QUIET_MS + 500);
      ctx.progress('pgpact migrate complete');
      const done = await completeMigration(ctx.adminUrl, {
        manifest,
        quietForMs: QUIET_MS,
        signal: ctx.signal,
      });
      completed = true;
      const after = await withClient(ctx.adminUrl, (c) =>
        c.query<{ old: string | null; moved: string | null }>(
          `SELECT to_regclass('public.invoice')::text AS old, to_regclass('invoicing.invoice')::text AS moved`,
        ),
      );
      report.measured(
        `complete: ${done.outcome}; public.invoice ${after.rows[0]!.old === null ? 'is gone' : 'is still there'}, the table is ${after.rows[0]!.moved}`,
        {
          name: 'completed',
          value: { outcome: done.outcome, old: after.rows[0]!.old, moved: after.rows[0]!.moved },
        },
      );
      report.expect(done.outcome === 'completed', `complete: ${done.outcome}`);
      report.expect(
        after.rows[0]!.old === null,
        'the view public.invoice is still there after complete',
      );
    } catch (error) {
      // Put the system back for the next chapter: v1 of whoever moved, the table back in public.
      if (!completed) {
        for (const name of moved) await ctx.restartService(name).catch(() => undefined);
        await rollbackMigration(ctx.adminUrl).catch(() => undefined);
      }
      throw error;
    }
    // Old code through the old name: v1 of invoicing (writes) and reporting (reads), from start to their deploys.
    const oldName = Object.fromEntries(
      ['invoicing', 'reporting'].map((name) => {
        const s = ctx.traffic.stats(startedAt, switchedAt[name] ?? Date.now()).services[name]!;
        return [name, { requests: s.requests, errors: s.errors }];
      }),
    );
    report.measured(
      `through the view public.invoice, before their deploys: invoicing v1 ${oldName.invoicing!.requests} requests (${oldName.invoicing!.errors} failed), reporting v1 ${oldName.reporting!.requests} (${oldName.reporting!.errors} failed)`,
      { name: 'oldName', value: oldName },
    );
    report.expect(
      Object.values(oldName).every((o) => o.errors === 0),
      `requests through the old name failed: ${JSON.stringify(oldName)}`,
    );
    const traffic = trafficSummary(ctx, from, Date.now());
    report.measured(`traffic through the chapter, deploys included: ${traffic.line}`, {
      name: 'traffic',
      value: { ...(traffic.figure as Record<string, Figure>), deploys },
    });
    report.expect(traffic.errors === 0, `${traffic.errors} requests failed: ${traffic.failures}`);
    return report.result();
  },
};
