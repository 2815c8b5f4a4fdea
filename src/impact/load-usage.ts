import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import type { UsageSnapshot } from '../usage/types.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads a usage snapshot (`.pgpact/usage.json`, written by `pgpact observe`) for impact
 * analysis: checks the parts check relies on (version, roles, their access maps).
 */
export function loadUsageFile(file: string): UsageSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PgpactError(
      'USAGE_FILE_INVALID',
      `cannot read the usage snapshot ${file}: ${(error as Error).message}`,
      {
        hint: 'run `pgpact observe` to write it again, or pass another file with --usage',
        cause: error,
      },
    );
  }
  const problems: string[] = [];
  if (!isRecord(raw)) problems.push('the file is not a JSON object');
  else {
    if (raw.version !== 1) problems.push(`version is ${JSON.stringify(raw.version)}, expected 1`);
    if (!Array.isArray(raw.roles)) problems.push('roles is not a list');
    else {
      raw.roles.forEach((role, i) => {
        if (!isRecord(role) || typeof role.role !== 'string') {
          problems.push(`roles[${i}] has no role name`);
          return;
        }
        for (const key of ['reads', 'writes', 'relationsRead', 'relationsWritten']) {
          if (role[key] !== undefined && !isRecord(role[key]))
            problems.push(`roles[${i}].${key} is not an object`);
        }
      });
    }
  }
  if (problems.length > 0) {
    throw new PgpactError(
      'USAGE_FILE_INVALID',
      `the usage snapshot ${file} is not valid: ${problems.join('; ')}`,
      {
        hint: 'run `pgpact observe` to write it again, or pass another file with --usage',
      },
    );
  }
  const snapshot = raw as UsageSnapshot;
  return {
    ...snapshot,
    roles: snapshot.roles.map((r) => ({
      ...r,
      reads: r.reads ?? {},
      writes: r.writes ?? {},
      relationsRead: r.relationsRead ?? {},
      relationsWritten: r.relationsWritten ?? {},
      statements: r.statements ?? [],
    })),
  };
}
