import fs from 'node:fs';
import path from 'node:path';
import type { Finding } from '../../findings.js';
import { serviceOwns } from '../../manifest/ownership.js';
import type { Service } from '../../manifest/types.js';
import { withClient } from '../../postgres/client.js';
import { observeUsage } from '../../usage/observe.js';
import { saveUsage } from '../../usage/store.js';
import { suggestContracts } from '../../usage/suggest.js';
import type { RoleUsage, UsageSnapshot } from '../../usage/types.js';
import { ChapterReport } from '../chapter-report.js';
import type { DemoChapter, Figure } from '../types.js';

/** How long the chapter watches the traffic: long enough for every endpoint to run several times. */
const WINDOW_MS = 3000;

/** Team C's ad-hoc address export, run by hand as the reporting role (not one of its endpoints). */
const ADDRESS_EXPORT =
  'SELECT name, street_and_number, zip, city FROM users.account ORDER BY id LIMIT 50';

/** Where the demo keeps its one observation: read by the check chapter and the dashboard. */
export function demoUsageFile(stateDir: string): string {
  return path.join(stateDir, 'usage.json');
}

/** Columns read per relation ('schema.table' → sorted column names); names may hold dots. */
function readsByRelation(role: RoleUsage): Map<string, string[]> {
  const relations = Object.keys(role.relationsRead).sort((a, b) => b.length - a.length);
  const byRelation = new Map<string, string[]>();
  for (const relation of Object.keys(role.relationsRead).sort()) byRelation.set(relation, []);
  for (const column of Object.keys(role.reads)) {
    const relation = relations.find((r) => column.startsWith(`${r}.`));
    if (relation) byRelation.get(relation)!.push(column.slice(relation.length + 1));
  }
  for (const columns of byRelation.values()) columns.sort();
  return byRelation;
}

/** Columns the role read outside its service's schemas that no contract of the service declares. */
function readsBeyondContract(service: Service, role: RoleUsage, usage: UsageSnapshot): string[] {
  const beyond: string[] = [];
  for (const [relation, columns] of readsByRelation(role)) {
    const parts = usage.relations?.[relation];
    if (!parts || serviceOwns(service, parts.schema, parts.table)) continue;
    const contract = service.reads.find(
      (c) => c.schema === parts.schema && c.table === parts.table,
    );
    for (const column of columns) {
      if (contract?.columns === '*' || contract?.columns.includes(column)) continue;
      beyond.push(`${relation}.${column}`);
    }
  }
  return beyond.sort();
}

const oneLine = (sql: string, max = 90) => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

const calls = (role: RoleUsage | undefined) =>
  role?.statements.reduce((n, s) => n + s.calls, 0) ?? 0;

/** Findings about one service: those naming it as a consumer. */
const findingsOf = (findings: Finding[], service: string) =>
  findings.filter((f) => f.consumers.some((c) => c.service === service));

/** Prints one service's observed reads and findings; returns them as a figure. */
function reportService(
  report: ChapterReport,
  service: Service,
  usage: UsageSnapshot,
  findings: Finding[],
  requests: number,
): Figure {
  const role = usage.roles.find((r) => r.role === service.role);
  const reads = role ? readsByRelation(role) : new Map<string, string[]>();
  const readText = [...reads]
    .map(([relation, columns]) => {
      const parts = usage.relations?.[relation];
      const own = parts !== undefined && serviceOwns(service, parts.schema, parts.table);
      return `${relation}${own ? ' (own)' : ''}: ${columns.length > 0 ? columns.join(', ') : '(no column)'}`;
    })
    .join('; ');
  report.measured(
    `${service.name.padEnd(9)} ${requests} requests → ${calls(role)} calls of ${role?.statements.length ?? 0} statements; read ${readText || 'nothing'}`,
  );
  const own = findingsOf(findings, service.name);
  for (const f of own) report.measured(`  ${f.severity} ${f.kind} ${f.object}: ${f.message}`);
  if (own.length === 0) report.measured('  no findings: every read and write is declared');
  return {
    role: service.role,
    requests,
    enforcement: service.enforcement,
    statements: role?.statements.length ?? 0,
    calls: calls(role),
    reads: Object.fromEntries(reads),
    findings: own.map((f) => `${f.kind} ${f.object}`),
  } satisfies Figure;
}

/** Chapter: the database's own statistics show who reads what, and what nobody declared. */
export const observeChapter: DemoChapter = {
  id: 'observe-usage',
  title: 'Observe discovers that reporting reads columns it never declared',
  articleQuote:
    'But, what about a new team C, that is not made aware of team A. And what about technical processes like backups and reports, basically any downstream consumer of the user data.',
  async run(ctx) {
    const report = new ChapterReport();
    const reporting = ctx.manifest.services.find((s) => s.name === 'reporting');
    const invoicing = ctx.manifest.services.find((s) => s.name === 'invoicing');
    const reportingUrl = ctx.services.reporting?.databaseUrl;
    if (
      !report.expect(
        reporting !== undefined && invoicing !== undefined && reportingUrl !== undefined,
        'the manifest or the demo has no reporting or invoicing service',
      )
    )
      return report.result();

    // A kept demo's state dir may hold the last run's observation: never let a later chapter read that one.
    const file = demoUsageFile(ctx.stateDir);
    fs.rmSync(file, { force: true });
    ctx.progress('snapshot of pg_stat_statements (the window starts)');
    const before = await withClient(ctx.adminUrl, (c) =>
      observeUsage({ client: c, manifest: ctx.manifest, sinceReset: true }),
    );
    const windowStart = Date.now();
    await withClient(reportingUrl!, (c) => c.query(ADDRESS_EXPORT));
    report.did(`team C ran its address export by hand as role reporting: ${ADDRESS_EXPORT}`);
    ctx.progress(`watching ${WINDOW_MS / 1000} s of traffic`);
    await ctx.sleep(WINDOW_MS);
    if (ctx.signal.aborted) return report.result();
    const result = await withClient(ctx.adminUrl, (c) =>
      observeUsage({ client: c, manifest: ctx.manifest, previous: before.usage }),
    );
    const windowEnd = Date.now();
    saveUsage(file, result.usage);
    const traffic = ctx.traffic.stats(windowStart, windowEnd);
    report.did(
      `observed ${((windowEnd - windowStart) / 1000).toFixed(1)} s of traffic (${traffic.total.requests} requests): pg_stat_statements of ${result.usage.database}, ${result.window.mode === 'delta' ? 'the delta between two snapshots' : `${result.window.mode} (${result.window.note ?? 'no delta'})`}, ${result.statements} distinct statements analyzed with the Postgres parser (observeUsage)`,
    );
    report.did(`saved the snapshot for the check chapter and the dashboard: ${file}`);
    report.figure('window', {
      mode: result.window.mode,
      start: result.window.start ?? null,
      end: result.window.end,
      ms: windowEnd - windowStart,
      requests: traffic.total.requests,
      statements: result.statements,
    });
    report.figure('usageFile', file);
    report.expect(
      result.window.mode === 'delta',
      `the window was not a delta: ${result.window.note ?? result.window.mode}`,
    );

    const services: Record<string, Figure> = {};
    for (const service of ctx.manifest.services)
      services[service.name] = reportService(
        report,
        service,
        result.usage,
        result.findings,
        traffic.services[service.name]?.requests ?? 0,
      );
    report.figure('services', services);
    // Roles of no service (here the demo's admin, whose catalog queries include this observation's).
    for (const role of result.usage.roles.filter((r) => r.service === undefined)) {
      const relations = Object.keys(role.relationsRead);
      report.measured(
        `${role.role} (no service): ${calls(role)} calls of ${role.statements.length} statements; read ${relations.length > 0 ? relations.join(', ') : 'no table of the database (catalog only)'}`,
      );
    }
    const others = result.findings.filter((f) => f.consumers.length === 0);
    for (const f of others) report.measured(`  ${f.severity} ${f.kind} ${f.object}: ${f.message}`);
    report.figure(
      'findings',
      result.findings.map((f) => ({
        severity: f.severity,
        kind: f.kind,
        object: f.object,
        services: f.consumers.map((c) => c.service),
      })),
    );

    // reporting: what it read beyond its contract (from the observed reads and the manifest) must be reported.
    const reportingRole = result.usage.roles.find((r) => r.role === reporting!.role);
    const beyond = reportingRole
      ? readsBeyondContract(reporting!, reportingRole, result.usage)
      : [];
    const undeclared = result.findings
      .filter(
        (f) => f.kind === 'undeclared-read' && f.consumers.some((c) => c.service === 'reporting'),
      )
      .map((f) => f.object)
      .sort();
    if (
      report.expect(beyond.length > 0, 'reporting read no column beyond its contract in the window')
    )
      report.expect(
        JSON.stringify(undeclared) === JSON.stringify(beyond),
        `reporting's undeclared reads were not all found: it read ${beyond.join(', ')} beyond its contract, observe reported ${undeclared.join(', ') || 'none'}`,
      );
    // invoicing: its contract covers what it reads, so it must run in the window and show no undeclared access.
    const invoicingRole = result.usage.roles.find((r) => r.role === invoicing!.role);
    report.expect(calls(invoicingRole) > 0, 'invoicing ran no statement in the window');
    const invoicingUndeclared = findingsOf(result.findings, 'invoicing').filter((f) =>
      f.kind.startsWith('undeclared-'),
    );
    report.expect(
      invoicingUndeclared.length === 0,
      `invoicing shows undeclared access: ${invoicingUndeclared.map((f) => f.object).join(', ')}`,
    );

    if (reportingRole) {
      for (const s of reportingRole.statements.filter((x) =>
        x.reads.some((r) => beyond.includes(r)),
      ))
        report.measured(
          `reporting ran ${s.calls}× ${oneLine(s.query)} → reads ${s.reads.filter((r) => beyond.includes(r)).join(', ')} undeclared`,
        );
    }
    const suggestion = suggestContracts(
      { ...result.usage, roles: reportingRole ? [reportingRole] : [] },
      ctx.manifest,
      result.catalog,
    );
    report.measured(
      `what reporting would declare (pgpact observe --suggest):\n${suggestion
        .trimEnd()
        .split('\n')
        .map((l) => `         ${l}`)
        .join('\n')}`,
      { name: 'suggestion', value: suggestion },
    );
    return report.result();
  },
};
