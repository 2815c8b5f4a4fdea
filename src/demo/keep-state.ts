import fs from 'node:fs';
import path from 'node:path';
import { defaultStateDir, embeddedServerFiles, stopEmbeddedServer } from '../postgres/embedded.js';
import { processAlive } from '../postgres/local-server.js';
import { writePrivateFile } from '../private-files.js';

/** What `pgpact demo --keep` left running, saved as <stateDir>/demo.json so `--stop` can end it. */
export interface KeptDemo {
  version: 1;
  startedAt: string;
  /** Where the kept demo's state lives: credentials.json, logs/, server/ (embedded). */
  stateDir: string;
  /** Whether the demo's persistent embedded server (in stateDir) holds the database. */
  embeddedServer: boolean;
  /** The demo database URL, password redacted. */
  database: string;
  processes: { name: string; pid: number; url?: string; file: string; logFile: string }[];
}

function stateFile(stateDir: string): string {
  return path.join(stateDir, 'demo.json');
}

/** Saves what was left running. */
export function writeKeptDemo(stateDir: string, kept: KeptDemo): void {
  writePrivateFile(stateFile(stateDir), `${JSON.stringify(kept, null, 2)}\n`);
}

/** Reads what a previous --keep left running, if anything. */
export function readKeptDemo(stateDir: string): KeptDemo | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(stateDir), 'utf8')) as KeptDemo;
  } catch {
    return undefined;
  }
}

/** Whether pid still runs the program it was started with (a recycled pid is left alone). */
function runs(pid: number, file: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(file);
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

/** Stops the processes a previous --keep left running (SIGTERM, then SIGKILL); returns their names. */
export async function stopKeptProcesses(stateDir: string): Promise<string[]> {
  const kept = readKeptDemo(stateDir);
  if (!kept) return [];
  const stopped: string[] = [];
  // Reverse order of start: the dashboard and the traffic first, then the services they call.
  for (const p of [...kept.processes].reverse()) {
    if (!runs(p.pid, p.file)) continue;
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      continue;
    }
    const deadline = Date.now() + 5000;
    while (processAlive(p.pid) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    if (processAlive(p.pid)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    stopped.unshift(p.name);
  }
  fs.rmSync(stateFile(stateDir), { force: true });
  return stopped;
}

/** Stops what a --keep run left (services, traffic, dashboard) and the demo's embedded server. */
export async function stopKeptDemo(): Promise<{ stopped: string[]; serverStopped: boolean }> {
  const stateDir = path.join(defaultStateDir(), 'demo');
  const stopped = await stopKeptProcesses(stateDir);
  const serverStopped = fs.existsSync(embeddedServerFiles(stateDir).dataDir)
    ? await stopEmbeddedServer(stateDir)
    : false;
  return { stopped, serverStopped };
}
