import net from 'node:net';
import { PgpactError, type PostgresErrorFields, toPostgresError } from '../errors.js';

/** Where a connection went: the server address and the names it asked for, never the password. */
export interface ConnectionTarget {
  /** The URL with its password masked. */
  shown: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

const SCHEMES = new Set(['postgres:', 'postgresql:']);

/** The password of a URL (in its user part or a `?password=` / `?sslpassword=` parameter) replaced by ***, also for text that does not parse as a URL. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const keys = [...parsed.searchParams.keys()].filter((key) => /pass/i.test(key));
    if (parsed.password || keys.length > 0) {
      if (parsed.password) parsed.password = '***';
      // libpq also takes the password as a parameter: ?password=... (and sslpassword=...).
      for (const key of keys) parsed.searchParams.set(key, '***');
      return parsed.toString();
    }
    // `user:secret@host` without a scheme parses as scheme `user:`: mask it all the same.
    return url.replace(/:[^:@/]*@/, ':***@');
  } catch {
    // user:password@ after the scheme: keep the user, hide everything up to the last @;
    // without a scheme, any `:secret@`; and any pass...= parameter.
    const masked = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):.*@/i, '$1:***@');
    return (masked !== url ? masked : url.replace(/:[^:@/]*@/, ':***@')).replace(
      /(pass[a-z]*=)[^&\s]*/gi,
      '$1***',
    );
  }
}

/**
 * Checks that a database URL is a postgres:// or postgresql:// URL that parses;
 * throws DATABASE_URL_INVALID naming the (masked) URL, where it came from, and the fix.
 */
export function checkDatabaseUrl(url: string, source = 'the database URL'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PgpactError('DATABASE_URL_INVALID', `${source} is not a valid URL: ${maskUrl(url)}`, {
      hint: 'use the form postgresql://user@host:5432/dbname (percent-encode special characters in the user and password, e.g. @ as %40)',
    });
  }
  if (!SCHEMES.has(parsed.protocol)) {
    throw new PgpactError(
      'DATABASE_URL_INVALID',
      `${source} is a ${parsed.protocol.replace(/:$/, '')}:// URL (${maskUrl(url)}); pgpact works with PostgreSQL only`,
      { hint: 'give a postgresql://user@host:5432/dbname URL of a PostgreSQL 15+ server' },
    );
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
    throw new PgpactError('DATABASE_URL_INVALID', `${source} names no host: ${maskUrl(url)}`, {
      hint: 'use the form postgresql://user@host:5432/dbname',
    });
  }
  if (parsed.port !== '' && (Number(parsed.port) < 1 || Number(parsed.port) > 65_535)) {
    throw new PgpactError(
      'DATABASE_URL_INVALID',
      `${source} has an invalid port: ${maskUrl(url)}`,
      {
        hint: 'Postgres listens on 5432 unless configured otherwise',
      },
    );
  }
  return parsed;
}

/** What answered on a port: Postgres, something else (with its first bytes), or nothing. */
export type ProbeAnswer =
  | { kind: 'postgres' }
  | { kind: 'other'; sample: string }
  | { kind: 'silent' }
  | { kind: 'closed' };

/** Printable first bytes of a foreign answer (control bytes escaped). */
function sampleOf(data: Buffer): string {
  return [...data.subarray(0, 24).toString('latin1')]
    .map((ch) => {
      const code = ch.charCodeAt(0);
      return code >= 0x20 && code < 0x7f ? ch : `\\x${code.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

/**
 * Asks host:port whether it speaks Postgres's protocol: sends an SSLRequest, to which a
 * Postgres server answers with one byte, S or N, before anything else. A server that
 * speaks first (SSH, MySQL, SMTP) or answers otherwise (HTTP) is not Postgres.
 */
export function probePostgres(host: string, port: number, timeoutMs: number): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = host.startsWith('/')
      ? net.connect({ path: `${host}/.s.PGSQL.${port}` })
      : net.connect({ host, port });
    let settled = false;
    const done = (answer: ProbeAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ kind: 'silent' }), timeoutMs);
    socket.on('connect', () => {
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80_877_103, 4);
      socket.write(request);
    });
    socket.on('data', (data: Buffer) => {
      const first = data[0];
      done(
        data.length === 1 && (first === 0x53 || first === 0x4e)
          ? { kind: 'postgres' }
          : { kind: 'other', sample: sampleOf(data) },
      );
    });
    socket.on('error', () => done({ kind: 'closed' }));
    socket.on('close', () => done({ kind: 'closed' }));
  });
}

const SERVER_TIPS =
  'check the host and port (Postgres listens on 5432 unless configured otherwise)';

function notPostgres(target: ConnectionTarget, what: string, cause: unknown): PgpactError {
  return new PgpactError(
    'DATABASE_UNREACHABLE',
    `${target.host}:${target.port} is not a PostgreSQL server: ${what} (${target.shown})`,
    { hint: SERVER_TIPS, cause },
  );
}

/** The server's fields of a connection-time error, kept on the error pgpact throws. */
export class ConnectionError extends PgpactError {
  readonly pg: PostgresErrorFields;

  constructor(
    code: 'AUTHENTICATION_FAILED' | 'DATABASE_NOT_FOUND' | 'DATABASE_UNREACHABLE',
    message: string,
    pg: PostgresErrorFields,
    options: { hint?: string; detail?: string; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'ConnectionError';
    this.pg = pg;
  }
}

function serverFields(error: Error & PostgresErrorFields): PostgresErrorFields {
  const { code, detail, hint, position, where, schema, table, column, constraint } = error;
  return { code, detail, hint, position, where, schema, table, column, constraint };
}

/**
 * Turns a failed connection attempt into an error naming the cause and the fix.
 * `databases` lists the server's databases when the asked-for one does not exist.
 */
export async function describeConnectFailure(
  error: unknown,
  target: ConnectionTarget,
  context: {
    passwordGiven: boolean;
    listDatabases: () => Promise<string[] | undefined>;
    probe: () => Promise<ProbeAnswer>;
  },
): Promise<unknown> {
  if (error instanceof PgpactError) return error;
  const e = error as Error & PostgresErrorFields & { errno?: number; syscall?: string };
  const where = `${target.shown}`;
  switch (e.code) {
    case '28P01':
      return new ConnectionError(
        'AUTHENTICATION_FAILED',
        `password authentication failed for user "${target.user}" at ${where}`,
        serverFields(e),
        {
          hint: context.passwordGiven
            ? `the password is wrong, or role "${target.user}" does not exist (the server does not say which): check the password in the URL, PGPASSWORD or ~/.pgpass`
            : 'no password was given: put it in PGPASSWORD or ~/.pgpass (PGPASSFILE), or in the URL of an environment variable (DATABASE_URL, --database-url-env NAME)',
          cause: error,
        },
      );
    case '28000':
      return new ConnectionError(
        'AUTHENTICATION_FAILED',
        `the server refused user "${target.user}": ${e.message} (${where})`,
        serverFields(e),
        {
          hint: /does not exist/.test(e.message)
            ? `create the role (CREATE ROLE "${target.user}" LOGIN PASSWORD '...') or connect as an existing one`
            : 'check pg_hba.conf on the server: it has no entry allowing this user, database and address',
          cause: error,
        },
      );
    case '3D000': {
      const databases = await context.listDatabases().catch(() => undefined);
      return new ConnectionError(
        'DATABASE_NOT_FOUND',
        `database "${target.database}" does not exist on ${target.host}:${target.port} (${where})`,
        serverFields(e),
        {
          hint:
            databases && databases.length > 0
              ? `the server has: ${databases.join(', ')}; fix the database name in the URL, or create it: createdb ${JSON.stringify(target.database)}`
              : `create it (createdb ${JSON.stringify(target.database)}, or CREATE DATABASE) or fix the database name in the URL`,
          cause: error,
        },
      );
    }
    case 'ECONNREFUSED':
      return new PgpactError(
        'DATABASE_UNREACHABLE',
        `nothing listens on ${target.host}:${target.port}: connection refused (${where})`,
        {
          hint: `is the server running? ${SERVER_TIPS}; without a URL pgpact uses its embedded Postgres`,
          cause: error,
        },
      );
    case 'ENOENT':
      if (target.host.startsWith('/')) {
        return new PgpactError(
          'DATABASE_UNREACHABLE',
          `no Postgres socket in ${target.host} for port ${target.port} (${where})`,
          { hint: 'is the server running? check the socket directory and port', cause: error },
        );
      }
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new PgpactError(
        'DATABASE_UNREACHABLE',
        `unknown host "${target.host}": the name does not resolve (${where})`,
        { hint: 'check the host name in the URL (and your DNS or VPN)', cause: error },
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new PgpactError(
        'DATABASE_UNREACHABLE',
        `no route to ${target.host}:${target.port} (${where})`,
        { hint: 'check the host, your network and any firewall between', cause: error },
      );
    default:
      break;
  }
  // Any other server error (too many connections, 53300; the database starting up, 57P03): its fields kept.
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return toPostgresError(error);
  const message = e instanceof Error ? e.message : String(e);
  if (
    /received invalid response|terminated unexpectedly|timeout expired|ECONNRESET|EPIPE/i.test(
      `${message} ${e.code ?? ''}`,
    )
  ) {
    const answer = await context.probe();
    if (answer.kind === 'other')
      return notPostgres(target, `it answered "${answer.sample}", not Postgres's protocol`, error);
    if (answer.kind === 'silent')
      return notPostgres(
        target,
        'it accepted the connection but never answered as Postgres does',
        error,
      );
    if (
      answer.kind === 'closed' &&
      /received invalid response|terminated unexpectedly/.test(message)
    )
      return notPostgres(
        target,
        'it closed the connection instead of answering as Postgres does',
        error,
      );
  }
  return new PgpactError('DATABASE_UNREACHABLE', `cannot connect to ${where}: ${message}`, {
    hint: 'check --database-url / DATABASE_URL, or omit both to use the embedded Postgres',
    cause: error,
  });
}
