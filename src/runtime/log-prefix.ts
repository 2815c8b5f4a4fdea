/**
 * Parses the server's stderr log lines by compiling the server's own
 * log_line_prefix into a regular expression, so any prefix a user configured
 * works, not only pgpact's `%m [%p] user=%u db=%d app=%a `.
 */

/** The fields a log line's prefix may carry. */
export interface PrefixFields {
  timestamp?: string;
  pid?: number;
  user?: string;
  database?: string;
  application?: string;
  sessionId?: string;
}

/** One line of the log, split into prefix fields, severity and message. */
export interface LogLine extends PrefixFields {
  severity: string;
  message: string;
}

/** The prefix pgpact's own servers use (DEFAULT_SERVER_SETTINGS.log_line_prefix). */
export const PGPACT_LOG_LINE_PREFIX = '%m [%p] user=%u db=%d app=%a ';

const SEVERITIES =
  'LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION';
const TIMESTAMP = String.raw`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z0-9+\-:_/]+)?`;

/** The pattern and capture name of each escape; escapes not listed match lazily. */
const ESCAPES: Record<string, { pattern: string; field?: keyof PrefixFields | 'epoch' }> = {
  m: { pattern: TIMESTAMP, field: 'timestamp' },
  t: { pattern: TIMESTAMP, field: 'timestamp' },
  n: { pattern: String.raw`\d+(?:\.\d+)?`, field: 'epoch' },
  p: { pattern: String.raw`\d+`, field: 'pid' },
  u: { pattern: '.*?', field: 'user' },
  d: { pattern: '.*?', field: 'database' },
  a: { pattern: '.*?', field: 'application' },
  c: { pattern: String.raw`[0-9a-f]+\.[0-9a-f]+`, field: 'sessionId' },
  l: { pattern: String.raw`\d+` },
  e: { pattern: '[0-9A-Z]{5}' },
  s: { pattern: TIMESTAMP },
  v: { pattern: '[0-9/-]*' },
  x: { pattern: String.raw`\d*` },
  Q: { pattern: String.raw`-?\d*` },
  P: { pattern: String.raw`\d*` },
};

const GROUP: Record<string, string> = {
  timestamp: 'ts',
  epoch: 'ep',
  pid: 'pid',
  user: 'usr',
  database: 'db',
  application: 'app',
  sessionId: 'sid',
};

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a log_line_prefix into a line parser; undefined for lines that do not match. */
export function compileLogLinePrefix(prefix: string): (line: string) => LogLine | undefined {
  let pattern = '';
  let optionalFrom: number | undefined;
  const used = new Set<string>();
  for (let i = 0; i < prefix.length; i += 1) {
    const ch = prefix[i]!;
    if (ch !== '%') {
      pattern += escapeRegex(ch);
      continue;
    }
    // Padding (%-10a, %10a) adds spaces on either side.
    const pad = /^-?\d+/.exec(prefix.slice(i + 1));
    if (pad) i += pad[0].length;
    const letter = prefix[i + 1];
    i += 1;
    if (letter === undefined) break;
    if (letter === '%') {
      pattern += '%';
      continue;
    }
    if (letter === 'q') {
      // Non-session processes stop the prefix here.
      optionalFrom = pattern.length;
      continue;
    }
    const spec = ESCAPES[letter] ?? { pattern: '.*?' };
    const group = spec.field ? GROUP[spec.field] : undefined;
    const body = group && !used.has(group) ? `(?<${group}>${spec.pattern})` : `(?:${spec.pattern})`;
    if (group) used.add(group);
    pattern += pad ? ` *${body} *` : body;
  }
  if (optionalFrom !== undefined) {
    pattern = `${pattern.slice(0, optionalFrom)}(?:${pattern.slice(optionalFrom)})?`;
  }
  const regex = new RegExp(`^${pattern}(?<sev>${SEVERITIES}):  (?<msg>.*)$`, 's');
  return (line) => {
    const match = regex.exec(line);
    if (!match?.groups) return undefined;
    return toLogLine(match.groups);
  };
}

/** A parser for lines whose prefix is unknown: takes the severity and a `[pid]` or `user=` if present. */
export function guessLogLine(line: string): LogLine | undefined {
  const match = new RegExp(`^(?<head>.*?)(?<sev>${SEVERITIES}):  (?<msg>.*)$`, 's').exec(line);
  if (!match?.groups) return undefined;
  const head = match.groups.head ?? '';
  const pid = /\[(\d+)\]/.exec(head)?.[1];
  const user = /\buser=([^\s,]*)/.exec(head)?.[1];
  const db = /\bdb=([^\s,]*)/.exec(head)?.[1];
  const app = /\bapp=([^\s,]*)/.exec(head)?.[1];
  const ts = new RegExp(`^${TIMESTAMP}`).exec(head)?.[0];
  return toLogLine({ sev: match.groups.sev!, msg: match.groups.msg!, pid, usr: user, db, app, ts });
}

function toLogLine(groups: Record<string, string | undefined>): LogLine {
  const known = (value: string | undefined) =>
    value === undefined || value === '' || value === '[unknown]' ? undefined : value;
  const line: LogLine = { severity: groups.sev!, message: groups.msg! };
  if (groups.ts) line.timestamp = groups.ts;
  else if (groups.ep) line.timestamp = new Date(Number(groups.ep) * 1000).toISOString();
  if (groups.pid) line.pid = Number(groups.pid);
  if (known(groups.usr)) line.user = groups.usr;
  if (known(groups.db)) line.database = groups.db;
  if (known(groups.app)) line.application = groups.app;
  if (groups.sid) {
    line.sessionId = groups.sid;
    // The session id is `<start time hex>.<pid hex>`: a pid even when %p is absent.
    if (line.pid === undefined) line.pid = Number.parseInt(groups.sid.split('.')[1] ?? '', 16);
  }
  return line;
}

/**
 * Milliseconds since the epoch of a log timestamp. UTC/GMT and numeric offsets
 * are exact; a zone abbreviation is resolved with the server's log_timezone when
 * given, else read as this machine's local time.
 */
export function parseLogTimestamp(text: string, timeZone?: string): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?(?: (\S+))?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  const wall = Date.UTC(
    +y!,
    +mo! - 1,
    +d!,
    +h!,
    +mi!,
    +s!,
    frac ? Math.round(Number(frac) * 1000) : 0,
  );
  if (zone === undefined || /^(UTC|GMT|UCT|Z|Etc\/UTC)$/i.test(zone)) return wall;
  const offset = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (offset) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3] ?? 0);
    return wall - (offset[1] === '-' ? -minutes : minutes) * 60_000;
  }
  if (timeZone) {
    const resolved = zonedWallTimeToEpoch(wall, timeZone);
    if (resolved !== undefined) return resolved;
  }
  const local = new Date(
    +y!,
    +mo! - 1,
    +d!,
    +h!,
    +mi!,
    +s!,
    frac ? Math.round(Number(frac) * 1000) : 0,
  );
  return local.getTime();
}

/** The epoch of a wall-clock time (given as if UTC) in an IANA time zone. */
function zonedWallTimeToEpoch(wallAsUtc: number, timeZone: string): number | undefined {
  try {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    const offsetAt = (epoch: number) => {
      const parts = Object.fromEntries(
        format.formatToParts(new Date(epoch)).map((p) => [p.type, p.value]),
      );
      const asUtc = Date.UTC(
        +parts.year!,
        +parts.month! - 1,
        +parts.day!,
        +parts.hour!,
        +parts.minute!,
        +parts.second!,
      );
      return asUtc - Math.floor(epoch / 1000) * 1000;
    };
    let epoch = wallAsUtc - offsetAt(wallAsUtc);
    epoch = wallAsUtc - offsetAt(epoch);
    return epoch;
  } catch {
    return undefined;
  }
}
