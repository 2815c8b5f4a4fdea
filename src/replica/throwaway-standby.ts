import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PgpactError } from '../errors.js';
import {
  freePort,
  type LocalServer,
  runAsIdentity,
  serverUrl,
  startCluster,
  stopCluster,
} from '../postgres/local-server.js';

const execFileAsync = promisify(execFile);

/** A throwaway streaming standby of a local server (tests, benches); destroy() stops and removes it. */
export interface Standby {
  rootDir: string;
  logFile: string;
  port: number;
  /** Superuser URL to the standby's `postgres` database (the primary's password). */
  url: string;
  destroy(): Promise<void>;
}

/**
 * Clones the primary with `pg_basebackup -R -X stream -c fast` (run as the `postgres` OS
 * user when root, like the servers themselves) and starts it as a hot standby.
 */
export async function startThrowawayStandby(
  primary: LocalServer,
  settings: Record<string, string> = {},
): Promise<Standby> {
  const binDir = path.dirname(primary.binaries.postgres);
  const basebackup = path.join(binDir, 'pg_basebackup');
  if (!fs.existsSync(basebackup)) {
    throw new PgpactError(
      'EMBEDDED_SERVER_FAILED',
      `no pg_basebackup next to ${primary.binaries.postgres}`,
      {
        hint: 'use a full installation such as /usr/lib/postgresql/15/bin (Debian: postgresql-15)',
      },
    );
  }
  const who = runAsIdentity();
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), `pgpact-${process.pid}-`));
  fs.chmodSync(rootDir, 0o700);
  if (who.uid !== undefined) fs.chownSync(rootDir, who.uid, who.gid ?? who.uid);
  const destroy = async () => {
    await stopCluster(primary.binaries, rootDir, 'immediate');
    fs.rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    await execFileAsync(
      basebackup,
      [
        '-D',
        path.join(rootDir, 'data'),
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        primary.superuser,
      ],
      { ...who, env: { ...process.env, PGPASSWORD: primary.password, LC_ALL: 'C' } },
    );
    const port = await freePort();
    await startCluster(primary.binaries, rootDir, port, { hot_standby: 'on', ...settings });
    return {
      rootDir,
      logFile: path.join(rootDir, 'postgres.log'),
      port,
      url: serverUrl(port, primary.password),
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
