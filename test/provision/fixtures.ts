/** Throwaway project folders (pgpact.yaml plus migration files) and state directories for provisioning tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { loadManifest } from '../../src/manifest/load.js';
import type { Manifest } from '../../src/manifest/types.js';
import { withClient } from '../../src/postgres/client.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import type { CatalogSnapshot } from '../../src/catalog-types.js';
import { planProvisioning } from '../../src/provision/plan.js';
import type { ProvisionPlan } from '../../src/provision/types.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder removed after the test file. */
export function tempDir(prefix = 'pgpact-provision-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes files (relative path → content) into a fresh folder and returns it. */
export function writeProject(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  return dir;
}

/** Writes a project and loads its pgpact.yaml through the real manifest loader. */
export function projectManifest(files: Record<string, string>): {
  dir: string;
  manifest: Manifest;
} {
  const dir = writeProject(files);
  return { dir, manifest: loadManifest(path.join(dir, 'pgpact.yaml')) };
}

/** A fresh catalog snapshot of the database. */
export function snapshot(url: string): Promise<CatalogSnapshot> {
  return withClient(url, readCatalog);
}

/** Plans against a fresh catalog of the database. */
export async function planFor(url: string, manifest: Manifest): Promise<ProvisionPlan> {
  return planProvisioning(manifest, await snapshot(url));
}

/** The catalog without what changes on its own (statistics), for before/after comparisons. */
export function stable(catalog: CatalogSnapshot): unknown {
  return {
    ...catalog,
    relations: catalog.relations.map(({ estimatedRows: _rows, sizeBytes: _size, ...r }) => r),
  };
}
