import os from 'node:os';
import { PgpactError } from '../errors.js';

/** Host names that mean "this machine". */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * The CPUs of the database server when it runs on this machine (a loopback host or
 * a Unix socket in the URL), else null: Postgres does not tell its CPU count over SQL.
 */
export function localServerCpus(databaseUrl: string): number | null {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return null;
  }
  const socket = url.searchParams.get('host');
  const local =
    (url.hostname === '' && (socket === null || socket.startsWith('/'))) ||
    LOCAL_HOSTS.has(url.hostname) ||
    (url.hostname === '' && socket !== null && LOCAL_HOSTS.has(socket));
  return local ? os.availableParallelism() : null;
}

/** Reads a --cpus value: a whole number of CPUs from 1 to 4096. */
export function parseCpus(text: string): number {
  const cpus = Number(text);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 4096) {
    throw new PgpactError('USAGE', `--cpus ${JSON.stringify(text)} is not a number of CPUs`, {
      hint: 'give the database server\u2019s CPU count, e.g. --cpus 8',
    });
  }
  return cpus;
}
