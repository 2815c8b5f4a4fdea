/**
 * Passwords of the roles pgpact creates: random, kept in <stateDir>/credentials.json
 * (mode 0600) per server and role, never printed. PGPACT_PASSWORD_<ROLE> overrides
 * them for teams whose secrets live elsewhere.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { redactUrl, urlWith } from '../postgres/client.js';
import { defaultStateDir } from '../postgres/embedded.js';
import { ensurePrivateDir } from '../private-files.js';

interface CredentialsFile {
  version: 1;
  /** `host:port` → role → password. */
  servers: Record<string, Record<string, string>>;
}

/** The file passwords are kept in. */
export function credentialsPath(stateDir: string = defaultStateDir()): string {
  return path.join(stateDir, 'credentials.json');
}

/** The environment variable that overrides a role's password: PGPACT_PASSWORD_<ROLE>, upper-cased, other characters as `_`. */
export function passwordEnvVar(role: string): string {
  return `PGPACT_PASSWORD_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The key a server's passwords are kept under: `host:port` of the admin URL. */
export function serverKey(adminUrl: string): string {
  const url = new URL(adminUrl);
  return `${decodeURIComponent(url.hostname) || 'localhost'}:${url.port || '5432'}`;
}

function readFile(stateDir: string): CredentialsFile {
  const file = credentialsPath(stateDir);
  if (!fs.existsSync(file)) return { version: 1, servers: {} };
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CredentialsFile>;
    return { version: 1, servers: parsed.servers ?? {} };
  } catch (error) {
    throw new PgpactError('CREDENTIALS_MISSING', `${file} is not valid JSON`, {
      hint: 'restore it, or delete it and set PGPACT_PASSWORD_<ROLE> for each service role',
      cause: error,
    });
  }
}

/** The password of a role on the admin URL's server: PGPACT_PASSWORD_<ROLE>, else the one pgpact generated; undefined if neither. */
export function rolePassword(
  adminUrl: string,
  role: string,
  stateDir?: string,
): string | undefined {
  const fromEnv = process.env[passwordEnvVar(role)];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return readFile(stateDir ?? defaultStateDir()).servers[serverKey(adminUrl)]?.[role];
}

/** The admin URL with a service role's user and password: what the service (or a test) connects with. */
export function serviceUrl(adminUrl: string, role: string, stateDir?: string): string {
  const password = rolePassword(adminUrl, role, stateDir);
  if (password === undefined) {
    throw new PgpactError(
      'CREDENTIALS_MISSING',
      `no password known for role ${role} on ${redactUrl(adminUrl)}`,
      {
        hint: `pgpact keeps the passwords of roles it creates in ${credentialsPath(stateDir)}; for a role created elsewhere set ${passwordEnvVar(role)}`,
      },
    );
  }
  return urlWith(adminUrl, { user: role, password });
}

/** A password for a role pgpact is about to create: the override if set, else a random one (to be saved). */
export function newRolePassword(role: string): { password: string; generated: boolean } {
  const fromEnv = process.env[passwordEnvVar(role)];
  if (fromEnv !== undefined && fromEnv !== '') return { password: fromEnv, generated: false };
  return { password: randomBytes(24).toString('base64url'), generated: true };
}

/** Saves generated passwords for the admin URL's server (atomically, mode 0600). */
export function saveRolePasswords(
  adminUrl: string,
  passwords: Record<string, string>,
  stateDir?: string,
): void {
  if (Object.keys(passwords).length === 0) return;
  const dir = stateDir ?? defaultStateDir();
  const data = readFile(dir);
  const key = serverKey(adminUrl);
  data.servers[key] = { ...data.servers[key], ...passwords };
  ensurePrivateDir(dir);
  const file = credentialsPath(dir);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temp, file);
  fs.chmodSync(file, 0o600);
}
