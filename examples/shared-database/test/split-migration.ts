import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../../src/manifest/load.js';
import type { Manifest } from '../../../src/manifest/types.js';
import { loadMigration } from '../../../src/migrate/parse.js';
import type { Migration, Operation } from '../../../src/migrate/types.js';

/** Team A's split of users.account.street_and_number, as the demo runs it with `pgpact migrate`. */
export const SPLIT_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'src',
  'demo',
  'assets',
  'split-street-and-number.yaml',
);

/** The example's manifest (examples/shared-database/pgpact.yaml). */
export const exampleManifest = (): Manifest =>
  loadManifest(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pgpact.yaml'));

/** The split migration and its split_column operation. */
export async function loadSplit(): Promise<{
  migration: Migration;
  split: Extract<Operation, { op: 'split_column' }>;
}> {
  const migration = await loadMigration(SPLIT_FILE);
  const split = migration.operations.find(
    (o): o is Extract<Operation, { op: 'split_column' }> => o.op === 'split_column',
  );
  if (!split) throw new Error(`${SPLIT_FILE} has no split_column`);
  return { migration, split };
}

/** The manifest with invoicing's contract on users.account reading these columns. */
export function withInvoicingReads(manifest: Manifest, columns: string[]): Manifest {
  return {
    ...manifest,
    services: manifest.services.map((s) =>
      s.name !== 'invoicing'
        ? s
        : {
            ...s,
            reads: s.reads.map((c) =>
              c.schema === 'users' && c.table === 'account'
                ? { ...c, columns, columnLocations: columns.map(() => c.location) }
                : c,
            ),
          },
    ),
  };
}
