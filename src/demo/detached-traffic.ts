import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { openPrivateFile } from '../private-files.js';
import { exampleProgram } from './example-files.js';
import { findLogEvent, logTail } from './service-process.js';
import type { DemoService } from './types.js';

/** Starts the traffic generator as its own process that outlives pgpact (--keep), light: 20 requests/s. */
export async function startDetachedTraffic(
  services: Record<string, DemoService>,
  stateDir: string,
) {
  const program = exampleProgram('traffic/main');
  const logFile = path.join(stateDir, 'logs', 'traffic.log');
  const fd = openPrivateFile(logFile, 'w');
  const env = { ...process.env };
  delete env.PGPACT_PARENT_PID;
  delete env.NODE_OPTIONS;
  const args = [
    ...program.args,
    ...[
      '--users',
      services.users!.url,
      '--invoicing',
      services.invoicing!.url,
      '--reporting',
      services.reporting!.url,
    ],
    ...['--rate', '20', '--interval', '60'],
  ];
  const child = spawn(program.command, args, { env, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // Report it as running only once it runs: warmed up, requests flowing.
  const deadline = Date.now() + 20_000;
  while (!findLogEvent(logFile, 'traffic-started')) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill('SIGKILL');
      throw new PgpactError('DEMO_FAILED', 'the traffic generator did not start', {
        detail: logTail(logFile),
      });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { pid: child.pid ?? 0, logFile };
}
