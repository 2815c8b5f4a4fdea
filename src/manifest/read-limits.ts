/** Reading a service's `limits:`: connections, timeouts, work_mem and parallel workers, as Postgres will hold them. */
import { isMap } from 'yaml';
import { printable } from './names.js';
import type { Limits } from './types.js';
import { parseDuration, parseWorkMem } from './units.js';
import { describe, type ManifestSource, scalarText, type YamlValue } from './yaml-source.js';

const DURATIONS = {
  statement_timeout: 'statementTimeoutMs',
  lock_timeout: 'lockTimeoutMs',
  idle_in_transaction_session_timeout: 'idleInTransactionSessionTimeoutMs',
} as const;

/** The keys `limits:` accepts. */
export const LIMIT_KEYS = ['connections', ...Object.keys(DURATIONS), 'work_mem', 'parallel_workers'];

const MAX_CONNECTIONS = 2147483647;
/** The most max_parallel_workers_per_gather accepts. */
const MAX_PARALLEL_WORKERS = 1024;

/** Digits only (surrounding blanks allowed), within min..max; else undefined. */
function wholeNumber(text: string, min: number, max: number): number | undefined {
  const trimmed = text.trim();
  const n = /^[0-9]+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  return n >= min && n <= max ? n : undefined;
}

/** Reads one service's limits, reporting every problem. */
export function readLimits(
  source: ManifestSource,
  service: string,
  value: YamlValue | null,
): Limits {
  const context = `\`limits\` of service \`${service}\``;
  const limits: Limits = {};
  if (value === null) return limits;
  if (!isMap(value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `${context} is ${describe(value)}, not a mapping`,
      value,
      'write e.g. `limits: { connections: 20, statement_timeout: 2s }`',
    );
    return limits;
  }
  for (const entry of source.entries(value, context)) {
    if (!LIMIT_KEYS.includes(entry.key)) {
      source.unknownKey(entry, LIMIT_KEYS, context);
      continue;
    }
    const text = scalarText(entry.value);
    if (text === undefined || entry.value === null) {
      source.report(
        'MANIFEST_WRONG_TYPE',
        `\`${entry.key}\` in ${context} is ${describe(entry.value)}, not a value`,
        entry.valueNode,
        'write a number, e.g. `connections: 20`, `statement_timeout: 2s`, `work_mem: 16MB`',
      );
      continue;
    }
    if (entry.key === 'connections') {
      const n = wholeNumber(text, 1, MAX_CONNECTIONS);
      if (n === undefined) {
        source.report(
          'MANIFEST_BAD_VALUE',
          `\`connections\` in ${context} is \`${printable(text)}\`, not a positive whole number`,
          entry.value,
          'write the most connections the service may open at once, e.g. `connections: 20`; leave it out for no limit',
        );
        continue;
      }
      limits.connections = n;
    } else if (entry.key === 'parallel_workers') {
      const n = wholeNumber(text, 0, MAX_PARALLEL_WORKERS);
      if (n === undefined) {
        source.report(
          'MANIFEST_BAD_VALUE',
          `\`parallel_workers\` in ${context} is \`${printable(text)}\`, not a whole number from 0 to ${MAX_PARALLEL_WORKERS}`,
          entry.value,
          'write how many parallel workers one query of the service may use, e.g. `parallel_workers: 1`; 0 turns parallel query off',
        );
        continue;
      }
      limits.parallelWorkers = n;
    } else if (entry.key === 'work_mem') {
      const size = parseWorkMem(text);
      if (size.ok) limits.workMemKb = size.value;
      else
        source.report(
          'MANIFEST_BAD_SIZE',
          `${size.message} (\`work_mem\` in ${context})`,
          entry.value,
          size.hint,
        );
    } else {
      const duration = parseDuration(text);
      if (duration.ok) limits[DURATIONS[entry.key as keyof typeof DURATIONS]] = duration.value;
      else
        source.report(
          'MANIFEST_BAD_DURATION',
          `${duration.message} (\`${entry.key}\` in ${context})`,
          entry.value,
          duration.hint,
        );
    }
  }
  return limits;
}
