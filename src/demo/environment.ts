import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLegacyData, LEGACY_TABLE } from '../../examples/shared-database/setup/legacy.js';
import { seedAccounts, seedInvoices } from '../../examples/shared-database/setup/seed.js';
import { startTraffic, type Traffic } from '../../examples/shared-database/traffic/generator.js';
import { loadManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/types.js';
import { redactUrl, withClient } from '../postgres/client.js';
import {
  defaultStateDir,
  embeddedServerFiles,
  ensureEmbeddedServer,
} from '../postgres/embedded.js';
import { startThrowawayServer } from '../postgres/local-server.js';
import { applyProvisioning } from '../provision/apply.js';
import { serviceUrl } from '../provision/credentials.js';
import { spawnDashboardProcess } from '../server/dashboard-process.js';
import { demoUsageFile } from './chapters/observe.js';
import { createDemoDatabase, dropDemoDatabase, markDemoRoles } from './demo-database.js';
import { exampleDir, exampleManifestFile, exampleProgram } from './example-files.js';
import { type KeptDemo, stopKeptProcesses, writeKeptDemo } from './keep-state.js';
import { startDetachedTraffic } from './detached-traffic.js';
import { deployWithHandover } from './deploy.js';
import { type ServiceProcess, startServiceProcess } from './service-process.js';
import type { DemoService, RestartedService, RestartOptions } from './types.js';

/** The example's services, the entry point of each and its pool size (below its role's connection limit). */
const SERVICES = [
  { name: 'users', entry: 'users/main', poolSize: 5 },
  { name: 'invoicing', entry: 'invoicing/main', poolSize: 5 },
  { name: 'reporting', entry: 'reporting/main', poolSize: 3 },
] as const;

/** How the demo gets its Postgres. */
export type ServerKind = 'throwaway' | 'persistent' | 'external';

/** How to set up the demo. */
export interface DemoSetupOptions {
  databaseUrl?: string;
  keep: boolean;
  /** Requests per second of the traffic that runs during the chapters. */
  trafficRate: number;
  /** Accounts to seed (invoices: two for each of the first 60 %). */
  accounts: number;
  signal: AbortSignal;
  progress(text: string): void;
}

/** The system running: Postgres, the provisioned example, three services and traffic. */
export interface DemoEnvironment {
  serverKind: ServerKind;
  adminUrl: string;
  manifest: Manifest;
  exampleDir: string;
  stateDir: string;
  services: Record<string, DemoService>;
  traffic: Traffic;
  restartService(name: string, options?: RestartOptions): Promise<RestartedService>;
  /** Stops everything the demo started and removes its temporary files. */
  teardown(): Promise<void>;
  /** For --keep: hands the services over to a detached traffic generator and saves demo.json. */
  leaveRunning(): Promise<KeptDemo>;
  /** Every process and temporary directory the demo started or made (for the report and leak checks). */
  started: StartedResources;
}

/** What the demo started: checked gone after teardown. */
export interface StartedResources {
  /** The postmaster of a throwaway or demo-owned server. */
  postgresPid?: number;
  /** Every service process ever started (restarts included). */
  processes: { name: string; pid: number }[];
  /** Temporary directories the demo made (removed by teardown). */
  tempDirs: string[];
}

/**
 * Starts Postgres (throwaway unless --keep or --database-url), creates the legacy table
 * as the admin, applies the example manifest, seeds data as each service's role, starts
 * the three services and the traffic. If any step fails, what was started is stopped.
 */
export async function setUpDemo(options: DemoSetupOptions): Promise<DemoEnvironment> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const check = () => {
    if (options.signal.aborted) throw new DemoInterrupted();
  };
  const started: StartedResources = { processes: [], tempDirs: [] };
  try {
    const manifest = loadManifest(exampleManifestFile());
    const roles = manifest.services.map((s) => s.role);
    const serverKind: ServerKind = options.databaseUrl
      ? 'external'
      : options.keep
        ? 'persistent'
        : 'throwaway';
    const stateDir = options.keep
      ? path.join(defaultStateDir(), 'demo')
      : fs.mkdtempSync(path.join(os.tmpdir(), `pgpact-${process.pid}-`));
    if (!options.keep) {
      started.tempDirs.push(stateDir);
      cleanups.push(async () => fs.rmSync(stateDir, { recursive: true, force: true }));
    } else {
      const stopped = await stopKeptProcesses(stateDir);
      if (stopped.length > 0)
        options.progress(`stopped what the last --keep left running: ${stopped.join(', ')}`);
    }

    let serverUrl: string;
    if (serverKind === 'throwaway') {
      const server = await startThrowawayServer({ prefix: 'pgpact' });
      cleanups.push(() => server.destroy());
      started.tempDirs.push(server.rootDir);
      started.postgresPid = postmasterPid(server.dataDir);
      serverUrl = server.url;
      options.progress(`Postgres ${server.majorVersion} started (throwaway, removed at the end)`);
    } else if (serverKind === 'persistent') {
      serverUrl = await ensureEmbeddedServer(stateDir);
      started.postgresPid = postmasterPid(embeddedServerFiles(stateDir).dataDir);
      options.progress(
        `Postgres running (kept under ${path.relative(process.cwd(), stateDir) || stateDir})`,
      );
    } else {
      serverUrl = options.databaseUrl!;
      options.progress(
        `Postgres at ${redactUrl(serverUrl)} (the demo creates database pgpact_demo and roles ${roles.join(', ')})`,
      );
    }
    check();
    const adminUrl = await createDemoDatabase(serverUrl, roles, serverKind === 'external');
    if (serverKind === 'external' && !options.keep) {
      cleanups.push(async () => {
        await dropDemoDatabase(serverUrl, roles);
      });
    }

    check();
    await withClient(adminUrl, (c) => createLegacyData(c));
    options.progress(
      `legacy table ${LEGACY_TABLE.schema}.${LEGACY_TABLE.name} created by hand as the admin, owned by no service`,
    );
    const began = Date.now();
    await applyProvisioning(adminUrl, manifest, { stateDir });
    if (serverKind === 'external') await markDemoRoles(adminUrl, roles);
    options.progress(
      `applied ${path.relative(process.cwd(), manifest.file) || manifest.file}: roles ${roles.join(', ')}, ` +
        `schemas ${manifest.services.flatMap((s) => s.owns).join(', ')}, their migrations (${Date.now() - began} ms)`,
    );
    check();

    const databaseUrls = Object.fromEntries(
      manifest.services.map((s) => [s.name, serviceUrl(adminUrl, s.role, stateDir)]),
    );
    const accounts = await withClient(databaseUrls.users!, (c) =>
      seedAccounts(c, options.accounts),
    );
    const invoices = await withClient(databaseUrls.invoicing!, (c) =>
      seedInvoices(c, Math.floor(options.accounts * 0.6), 2),
    );
    options.progress(
      `seeded ${accounts} accounts as role users, ${invoices} invoices as role invoicing`,
    );
    check();

    const processes = new Map<string, ServiceProcess>();
    /** How many instances of each service were started (deploys included). */
    const instances = new Map<string, number>();
    /** Every instance started: a deploy interrupted midway leaves two of a service running. */
    const everyInstance: ServiceProcess[] = [];
    const services: Record<string, DemoService> = {};
    const start = async (
      name: string,
      entry: string,
      extraEnv: Record<string, string>,
      port: number,
    ) => {
      const spec = SERVICES.find((s) => s.name === name)!;
      const role = manifest.services.find((s) => s.name === name)!.role;
      const proc = await startServiceProcess({
        name,
        entry,
        env: {
          DATABASE_URL: databaseUrls[name]!,
          PORT: String(port),
          POOL_SIZE: String(spec.poolSize),
          ...extraEnv,
        },
        // Each instance its own log: during a deploy the old one is still writing to its file.
        logFile: path.join(
          stateDir,
          'logs',
          `${name}${instances.has(name) ? `.${instances.get(name)! + 1}` : ''}.log`,
        ),
        outlive: options.keep,
        signal: options.signal,
      });
      instances.set(name, (instances.get(name) ?? 0) + 1);
      everyInstance.push(proc);
      processes.set(name, proc);
      started.processes.push({ name, pid: proc.pid });
      services[name] = {
        name,
        role,
        url: proc.url,
        port: proc.port,
        pid: proc.pid,
        databaseUrl: databaseUrls[name]!,
        logFile: proc.logFile,
      };
      return services[name]!;
    };
    cleanups.push(async () => {
      await Promise.all(everyInstance.map((p) => p.stop()));
    });
    const first = await Promise.all(SERVICES.map((s) => start(s.name, s.entry, {}, 0)));
    // Started in parallel; listed in the story's order (A, B, C).
    const procs = first.map((s) => processes.get(s.name)!);
    processes.clear();
    for (const [i, s] of first.entries()) {
      delete services[s.name];
      services[s.name] = s;
      processes.set(s.name, procs[i]!);
    }
    for (const s of Object.values(services))
      options.progress(`${s.name.padEnd(9)} ${s.url}  pid ${s.pid}  role ${s.role}`);
    check();

    const traffic = await startTraffic({
      targets: {
        users: services.users!.url,
        invoicing: services.invoicing!.url,
        reporting: services.reporting!.url,
      },
      ratePerSecond: options.trafficRate,
    });
    cleanups.push(async () => {
      await traffic.stop();
    });
    options.progress(
      `traffic: ${options.trafficRate} requests/s, a steady mix of reads, writes and reports against all three`,
    );

    const restartService = async (
      name: string,
      restart: RestartOptions = {},
    ): Promise<RestartedService> => {
      const current = processes.get(name);
      const spec = SERVICES.find((s) => s.name === name);
      if (!current || !spec) throw new Error(`no service ${name} in the demo`);
      const before = services[name]!;
      let startedNew: ServiceProcess | undefined;
      return deployWithHandover({
        current,
        signal: options.signal,
        startNew: async () => {
          const next = await start(name, restart.entry ?? spec.entry, restart.env ?? {}, 0);
          startedNew = processes.get(name);
          return next;
        },
        stopNew: async () => startedNew?.stop(1000),
        keepOld: async () => {
          processes.set(name, current);
          services[name] = before;
        },
        moveTraffic: (url) => traffic.setTarget(name as 'users' | 'invoicing' | 'reporting', url),
      });
    };

    const leaveRunning = async (): Promise<KeptDemo> => {
      await traffic.stop();
      // The dashboard first: if it cannot start, nothing detached is left behind by the failure.
      const serverLogFile = embeddedServerFiles(stateDir).logFile;
      const dashboard = await spawnDashboardProcess({
        databaseUrl: adminUrl,
        manifestFile: exampleManifestFile(),
        logFile: path.join(stateDir, 'logs', 'dashboard.log'),
        ...(serverKind === 'persistent' && fs.existsSync(serverLogFile) ? { serverLogFile } : {}),
        usageFile: demoUsageFile(stateDir),
      });
      let trafficProc: Awaited<ReturnType<typeof startDetachedTraffic>>;
      try {
        trafficProc = await startDetachedTraffic(services, stateDir);
      } catch (error) {
        if (dashboard.pid > 0) process.kill(dashboard.pid, 'SIGTERM');
        throw error;
      }
      const kept: KeptDemo = {
        version: 1,
        startedAt: new Date().toISOString(),
        stateDir,
        embeddedServer: serverKind === 'persistent',
        database: redactUrl(adminUrl),
        processes: [
          ...[...processes.values()].map((p) => ({
            name: p.name,
            pid: p.pid,
            url: p.url,
            file: exampleProgram(p.entry).file,
            logFile: p.logFile,
          })),
          {
            name: 'traffic',
            pid: trafficProc.pid,
            file: exampleProgram('traffic/main').file,
            logFile: trafficProc.logFile,
          },
          {
            name: 'dashboard',
            pid: dashboard.pid,
            url: dashboard.url,
            file: dashboard.file,
            logFile: dashboard.logFile,
          },
        ],
      };
      writeKeptDemo(stateDir, kept);
      cleanups.splice(0);
      return kept;
    };

    return {
      serverKind,
      adminUrl,
      manifest,
      exampleDir: exampleDir(),
      stateDir,
      services,
      traffic,
      restartService,
      teardown: cleanUp,
      leaveRunning,
      started,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** Thrown when Ctrl-C interrupts the setup. */
export class DemoInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'DemoInterrupted';
  }
}

/** The pid in a data directory's postmaster.pid, if readable. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(
      fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
