import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { parseCheckReport } from '../../src/server/check-report.js';
import { buildCouplingMap } from '../../src/server/coupling-map.js';
import { objectResolver } from '../../src/server/object-names.js';
import type { UsageSnapshot } from '../../src/usage/types.js';
import { describeEachServer } from '../helpers/postgres.js';

describe('dotted object names', () => {
  it('resolve against known tables even when names hold dots', () => {
    const { resolve } = objectResolver([
      { schema: 'a.b', name: 'c', columns: ['d'] },
      { schema: 'a', name: 'b.c', columns: ['d.e', 'x'] },
      { schema: 'users', name: 'account', columns: ['id'] },
    ]);
    expect(resolve('a.b.c.d')).toEqual({ schema: 'a.b', table: 'c', column: 'd' });
    expect(resolve('a.b.c.d.e')).toEqual({ schema: 'a', table: 'b.c', column: 'd.e' });
    expect(resolve('a.b.c.x')).toEqual({ schema: 'a', table: 'b.c', column: 'x' });
    expect(resolve('users.account')).toEqual({ schema: 'users', table: 'account' });
    expect(resolve('users.account.id')).toEqual({
      schema: 'users',
      table: 'account',
      column: 'id',
    });
    expect(resolve('users.nothing.id')).toBeUndefined();
    expect(resolve('users')).toBeUndefined();
  });
});

describe('check reports', () => {
  it('keep optional fields only when present and refuse what is not a report', () => {
    const report = parseCheckReport(
      JSON.stringify({
        breaking: false,
        findings: [{ severity: 'info', kind: 'k', object: 's.t', consumers: [], message: 'm' }],
      }),
      'r.json',
    );
    expect(report.findings).toEqual([
      { severity: 'info', kind: 'k', object: 's.t', consumers: [], message: 'm' },
    ]);
    expect(() => parseCheckReport('not json', 'x')).toThrow(/is not JSON/);
    expect(() => parseCheckReport('[]', 'x')).toThrow(/not a pgpact check report/);
  });
});

describeEachServer('the coupling map of a database with unusual names', (server) => {
  it('places contracts, observed reads and report findings on quoted, dotted and non-ASCII names', async () => {
    const url = await server().createDatabase('names');
    await withClient(url, (c) =>
      c.query(`
        DROP ROLE IF EXISTS "Billing Svc", "ledger", "Ad-Hoc Analyst";
        CREATE ROLE "Billing Svc"; CREATE ROLE ledger; CREATE ROLE "Ad-Hoc Analyst";
        CREATE SCHEMA "Kunden Daten" AUTHORIZATION ledger;
        CREATE TABLE "Kunden Daten"."Konto.2024" (id int PRIMARY KEY, "Straße & Nr." text, "say ""hi""" text, plz text);
        ALTER TABLE "Kunden Daten"."Konto.2024" OWNER TO ledger;
        CREATE SCHEMA "Billing" AUTHORIZATION "Billing Svc";
        CREATE TABLE "Billing"."Invoice" (id int);
        ALTER TABLE "Billing"."Invoice" OWNER TO "Billing Svc";`),
    );
    const catalog = await withClient(url, (c) => readCatalog(c));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-map-'));
    const manifest = parseManifest(
      `version: 1
services:
  ledger:
    owns: ["Kunden Daten"]
  billing:
    role: "Billing Svc"
    owns: [Billing]
    reads:
      '"Kunden Daten"."Konto.2024"': [id, "Straße & Nr.", 'say "hi"', gone_column]
`,
      path.join(dir, 'pgpact.yaml'),
    );
    const usage: UsageSnapshot = {
      version: 1,
      database: catalog.database,
      takenAt: '2026-01-01T00:00:00.000Z',
      roles: [
        {
          role: 'Billing Svc',
          reads: {
            'Kunden Daten.Konto.2024.id': { calls: 5, rows: 5, totalTimeMs: 1 },
            'Kunden Daten.Konto.2024.plz': { calls: 2, rows: 2, totalTimeMs: 1 },
          },
          writes: {},
          relationsRead: { 'Kunden Daten.Konto.2024': { calls: 5, rows: 5, totalTimeMs: 1 } },
          relationsWritten: {},
          statements: [],
        },
        {
          role: 'Ad-Hoc Analyst',
          reads: { 'Kunden Daten.Konto.2024.say "hi"': { calls: 1, rows: 1, totalTimeMs: 1 } },
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [],
        },
        // The owner's own reads are not coupling.
        {
          role: 'ledger',
          reads: { 'Kunden Daten.Konto.2024.plz': { calls: 9, rows: 9, totalTimeMs: 1 } },
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [],
        },
      ],
    };
    const report = parseCheckReport(
      JSON.stringify({
        breaking: true,
        findings: [
          {
            severity: 'breaking',
            kind: 'column-dropped',
            object: 'Kunden Daten.Konto.2024.Straße & Nr.',
            consumers: [{ service: 'billing', source: 'declared' }],
            message: 'dropped',
          },
        ],
      }),
      'report.json',
    );
    const map = buildCouplingMap({
      catalog,
      manifest,
      usage: { snapshot: usage, origin: 'test' },
      checkReport: report,
    });
    fs.rmSync(dir, { recursive: true, force: true });

    expect(map.services.map((s) => [s.name, s.role, s.inManifest])).toEqual([
      ['Ad-Hoc Analyst', 'Ad-Hoc Analyst', false],
      ['billing', 'Billing Svc', true],
      ['ledger', 'ledger', true],
    ]);
    expect(map.tables.map((t) => [t.id, t.ownerService])).toEqual([
      ['Billing.Invoice', 'billing'],
      ['Kunden Daten.Konto.2024', 'ledger'],
    ]);
    expect(
      map.edges.map((e) => [
        e.service,
        e.table,
        e.status,
        e.broken,
        e.observedColumns,
        e.undeclaredColumns,
      ]),
    ).toEqual([
      ['Ad-Hoc Analyst', 'Kunden Daten.Konto.2024', 'undeclared', false, ['say "hi"'], []],
      ['billing', 'Kunden Daten.Konto.2024', 'beyond-contract', true, ['id', 'plz'], ['plz']],
    ]);
    const konto = map.tables.find((t) => t.name === 'Konto.2024')!;
    const byName = Object.fromEntries(konto.columns.map((c) => [c.name, c]));
    expect(byName['Straße & Nr.']!.readers).toEqual([
      { service: 'billing', declared: true, observed: false, calls: 0, broken: true },
    ]);
    expect(byName['say "hi"']!.readers.map((r) => [r.service, r.declared, r.observed])).toEqual([
      ['Ad-Hoc Analyst', false, true],
      ['billing', true, false],
    ]);
    expect(byName.plz!.readers.map((r) => r.service)).toEqual(['billing']);
    // A declared column the database does not have is shown, and marked missing.
    expect(byName.gone_column).toMatchObject({
      missing: true,
      readers: [{ service: 'billing', declared: true }],
    });
    expect(konto.findings.map((f) => f.kind)).toEqual(['column-dropped']);
    await withClient(url, (c) =>
      c.query(
        `DROP SCHEMA "Kunden Daten" CASCADE; DROP SCHEMA "Billing" CASCADE; DROP ROLE "Billing Svc", ledger, "Ad-Hoc Analyst"`,
      ),
    );
  });

  it('without a manifest takes ownership from schema owners and calls every other read observed', async () => {
    const url = await server().createDatabase('nomanifest');
    await withClient(url, (c) =>
      c.query(`
        DROP ROLE IF EXISTS app_a, app_b;
        CREATE ROLE app_a; CREATE ROLE app_b;
        CREATE SCHEMA a AUTHORIZATION app_a;
        CREATE TABLE a.t (id int, v text); ALTER TABLE a.t OWNER TO app_a;`),
    );
    const catalog = await withClient(url, (c) => readCatalog(c));
    const snapshot: UsageSnapshot = {
      version: 1,
      database: catalog.database,
      takenAt: '2026-01-01T00:00:00.000Z',
      roles: [
        {
          role: 'app_b',
          reads: { 'a.t.v': { calls: 1, rows: 1, totalTimeMs: 1 } },
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [],
        },
        {
          role: 'postgres',
          reads: { 'a.t.id': { calls: 1, rows: 1, totalTimeMs: 1 } },
          writes: {},
          relationsRead: {},
          relationsWritten: {},
          statements: [],
        },
      ],
    };
    const map = buildCouplingMap({ catalog, usage: { snapshot, origin: 'test' } });
    expect(map.services.map((s) => [s.name, s.owns])).toEqual([
      ['app_a', ['a']],
      ['app_b', []],
    ]);
    expect(map.edges.map((e) => [e.service, e.table, e.status])).toEqual([
      ['app_b', 'a.t', 'observed'],
    ]);
    expect(map.notes.join('\n')).toMatch(/no manifest loaded/);
    expect(map.notes.join('\n')).toMatch(
      /superuser roles not in the manifest are left out: postgres/,
    );
    await withClient(url, (c) => c.query('DROP SCHEMA a CASCADE; DROP ROLE app_a, app_b'));
  });
});
