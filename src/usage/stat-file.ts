/**
 * Exported pg_stat_statements rows (JSON or CSV) → StatementStats, for observing a
 * database pgpact cannot query live (a copy from production, a support bundle).
 */
import fs from 'node:fs';
import { PgpactError, type Problem } from '../errors.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import { type StatementStat, type StatementStats, textQueryId } from './statement-stats.js';

/** The export format, as `pgpact observe --help` documents it. */
export const STAT_FILE_FORMAT = `a JSON array of rows (or {"statsReset": ..., "rows": [...]}), or CSV with a header, e.g.
    \\copy (SELECT r.rolname, s.* FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
           JOIN pg_database d ON d.oid = s.dbid AND d.datname = current_database()) TO 'stats.csv' CSV HEADER
  columns: rolname (or role, usename), query, calls; optional: queryid, rows, total_exec_time and
  total_plan_time (or total_time), toplevel, datname (rows of other databases are skipped)`;

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

type Row = Record<string, unknown>;

function lowerKeys(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = v;
  return out;
}

function first(row: Row, names: readonly string[]): unknown {
  for (const n of names)
    if (row[n] !== undefined && row[n] !== null && row[n] !== '') return row[n];
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(String(value));
  return Number.isFinite(n) ? n : undefined;
}

function rowsOf(
  file: string,
  text: string,
): { rows: Row[]; statsReset?: string; database?: string; takenAt?: string } {
  const trimmed = text.trimStart();
  if (file.toLowerCase().endsWith('.json') || trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new PgpactError('USAGE', `${file} is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (Array.isArray(raw)) return { rows: raw as Row[] };
    const wrapper = raw as {
      rows?: unknown;
      entries?: unknown;
      statsReset?: string;
      database?: string;
      takenAt?: string;
    };
    const rows = wrapper.rows ?? wrapper.entries;
    if (!Array.isArray(rows)) {
      throw new PgpactError(
        'USAGE',
        `${file}: expected a JSON array of rows or an object with "rows"`,
        {
          hint: STAT_FILE_FORMAT,
        },
      );
    }
    return {
      rows: rows as Row[],
      statsReset: wrapper.statsReset,
      database: wrapper.database,
      takenAt: wrapper.takenAt,
    };
  }
  const [header, ...records] = parseCsv(text);
  if (!header) return { rows: [] };
  return { rows: records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']))) };
}

/**
 * Reads an exported pg_stat_statements file. Rows naming another database (datname)
 * than `database` are skipped. Every malformed row is reported together.
 */
export function readStatementStatsFile(
  file: string,
  database: string,
): StatementStats & { skipped: number } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new PgpactError('USAGE', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = rowsOf(file, text);
  const problems: Problem[] = [];
  const entries: StatementStat[] = [];
  let skipped = 0;
  parsed.rows.forEach((raw, i) => {
    const where = `row ${i + 1}`;
    if (raw === null || typeof raw !== 'object') {
      problems.push({ code: 'STAT_ROW', message: `${where} is not an object`, file });
      return;
    }
    const row = lowerKeys(raw);
    const datname = first(row, ['datname', 'database']);
    if (datname !== undefined && String(datname) !== database) {
      skipped++;
      return;
    }
    const userid = first(row, ['userid']);
    const role =
      first(row, ['rolname', 'role', 'usename', 'username', 'user_name', 'user']) ??
      (userid === undefined ? undefined : `oid:${userid}`);
    const calls = numberOf(first(row, ['calls']));
    if (role === undefined)
      problems.push({
        code: 'STAT_ROW',
        message: `${where} has no rolname (or role, usename)`,
        file,
      });
    if (calls === undefined)
      problems.push({ code: 'STAT_ROW', message: `${where} has no numeric calls`, file });
    if (role === undefined || calls === undefined) return;
    const text = first(row, ['query']);
    // A text carrying a password is withheld before anything else sees it.
    const query = text === undefined ? undefined : withholdSecretStatement(String(text));
    const exec = numberOf(first(row, ['total_exec_time']));
    const time =
      exec !== undefined
        ? exec + (numberOf(first(row, ['total_plan_time'])) ?? 0)
        : numberOf(first(row, ['total_time', 'total_time_ms', 'totaltimems']));
    const toplevel = first(row, ['toplevel']);
    const queryId = first(row, ['queryid', 'query_id']);
    entries.push({
      role: String(role),
      queryId: queryId !== undefined ? String(queryId) : textQueryId(query ?? ''),
      query,
      toplevel:
        toplevel === undefined ? true : toplevel === true || /^(t|true|1)$/i.test(String(toplevel)),
      calls,
      rows: numberOf(first(row, ['rows'])) ?? 0,
      totalTimeMs: time ?? 0,
    });
  });
  if (problems.length > 0) {
    throw new PgpactError('USAGE', `${file}: ${problems.length} row(s) cannot be read`, {
      problems: problems.slice(0, 20),
      hint: STAT_FILE_FORMAT,
    });
  }
  return {
    database: parsed.database ?? database,
    takenAt: parsed.takenAt ?? fs.statSync(file).mtime.toISOString(),
    ...(parsed.statsReset === undefined ? {} : { statsReset: parsed.statsReset }),
    source: 'file',
    entries,
    skipped,
  };
}
