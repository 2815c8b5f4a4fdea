import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The connection a password is looked up for, as libpq matches it against a password file. */
export interface PasswordTarget {
  host: string;
  port: number | string;
  database: string;
  user: string;
}

/** The password file libpq reads: PGPASSFILE, else ~/.pgpass. */
export function passwordFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGPASSFILE !== undefined && env.PGPASSFILE !== ''
    ? env.PGPASSFILE
    : path.join(os.homedir(), '.pgpass');
}

/** Splits one line at unescaped colons, undoing `\:` and `\\` as libpq does. */
function fields(line: string): string[] {
  const result: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) {
      current += line[i + 1];
      i += 1;
    } else if (ch === ':') {
      result.push(current);
      current = '';
    } else current += ch;
  }
  result.push(current);
  return result;
}

/**
 * The password for a connection from a password file in libpq's format
 * (`host:port:database:user:password`, `*` matches anything, first match wins; a host
 * starting with `/` or empty matches as `localhost`). Like libpq, a file readable by group or
 * others is ignored (on POSIX systems). Returns undefined when nothing matches.
 */
export function passwordFromFile(
  target: PasswordTarget,
  file: string = passwordFilePath(),
): string | undefined {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return undefined;
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const host = target.host === '' || target.host.startsWith('/') ? 'localhost' : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const parts = fields(raw);
    if (parts.length < 5) continue;
    const password = parts.slice(4).join(':');
    if (wanted.every((value, i) => parts[i] === '*' || parts[i] === value)) return password;
  }
  return undefined;
}
