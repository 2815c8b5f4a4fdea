import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { credentialsPath, passwordEnvVar, serviceUrl } from '../../src/provision/credentials.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, snapshot, tempDir } from './fixtures.js';
import { runMatrix, tablesOf } from './matrix.js';

const OWNER_ROLE = 'Kunden "Rolle" ü';
const SCHEMA = 'Kunden Schema "Ä"';
const TABLE = 'Konto Tabelle';
const FAKTURIERUNG = 'Fakturierung Ü';
/** A password that SASLprep changes (the ligature ﬁ becomes "fi"): the verifier must be computed the way clients log in. */
const OWN_SECRET = 'pässwörd ﬁ 🐘';

function project(suffix: string) {
  return projectManifest({
    'pgpact.yaml': `version: 1
services:
  "Kunden Verwaltung":
    role: '${OWNER_ROLE}${suffix}'
    owns: ['${SCHEMA}']
    migrations: "Migrationen/Kunden Ä"
  "${FAKTURIERUNG}${suffix}":
    owns: [Fakturierung]
    reads:
      '"Kunden Schema ""Ä"""."Konto Tabelle"': [id, "Straße und Nr", 'Zitat "x"']
    writes:
      '"Kunden Schema ""Ä"""."Konto Tabelle"': ["Straße und Nr"]
    limits: { connections: 3 }
  "Berichte ${suffix}":
    enforcement: audit
`,
    'Migrationen/Kunden Ä/001 Konto.sql': `CREATE TABLE "${TABLE}" (
  id serial PRIMARY KEY,
  "Straße und Nr" text,
  "Zitat ""x""" text,
  "Geheim" text
);
CREATE VIEW "Sicht ÄÖ" AS SELECT id, "Straße und Nr" FROM "${TABLE}";`,
  });
}

afterEach(() => {
  for (const key of Object.keys(process.env))
    if (key.startsWith('PGPACT_PASSWORD_')) delete process.env[key];
});

describeEachServer('names with upper case, spaces, quotes and non-ASCII letters', (server) => {
  it('work end to end: plan, apply, migrations, logins, enforcement', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const suffix = server().label.includes('15') ? '15' : '18';
    const { manifest } = project(suffix);
    const fakturierung = manifest.services.find((s) => s.name === `${FAKTURIERUNG}${suffix}`)!;
    expect(fakturierung.role).toBe(`${FAKTURIERUNG}${suffix}`);
    // This team keeps its own secret: pgpact uses it and does not store it.
    process.env[passwordEnvVar(fakturierung.role)] = OWN_SECRET;
    expect(passwordEnvVar(fakturierung.role)).toBe(`PGPACT_PASSWORD_FAKTURIERUNG__${suffix}`);

    const result = await applyProvisioning(url, manifest, { stateDir });
    expect(result.migrations.map((m) => m.file)).toEqual(['001 Konto.sql']);
    expect((await planFor(url, manifest)).steps).toEqual([]);

    const catalog = await snapshot(url);
    const table = catalog.relations.find((r) => r.schema === SCHEMA && r.name === TABLE)!;
    expect(table.owner).toBe(`${OWNER_ROLE}${suffix}`);
    expect(table.columns.map((c) => c.name)).toEqual([
      'id',
      'Straße und Nr',
      'Zitat "x"',
      'Geheim',
    ]);
    expect(
      table.columns
        .flatMap((c) => c.grants.map((g) => `${c.name}|${g.grantee}|${g.privilege}`))
        .sort(),
    ).toEqual(
      [
        `id|${fakturierung.role}|SELECT`,
        `Straße und Nr|${fakturierung.role}|INSERT`,
        `Straße und Nr|${fakturierung.role}|SELECT`,
        `Straße und Nr|${fakturierung.role}|UPDATE`,
        `Zitat "x"|${fakturierung.role}|SELECT`,
      ].sort(),
    );
    expect(catalog.roles.find((r) => r.name === fakturierung.role)?.connectionLimit).toBe(3);

    // Every service logs in with a non-ASCII role name, through its URL.
    for (const service of manifest.services) {
      const who = await withClient(serviceUrl(url, service.role, stateDir), async (c) => {
        const { rows } = await c.query<{ who: string }>('SELECT current_user::text AS who');
        return rows[0]!.who;
      });
      expect(who).toBe(service.role);
    }
    const kept = JSON.parse(fs.readFileSync(credentialsPath(stateDir), 'utf8')) as {
      servers: Record<string, Record<string, string>>;
    };
    const roles = Object.values(kept.servers).flatMap((r) => Object.keys(r));
    expect(roles).toContain(`${OWNER_ROLE}${suffix}`);
    expect(roles).not.toContain(fakturierung.role);
    expect(fs.statSync(credentialsPath(stateDir)).mode & 0o777).toBe(0o600);

    const matrix = await runMatrix(url, manifest, stateDir, tablesOf(catalog));
    console.log(
      `names [${server().label}]: ${matrix.attempts} attempts, ${matrix.unexpected.length} unexpected`,
    );
    expect(matrix.unexpected).toEqual([]);
    expect(matrix.attempts).toBe(3 * (3 * 4 + 4));
    expect(path.basename(manifest.services[0]!.migrations!)).toBe('Kunden Ä');
  });
});
