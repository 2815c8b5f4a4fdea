import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgpactError } from '../errors.js';
import { freePort } from '../postgres/local-server.js';
import { openPrivateFile } from '../private-files.js';

/** A `pgpact dashboard` running as its own detached process (for `pgpact demo --keep`). */
export interface DashboardProcess {
  pid: number;
  url: string;
  port: number;
  /** The program file its command line names (to recognise the pid later). */
  file: string;
  logFile: string;
}

export interface DashboardProcessOptions {
  /** Admin URL of the database (passed in the environment, never on the command line). */
  databaseUrl: string;
  manifestFile: string;
  /** Where its output goes. */
  logFile: string;
  /** The server's log, for deadlocks with both sides named. */
  serverLogFile?: string;
  usageFile?: string;
  port?: number;
  /** How long to wait for it to answer. Default 20 s. */
  timeoutMs?: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const fromSources = import.meta.url.endsWith('.ts');

/** The command that runs the CLI: the built bin, or the sources through tsx when running from them. */
function cliProgram(): { command: string; args: string[]; file: string } {
  const root = path.resolve(here, fromSources ? '../..' : '../../..');
  if (fromSources) {
    const file = path.join(root, 'src', 'cli', 'main.ts');
    const code = `import(${JSON.stringify(`file://${file}`)}).then((m) => m.main(process.argv.slice(1)))`;
    return {
      command: process.execPath,
      args: ['--import', 'tsx', '--input-type=module', '-e', code],
      file,
    };
  }
  const file = path.join(root, 'bin', 'pgpact.js');
  return { command: process.execPath, args: [file], file };
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}api/health`, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.setTimeout(1000, () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Starts `pgpact dashboard` detached on 127.0.0.1 (it outlives this process) and waits
 * until it answers; the caller records pid and file to stop it later.
 */
export async function spawnDashboardProcess(
  options: DashboardProcessOptions,
): Promise<DashboardProcess> {
  const port = options.port ?? (await freePort());
  const program = cliProgram();
  const args = [
    ...program.args,
    'dashboard',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--config',
    options.manifestFile,
    ...(options.serverLogFile ? ['--log-file', options.serverLogFile] : []),
    ...(options.usageFile ? ['--usage-file', options.usageFile] : []),
  ];
  const fd = openPrivateFile(options.logFile, 'w');
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: options.databaseUrl };
  delete env.NODE_OPTIONS;
  const child = spawn(program.command, args, { env, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  child.unref();
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    if (await answers(url))
      return { pid: child.pid ?? 0, url, port, file: program.file, logFile: options.logFile };
    await new Promise((r) => setTimeout(r, 200));
  }
  if (exited === undefined && child.pid) process.kill(child.pid, 'SIGTERM');
  const tail = fs.existsSync(options.logFile)
    ? fs.readFileSync(options.logFile, 'utf8').split('\n').slice(-10).join('\n')
    : '';
  throw new PgpactError(
    'INTERNAL',
    `the dashboard process did not start${exited !== undefined ? ` (exit ${exited})` : ''}`,
    {
      detail: tail,
      hint: `see ${options.logFile}`,
    },
  );
}
