import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { createPool, logEvent } from './database.js';

/** A service's settings, read from its environment. */
export interface ServiceConfig {
  databaseUrl: string;
  port: number;
  host: string;
  poolSize: number;
  /** Exit when this process id is gone (set by a parent that starts the service as its child). */
  parentPid?: number;
}

/** Reads DATABASE_URL, PORT (0 = any free port), HOST, POOL_SIZE and PGPACT_PARENT_PID; throws a readable message. */
export function readServiceConfig(env: NodeJS.ProcessEnv, defaultPoolSize: number): ServiceConfig {
  const problems: string[] = [];
  const databaseUrl = env.DATABASE_URL ?? '';
  if (databaseUrl === '')
    problems.push('DATABASE_URL is required (the URL of this service’s own role)');
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return n;
  };
  const port = int('PORT', 0, 0, 65535);
  const poolSize = int('POOL_SIZE', defaultPoolSize, 1, 1000);
  const parentPid = int('PGPACT_PARENT_PID', 0, 0, 2 ** 31);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return {
    databaseUrl,
    port,
    poolSize,
    host: env.HOST || '127.0.0.1',
    parentPid: parentPid || undefined,
  };
}

/** An HTTP server listening, with a close() that drains in-flight requests first. */
export interface ListeningServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server for a listener on host:port (0 = a free port). */
export async function listen(
  listener: RequestListener,
  port: number,
  host = '127.0.0.1',
): Promise<ListeningServer> {
  let draining = false;
  // While draining, every response closes its connection, so a busy keep-alive client
  // cannot hold the server open until the forced close.
  const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    if (draining) res.setHeader('connection', 'close');
    listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const close = () => {
    draining = true;
    closing ??= new Promise<void>((resolve) => {
      // Stop accepting, drop idle keep-alive sockets, give in-flight requests 5 s.
      const force = setTimeout(() => server.closeAllConnections(), 5_000);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
      // A connection busy at close() becomes idle after its response: drop it then.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      idle.unref();
      server.once('close', () => clearInterval(idle));
    });
    return closing;
  };
  return { server, port: bound, url: `http://${host}:${bound}`, close };
}

/**
 * The `main` of every example service: reads its environment, opens its pool, listens,
 * prints `{"event":"listening",...}` on stdout, and shuts down cleanly on SIGTERM/SIGINT
 * or when its parent process disappears.
 */
export async function runService(
  name: string,
  defaultPoolSize: number,
  createApp: (pool: pg.Pool) => RequestListener,
): Promise<void> {
  let config: ServiceConfig;
  try {
    config = readServiceConfig(process.env, defaultPoolSize);
  } catch (error) {
    logEvent('config_invalid', { service: name, message: (error as Error).message });
    process.exitCode = 2;
    return;
  }
  const pool = createPool({
    databaseUrl: config.databaseUrl,
    applicationName: name,
    poolSize: config.poolSize,
  });
  let running: ListeningServer;
  try {
    running = await listen(createApp(pool), config.port, config.host);
  } catch (error) {
    logEvent('listen_failed', { service: name, message: (error as Error).message });
    await pool.end().catch(() => undefined);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', service: name, port: running.port, url: running.url, pid: process.pid })}\n`,
  );
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    logEvent('stopping', { service: name, reason });
    await running.close();
    await pool.end().catch(() => undefined);
    logEvent('stopped', { service: name });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (config.parentPid !== undefined) {
    const parent = config.parentPid;
    const originalPpid = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== originalPpid || !alive(parent)) void stop('parent exited');
    }, 200);
    watch.unref();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
