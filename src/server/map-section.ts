import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import { loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';
import { readCatalog } from '../postgres/catalog.js';
import type { Queryable } from '../postgres/client.js';
import type { UsageSnapshot } from '../usage/types.js';
import type { CheckReport, CouplingMap } from './api-types.js';
import { buildCouplingMap } from './coupling-map.js';

/** Where the map's inputs come from. */
export interface MapSources {
  connection: Queryable;
  /** The manifest file; a missing or invalid one leaves a note, not an error. */
  manifestFile?: string;
  /** A saved usage snapshot (`pgpact observe` writes .pgpact/usage.json). */
  usageFile?: string;
  checkReport?: CheckReport;
  hiddenRoles: string[];
}

/** Reads a usage snapshot file; undefined when it does not exist. */
export function readUsageFile(file: string): UsageSnapshot | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<UsageSnapshot>;
  if (parsed.version !== 1 || !Array.isArray(parsed.roles)) {
    throw new PgpactError('USAGE', `${file} is not a pgpact usage snapshot (version 1)`, {
      hint: 'write it again with pgpact observe',
    });
  }
  return parsed as UsageSnapshot;
}

function describeError(error: unknown): string {
  if (error instanceof PgpactError) {
    const first = error.problems[0];
    const where = first?.file
      ? ` (${first.file}${first.line ? `:${first.line}` : ''}: ${first.message})`
      : '';
    return `${error.message}${where}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Builds the coupling map from the live catalog, the manifest, observed usage and a check report. */
export async function loadCouplingMap(sources: MapSources): Promise<CouplingMap> {
  const catalog = await readCatalog(sources.connection);
  const notes: string[] = [];
  let manifest: Manifest | undefined;
  if (sources.manifestFile !== undefined) {
    try {
      manifest = loadManifest(sources.manifestFile);
    } catch (error) {
      notes.push(`manifest not used: ${describeError(error)}`);
    }
  }
  let usage: { snapshot: UsageSnapshot; origin: string } | undefined;
  if (sources.usageFile !== undefined) {
    try {
      const snapshot = readUsageFile(sources.usageFile);
      if (snapshot) usage = { snapshot, origin: sources.usageFile };
    } catch (error) {
      notes.push(`observed usage not used: ${describeError(error)}`);
    }
  }
  const map = buildCouplingMap({
    catalog,
    ...(manifest ? { manifest } : {}),
    ...(usage ? { usage } : {}),
    ...(sources.checkReport ? { checkReport: sources.checkReport } : {}),
    hiddenRoles: sources.hiddenRoles,
  });
  map.notes.unshift(...notes);
  return map;
}
