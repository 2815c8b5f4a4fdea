import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import { writePrivateFile } from '../private-files.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import type { UsageSnapshot } from './types.js';

/**
 * Writes a usage snapshot atomically (a reader never sees half a file), readable by its
 * owner only (0600, in a 0700 folder when pgpact creates it): it holds statement texts.
 */
export function saveUsage(file: string, usage: UsageSnapshot): void {
  writePrivateFile(file, `${JSON.stringify(withholdSecrets(usage), null, 1)}\n`);
}

/** The snapshot with every statement text that carries a password withheld (also for older files). */
function withholdSecrets(usage: UsageSnapshot): UsageSnapshot {
  return {
    ...usage,
    roles: usage.roles.map((r) => ({
      ...r,
      statements: (r.statements ?? []).map((s) =>
        typeof s.query === 'string' ? { ...s, query: withholdSecretStatement(s.query) } : s,
      ),
    })),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads a usage snapshot written by saveUsage; throws USAGE_FILE_INVALID naming what is wrong. */
export function loadUsage(file: string): UsageSnapshot {
  const invalid = (why: string, cause?: unknown) =>
    new PgpactError('USAGE_FILE_INVALID', `the usage snapshot ${file} ${why}`, {
      hint: 'run pgpact observe --since-reset to write a new one (or delete the file)',
      ...(cause === undefined ? {} : { cause }),
    });
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw invalid(`cannot be read: ${(error as Error).message}`, error);
  }
  if (!isRecord(raw)) throw invalid('is not a JSON object');
  if (raw.version !== 1) throw invalid(`has version ${JSON.stringify(raw.version)}, expected 1`);
  if (typeof raw.database !== 'string' || typeof raw.takenAt !== 'string')
    throw invalid('has no database or takenAt');
  if (
    !Array.isArray(raw.roles) ||
    !raw.roles.every((r) => isRecord(r) && typeof r.role === 'string')
  ) {
    throw invalid('has no valid roles list');
  }
  if (
    raw.counters !== undefined &&
    !(isRecord(raw.counters) && Array.isArray(raw.counters.entries))
  ) {
    throw invalid('has malformed counters');
  }
  return withholdSecrets(raw as unknown as UsageSnapshot);
}
