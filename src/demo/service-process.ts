import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { PgpactError } from '../errors.js';
import { processAlive } from '../postgres/local-server.js';
import { openPrivateFile } from '../private-files.js';
import { type ExampleName, exampleProgram } from './example-files.js';

/** One example service (or the traffic generator) running as a child process. */
export interface ServiceProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  logFile: string;
  entry: string;
  /** Settles with the exit code (null when killed by a signal) once the process is gone. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start one service process. */
export interface StartServiceOptions {
  name: string;
  /** Example entry point without extension, e.g. `users/main`. */
  entry: string;
  /** The example it belongs to (default shared-database). */
  example?: ExampleName;
  env: Record<string, string>;
  logFile: string;
  /** Keep running after pgpact exits (--keep): own session, no parent watch. */
  outlive: boolean;
  signal?: AbortSignal;
  /** How long to wait for its `listening` line. */
  startTimeoutMs?: number;
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 12): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The first JSON line of a log file whose `event` is the given one (the file is re-read as it grows). */
export function findLogEvent(file: string, event: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(`"${event}"`)) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.event === event) return parsed;
    } catch {
      /* a partial line: read again */
    }
  }
  return undefined;
}

/**
 * Starts an example service with Node, output appended to its log file, in its own
 * process group (Ctrl-C reaches the demo, which stops it in order). Unless it must
 * outlive pgpact, it watches pgpact's pid and exits if pgpact is killed.
 */
export async function startServiceProcess(options: StartServiceOptions): Promise<ServiceProcess> {
  const program = exampleProgram(options.entry, options.example);
  fs.closeSync(openPrivateFile(options.logFile, 'w'));
  const fd = openPrivateFile(options.logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.NODE_OPTIONS;
  if (options.outlive) delete env.PGPACT_PARENT_PID;
  else env.PGPACT_PARENT_PID = String(process.pid);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(program.command, program.args, {
      env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  if (options.outlive) child.unref();
  const pid = child.pid ?? 0;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  const stop = async (graceMs = 5000) => {
    if (gone || !processAlive(pid)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    const listening = findLogEvent(options.logFile, 'listening');
    if (listening && typeof listening.port === 'number') {
      return {
        name: options.name,
        pid,
        port: listening.port,
        url: `http://127.0.0.1:${listening.port}`,
        logFile: options.logFile,
        entry: options.entry,
        exited,
        stop,
      };
    }
    const why = gone
      ? `exited before listening (code ${await exited})`
      : options.signal?.aborted
        ? 'interrupted'
        : Date.now() > deadline
          ? 'did not start listening in time'
          : undefined;
    if (why !== undefined) {
      await stop(1000);
      throw new PgpactError('DEMO_FAILED', `the ${options.name} service ${why}`, {
        detail: logTail(options.logFile),
        hint: `its log: ${options.logFile}`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Waits until a service's GET /health answers 200 (its pool reaches the database): the
 * readiness check a load balancer makes before sending a new instance traffic.
 */
export async function waitUntilReady(
  url: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last = 'no answer';
  for (;;) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (options.signal?.aborted || Date.now() > deadline) {
      throw new PgpactError('DEMO_FAILED', `${url}/health did not answer 200 (${last})`, {
        hint: 'the new instance is not ready: the old one keeps the traffic',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
