import fs from 'node:fs';
import { PgpactError, type Problem } from '../errors.js';
import type { CheckReport, ReportConsumer, ReportFinding, Severity } from './api-types.js';

const SEVERITIES: readonly Severity[] = ['breaking', 'warning', 'info'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Validates the output of `pgpact check --format json`, reporting every problem at once (code USAGE). */
export function parseCheckReport(text: string, source: string): CheckReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PgpactError(
      'USAGE',
      `the check report from ${source} is not JSON: ${(error as Error).message}`,
      {
        hint: 'produce it with: pgpact check --format json > report.json',
      },
    );
  }
  const problems: Problem[] = [];
  const problem = (where: string, message: string) =>
    problems.push({ code: 'CHECK_REPORT_INVALID', message: `${where}: ${message}` });
  if (!isRecord(value)) {
    problem('report', 'expected an object with "breaking" and "findings"');
  } else {
    if (typeof value.breaking !== 'boolean') problem('breaking', 'expected true or false');
    if (!Array.isArray(value.findings)) problem('findings', 'expected a list');
  }
  const findings: ReportFinding[] = [];
  const raw = isRecord(value) && Array.isArray(value.findings) ? value.findings : [];
  raw.forEach((item: unknown, index: number) => {
    const where = `findings[${index}]`;
    if (!isRecord(item)) {
      problem(where, 'expected an object');
      return;
    }
    const severity = item.severity;
    if (typeof severity !== 'string' || !SEVERITIES.includes(severity as Severity)) {
      problem(`${where}.severity`, `expected one of ${SEVERITIES.join(', ')}`);
    }
    if (typeof item.kind !== 'string') problem(`${where}.kind`, 'expected a string');
    if (typeof item.object !== 'string')
      problem(`${where}.object`, 'expected "schema", "schema.table" or "schema.table.column"');
    if (typeof item.message !== 'string') problem(`${where}.message`, 'expected a string');
    const consumers: ReportConsumer[] = [];
    if (item.consumers !== undefined && !Array.isArray(item.consumers))
      problem(`${where}.consumers`, 'expected a list');
    (Array.isArray(item.consumers) ? item.consumers : []).forEach((c: unknown, i: number) => {
      if (
        !isRecord(c) ||
        typeof c.service !== 'string' ||
        (c.source !== 'declared' && c.source !== 'observed')
      ) {
        problem(
          `${where}.consumers[${i}]`,
          'expected {"service": string, "source": "declared" | "observed"}',
        );
        return;
      }
      consumers.push({ service: c.service, source: c.source });
    });
    const location = optionalString(item.location);
    const suggestion = optionalString(item.suggestion);
    findings.push({
      severity: severity as Severity,
      kind: String(item.kind),
      object: String(item.object),
      consumers,
      ...(location === undefined ? {} : { location }),
      message: String(item.message),
      ...(suggestion === undefined ? {} : { suggestion }),
    });
  });
  if (problems.length > 0) {
    throw new PgpactError('USAGE', `the check report from ${source} is not a pgpact check report`, {
      problems,
      hint: 'produce it with: pgpact check --format json > report.json',
    });
  }
  return {
    breaking: (value as { breaking: boolean }).breaking,
    findings,
    source,
    loadedAt: new Date().toISOString(),
  };
}

/** Reads and validates a check report file. */
export function readCheckReportFile(file: string): CheckReport {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new PgpactError(
      'USAGE',
      `cannot read the check report ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: 'pass the file written by: pgpact check --format json > report.json',
      },
    );
  }
  return parseCheckReport(text, file);
}
