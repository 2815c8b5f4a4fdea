import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { PgpactError } from '../errors.js';

/** Where Debian installs PgBouncer. */
const DEBIAN_PATH = '/usr/sbin/pgbouncer';

/** The pgbouncer executable: $PGPACT_PGBOUNCER, Debian's /usr/sbin/pgbouncer, else the PATH. */
export function findPgbouncer(): string | undefined {
  const fromEnv = process.env.PGPACT_PGBOUNCER;
  if (fromEnv !== undefined && fromEnv !== '') return fs.existsSync(fromEnv) ? fromEnv : undefined;
  if (fs.existsSync(DEBIAN_PATH)) return DEBIAN_PATH;
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path === '' ? undefined : path;
}

/** The pgbouncer executable, or PGBOUNCER_MISSING saying how to install it. */
export function requirePgbouncer(): string {
  const found = findPgbouncer();
  if (found === undefined) {
    throw new PgpactError('PGBOUNCER_MISSING', 'pgbouncer is not installed', {
      hint: 'install it (Debian: apt-get install pgbouncer) or set PGPACT_PGBOUNCER to its path',
    });
  }
  return found;
}
