import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withClient } from '../../src/postgres/client.js';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { serviceUrl } from '../../src/provision/credentials.js';
import type { UsageSnapshot } from '../../src/usage/types.js';
import type { TestServer } from '../helpers/postgres.js';

/** The article's system (examples/shared-database) provisioned on a test server, with the services' reads run as their roles. */
export interface ArticleSystem {
  adminUrl: string;
  manifest: Manifest;
  manifestFile: string;
  stateDir: string;
  usageFile: string;
  /** A URL logging in as the service's own role. */
  urlOf(service: 'users' | 'invoicing' | 'reporting'): string;
  cleanup(): void;
}

export const EXAMPLE_MANIFEST = path.resolve('examples/shared-database/pgpact.yaml');

/** What the services read in this fixture, as the observed usage snapshot records it. */
const OBSERVED: Record<string, { reads: string[]; relations: string[] }> = {
  invoicing: {
    reads: [
      'users.account.id',
      'users.account.name',
      'users.account.street_and_number',
      'users.account.zip',
      'users.account.city',
    ],
    relations: ['users.account'],
  },
  reporting: {
    reads: [
      'users.account.id',
      'users.account.created_at',
      'users.account.name',
      'users.account.zip',
      'users.account.city',
      'invoicing.invoice.amount',
    ],
    relations: ['users.account', 'invoicing.invoice'],
  },
};

/**
 * Provisions the example manifest on a fresh database of the server, seeds a few rows as each
 * service, runs the services' reads as their own roles, and writes the observed usage snapshot.
 */
export async function provisionArticleSystem(server: TestServer): Promise<ArticleSystem> {
  const adminUrl = await server.createDatabase('article');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-dash-'));
  const manifest = loadManifest(EXAMPLE_MANIFEST);
  await applyProvisioning(adminUrl, manifest, { stateDir });
  const urlOf = (service: 'users' | 'invoicing' | 'reporting') =>
    serviceUrl(adminUrl, service, stateDir);
  await withClient(urlOf('users'), (c) =>
    c.query(`INSERT INTO users.account (name, street_and_number, zip, city)
             VALUES ('Ada Lovelace', 'Main Street 1', '10115', 'Berlin'), ('Alan Turing', 'Side Road 2', '80331', 'München')`),
  );
  await withClient(urlOf('invoicing'), async (c) => {
    await c.query(
      'SELECT id, name, street_and_number, zip, city FROM users.account WHERE id = $1',
      [1],
    );
    await c.query(`INSERT INTO invoicing.invoice (account_id, billing_name, billing_street_and_number, billing_zip, billing_city, amount)
                   SELECT id, name, street_and_number, zip, city, 42.00 FROM users.account`);
  });
  // reporting is in audit mode: it may read more than it declared, and does.
  await withClient(urlOf('reporting'), async (c) => {
    await c.query('SELECT id, created_at, name, zip, city FROM users.account');
    await c.query('SELECT sum(amount) FROM invoicing.invoice');
  });
  const usageFile = path.join(stateDir, 'usage.json');
  const database = new URL(adminUrl).pathname.slice(1);
  const snapshot: UsageSnapshot = {
    version: 1,
    database,
    takenAt: new Date().toISOString(),
    roles: Object.entries(OBSERVED).map(([service, o]) => ({
      role: service,
      service,
      reads: Object.fromEntries(o.reads.map((k) => [k, { calls: 3, rows: 2, totalTimeMs: 0.4 }])),
      writes: {},
      relationsRead: Object.fromEntries(
        o.relations.map((k) => [k, { calls: 3, rows: 2, totalTimeMs: 0.4 }]),
      ),
      relationsWritten: {},
      statements: [],
    })),
  };
  fs.writeFileSync(usageFile, JSON.stringify(snapshot, null, 2));
  return {
    adminUrl,
    manifest,
    manifestFile: EXAMPLE_MANIFEST,
    stateDir,
    usageFile,
    urlOf,
    cleanup: () => fs.rmSync(stateDir, { recursive: true, force: true }),
  };
}

/** The check report `pgpact check` gives for splitting users.account.street_and_number (the article's scenario 1). */
export const SPLIT_STREET_REPORT = {
  breaking: true,
  findings: [
    {
      severity: 'breaking',
      kind: 'column-dropped',
      object: 'users.account.street_and_number',
      consumers: [{ service: 'invoicing', source: 'declared' }],
      location: 'migrations/users/002_split_street.sql:3',
      message:
        'users.account.street_and_number is dropped; invoicing reads it (declared in pgpact.yaml)',
      suggestion:
        'expand/contract: pgpact migrate start keeps street_and_number in sync until invoicing stops reading it',
    },
    {
      severity: 'info',
      kind: 'column-added',
      object: 'users.account.street',
      consumers: [],
      message: 'users.account.street is added',
    },
  ],
};
