import path from 'node:path';
import { loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';

/** The manifest file a command reads: --config FILE, else ./pgpact.yaml, resolved from the working directory. */
export function manifestFile(values: Record<string, unknown>): string {
  const given = values.config;
  return path.resolve(typeof given === 'string' && given !== '' ? given : 'pgpact.yaml');
}

/** Loads and validates the manifest named by --config (default ./pgpact.yaml); throws CONFIG_NOT_FOUND or MANIFEST_INVALID. */
export function loadManifestOption(values: Record<string, unknown>): Manifest {
  return loadManifest(manifestFile(values));
}
