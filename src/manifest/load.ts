/**
 * pgpact.yaml → a validated Manifest. Every problem is collected with its file,
 * line, column and a hint, and reported together in one MANIFEST_INVALID error.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { type Problem, PgpactError } from '../errors.js';
import { crossCheckServices } from './cross-checks.js';
import { printable } from './names.js';
import { readReplicas } from './read-replicas.js';
import { ENFORCEMENTS, readEnforcement, readService, type ServiceDraft } from './read-service.js';
import type { Enforcement, Manifest } from './types.js';
import { describe, ManifestSource, type MapEntry, scalarText } from './yaml-source.js';

/** The top-level keys of a manifest. */
export const TOP_LEVEL_KEYS = ['version', 'enforcement', 'services', 'replicas'];

/** Reads and validates a manifest file; throws CONFIG_NOT_FOUND or MANIFEST_INVALID (listing every problem). */
export function loadManifest(file: string): Manifest {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : `cannot be read (${code ?? 'unknown error'})`;
    throw new PgpactError('CONFIG_NOT_FOUND', `manifest ${file} ${why}`, {
      hint: 'create pgpact.yaml (see the README) or pass --config FILE',
      cause: error,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const problem: Problem = {
      code: 'MANIFEST_ENCODING',
      message: 'the file is not valid UTF-8',
      file,
      line: 1,
      column: 1,
      hint: 'save the manifest as UTF-8',
    };
    throw invalid(file, [problem]);
  }
  return parseManifest(text, file);
}

/**
 * Parses and validates manifest text. `file` names it in problems and locations
 * (as given) and resolves relative paths (as its directory); Manifest.file is absolute.
 */
export function parseManifest(text: string, file: string): Manifest {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), {
    schema: 'failsafe',
    uniqueKeys: false,
    lineCounter,
    prettyErrors: false,
  });
  const source = new ManifestSource(file, lineCounter, doc);
  if (doc.errors.length > 0) {
    // A broken document has no reliable structure: report the syntax errors alone.
    for (const error of doc.errors) {
      source.report(
        'MANIFEST_YAML_SYNTAX',
        `YAML syntax: ${error.message.split('\n')[0]}`,
        source.at(error.pos[0]),
        'fix the YAML syntax; strings with `:`, `#`, `*`, `&` or leading quotes need quoting',
      );
    }
    throw invalid(file, source.problems);
  }
  const manifest = readManifest(source, doc.contents, resolve(file));
  if (source.problems.length > 0 || !manifest) throw invalid(file, source.problems);
  return manifest;
}

function readManifest(
  source: ManifestSource,
  contents: unknown,
  absoluteFile: string,
): Manifest | undefined {
  const root = source.resolve(contents);
  if (root === null) {
    source.report(
      'MANIFEST_EMPTY',
      'the manifest is empty',
      source.at(0),
      'start with `version: 1` and a `services:` mapping',
    );
    return undefined;
  }
  if (!isMap(root)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `the manifest is ${describe(root)}, not a mapping`,
      root,
      'start with `version: 1` and a `services:` mapping',
    );
    return undefined;
  }
  const entries = new Map<string, MapEntry>();
  for (const entry of source.entries(root, 'the manifest')) {
    if (TOP_LEVEL_KEYS.includes(entry.key)) entries.set(entry.key, entry);
    else source.unknownKey(entry, TOP_LEVEL_KEYS, 'the manifest');
  }

  const version = entries.get('version');
  if (!version) {
    source.report(
      'MANIFEST_MISSING_KEY',
      'the manifest has no `version`',
      source.locate(root),
      'add `version: 1` as the first line',
    );
  } else if (scalarText(version.value)?.trim() !== '1') {
    source.report(
      'MANIFEST_BAD_VERSION',
      `\`version\` is ${describe(version.value)}; this pgpact reads version 1`,
      version.valueNode,
      'write `version: 1`',
    );
  }

  let enforcement: Enforcement = 'enforce';
  const mode = entries.get('enforcement');
  if (mode && mode.value !== null)
    enforcement = readEnforcement(source, mode.value, 'of the manifest') ?? enforcement;

  const drafts: ServiceDraft[] = [];
  const services = entries.get('services');
  if (!services) {
    source.report(
      'MANIFEST_MISSING_KEY',
      'the manifest has no `services`',
      source.locate(root),
      'add `services:` with one entry per service that connects to the database',
    );
  } else if (services.value !== null && !isMap(services.value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `\`services\` is ${describe(services.value)}, not a mapping`,
      services.value,
      'write one `name:` per service under `services:`',
    );
  } else if (services.value !== null) {
    const dir = dirname(absoluteFile);
    for (const entry of source.entries(services.value, '`services`')) {
      drafts.push(readService(source, entry, dir, enforcement));
    }
  }
  crossCheckServices(source, drafts);
  const replicas = entries.get('replicas');
  const replicaList = replicas ? readReplicas(source, replicas) : [];
  return {
    version: 1,
    file: absoluteFile,
    dir: dirname(absoluteFile),
    enforcement,
    services: drafts.map((d) => d.service),
    ...(replicaList.length > 0 ? { replicas: replicaList } : {}),
  };
}

function invalid(file: string, problems: Problem[]): PgpactError {
  const sorted = [...problems].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new PgpactError('MANIFEST_INVALID', `${count} in ${printable(file)}`, {
    problems: sorted,
    hint: 'fix every problem listed, then run the command again',
  });
}

export { ENFORCEMENTS };
