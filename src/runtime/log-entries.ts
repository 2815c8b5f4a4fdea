import { compileLogLinePrefix, guessLogLine, type LogLine } from './log-prefix.js';

/** One message of the server log with its DETAIL, HINT, CONTEXT and STATEMENT lines. */
export interface LogEntry {
  timestamp?: string;
  pid?: number;
  user?: string;
  database?: string;
  application?: string;
  /** LOG, ERROR, FATAL, ... */
  severity: string;
  message: string;
  detail?: string;
  hint?: string;
  context?: string;
  statement?: string;
}

const PRIMARY = /^(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?)$/;
const PARTS: Record<string, 'detail' | 'hint' | 'context' | 'statement'> = {
  DETAIL: 'detail',
  HINT: 'hint',
  CONTEXT: 'context',
  STATEMENT: 'statement',
};

/**
 * Splits log text into entries, chunk by chunk (a partial last line waits for
 * the next chunk). Understands the stderr format with any log_line_prefix,
 * jsonlog and csvlog, line by line, so a file may even mix them.
 */
export class LogEntryParser {
  private buffer = '';
  private current: LogEntry | undefined;
  private lastPart: keyof LogEntry | undefined;
  private readonly parseLine: (line: string) => LogLine | undefined;

  /** prefix: the server's log_line_prefix; without it the prefix is guessed per line. */
  constructor(prefix?: string) {
    const compiled = prefix === undefined ? undefined : compileLogLinePrefix(prefix);
    this.parseLine = (line) => compiled?.(line) ?? guessLogLine(line);
  }

  /** Parses a chunk; returns the entries completed by it (the text's end completes the last one). */
  push(chunk: string): LogEntry[] {
    this.buffer += chunk;
    const out: LogEntry[] = [];
    for (;;) {
      const record = this.nextRecord();
      if (record === undefined) break;
      this.consume(record, out);
    }
    // Postgres writes a message with all its lines at once: at a line boundary it is complete.
    if (this.buffer === '') this.flushInto(out);
    return out;
  }

  private nextRecord(): string | undefined {
    if (this.buffer.startsWith('"') || /^\d{4}-\d{2}-\d{2} [\d:.]+ [^,\s]*,/.test(this.buffer)) {
      const end = csvRecordEnd(this.buffer);
      if (end === undefined) return undefined;
      const record = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      return record;
    }
    const newline = this.buffer.indexOf('\n');
    if (newline === -1) return undefined;
    const line = this.buffer.slice(0, newline).replace(/\r$/, '');
    this.buffer = this.buffer.slice(newline + 1);
    return line;
  }

  private consume(record: string, out: LogEntry[]): void {
    if (record.startsWith('{')) {
      const entry = fromJson(record);
      if (entry) {
        this.flushInto(out);
        out.push(entry);
        return;
      }
    }
    if (/^\d{4}-\d{2}-\d{2} [\d:.]+ [^,\s]*,/.test(record)) {
      const entry = fromCsv(record);
      if (entry) {
        this.flushInto(out);
        out.push(entry);
        return;
      }
    }
    if (record.startsWith('\t')) {
      if (this.current && this.lastPart) {
        const key = this.lastPart as 'message' | 'detail' | 'hint' | 'context' | 'statement';
        this.current[key] = `${this.current[key] ?? ''}\n${record.slice(1)}`;
      }
      return;
    }
    const line = this.parseLine(record);
    if (!line) return;
    const part = PARTS[line.severity];
    if (part && this.current && (line.pid === undefined || line.pid === this.current.pid)) {
      this.current[part] = line.message;
      this.lastPart = part;
      return;
    }
    if (!PRIMARY.test(line.severity)) return;
    this.flushInto(out);
    const { severity, message, timestamp, pid, user, database, application } = line;
    this.current = { severity, message, timestamp, pid, user, database, application };
    this.lastPart = 'message';
  }

  private flushInto(out: LogEntry[]): void {
    if (this.current) out.push(this.current);
    this.current = undefined;
    this.lastPart = undefined;
  }
}

function fromJson(record: string): LogEntry | undefined {
  try {
    const j = JSON.parse(record) as Record<string, unknown>;
    if (typeof j.error_severity !== 'string' || typeof j.message !== 'string') return undefined;
    const str = (v: unknown) =>
      typeof v === 'string' && v !== '' && v !== '[unknown]' ? v : undefined;
    return {
      timestamp: str(j.timestamp),
      pid: typeof j.pid === 'number' ? j.pid : undefined,
      user: str(j.user),
      database: str(j.dbname),
      application: str(j.application_name),
      severity: j.error_severity,
      message: j.message,
      detail: str(j.detail),
      hint: str(j.hint),
      context: str(j.context),
      statement: str(j.statement),
    };
  } catch {
    return undefined;
  }
}

/** csvlog columns (PG 15+): time, user, db, pid, from, session, line, tag, start, vxid, xid, severity, state, message, detail, hint, internal query, its position, context, query, position, location, application. */
function fromCsv(record: string): LogEntry | undefined {
  const f = parseCsv(record);
  if (f.length < 23) return undefined;
  const str = (v: string | undefined) =>
    v === undefined || v === '' || v === '[unknown]' ? undefined : v;
  return {
    timestamp: str(f[0]),
    user: str(f[1]),
    database: str(f[2]),
    pid: f[3] ? Number(f[3]) : undefined,
    severity: f[11] ?? 'LOG',
    message: f[13] ?? '',
    detail: str(f[14]),
    hint: str(f[15]),
    context: str(f[18]),
    statement: str(f[19]),
    application: str(f[22]),
  };
}

/** The index of the newline ending the first CSV record (newlines inside quotes do not end it). */
function csvRecordEnd(text: string): number | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' && !quoted) return i;
  }
  return undefined;
}

function parseCsv(record: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i += 1) {
    const ch = record[i]!;
    if (quoted) {
      if (ch === '"' && record[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}
