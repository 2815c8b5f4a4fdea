import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMonolithSchema, MONOLITH_ROLES } from '../../../examples/monolith/setup/schema.js';
import { ONE_SCHEMA } from '../../../examples/monolith/tables.js';
import { seedAccounts, seedInvoices } from '../../../examples/shared-database/setup/seed.js';
import { startTraffic, type Traffic } from '../../../examples/shared-database/traffic/generator.js';
import { urlWith, withClient } from '../../postgres/client.js';
import { startThrowawayServer } from '../../postgres/local-server.js';
import { quoteIdent } from '../../postgres/quote.js';
import { deployWithHandover } from '../deploy.js';
import { DemoInterrupted, postmasterPid, type StartedResources } from '../environment.js';
import { packageRoot } from '../example-files.js';
import { type ServiceProcess, startServiceProcess } from '../service-process.js';
import type { DemoService, RestartedService, RestartOptions } from '../types.js';

/** The monolith's database on the throwaway server. */
export const MONOLITH_DATABASE = 'pgpact_monolith';

/** The services of examples/monolith: entry point and pool size. */
const SERVICES = [
  { name: 'users', entry: 'users/main', poolSize: 5 },
  { name: 'invoicing', entry: 'invoicing/main', poolSize: 5 },
  { name: 'reporting', entry: 'reporting/main', poolSize: 3 },
] as const;

/** How to set up the monolith. */
export interface MonolithSetupOptions {
  trafficRate: number;
  accounts: number;
  signal: AbortSignal;
  progress(text: string): void;
}

/** The one-schema system running: Postgres, three services, traffic. */
export interface MonolithEnvironment {
  serverKind: 'throwaway';
  adminUrl: string;
  exampleDir: string;
  stateDir: string;
  manifestFile: string;
  services: Record<string, DemoService>;
  traffic: Traffic;
  restartService(name: string, options?: RestartOptions): Promise<RestartedService>;
  teardown(): Promise<void>;
  started: StartedResources;
}

/**
 * Starts a throwaway Postgres with the monolith as its teams have it: every table in
 * `public`, owned by the admin, one login role per service allowed everything there. Then
 * the services (examples/monolith) and steady traffic. No pgpact has touched it yet.
 */
export async function setUpMonolith(options: MonolithSetupOptions): Promise<MonolithEnvironment> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const check = () => {
    if (options.signal.aborted) throw new DemoInterrupted();
  };
  const started: StartedResources = { processes: [], tempDirs: [] };
  try {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `pgpact-${process.pid}-`));
    started.tempDirs.push(stateDir);
    cleanups.push(async () => fs.rmSync(stateDir, { recursive: true, force: true }));
    const server = await startThrowawayServer({ prefix: 'pgpact' });
    cleanups.push(() => server.destroy());
    started.tempDirs.push(server.rootDir);
    started.postgresPid = postmasterPid(server.dataDir);
    options.progress(`Postgres ${server.majorVersion} started (throwaway, removed at the end)`);
    check();

    await withClient(server.url, (c) =>
      c.query(`CREATE DATABASE ${quoteIdent(MONOLITH_DATABASE)}`),
    );
    const adminUrl = urlWith(server.url, { database: MONOLITH_DATABASE });
    // The passwords the services were deployed with; pgpact never learns them (apply keeps existing roles' passwords).
    const passwords = Object.fromEntries(
      MONOLITH_ROLES.map((r) => [r, randomBytes(18).toString('base64url')]),
    ) as Record<(typeof MONOLITH_ROLES)[number], string>;
    await withClient(adminUrl, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await createMonolithSchema(c, passwords);
    });
    const databaseUrls = Object.fromEntries(
      MONOLITH_ROLES.map((r) => [r, urlWith(adminUrl, { user: r, password: passwords[r] })]),
    ) as Record<string, string>;
    options.progress(
      `database ${MONOLITH_DATABASE}: public.account and public.invoice created by the admin (who owns them), ` +
        `login roles ${MONOLITH_ROLES.join(', ')} allowed to read and write every table in public`,
    );
    const accounts = await withClient(databaseUrls.users!, (c) =>
      seedAccounts(c, options.accounts, ONE_SCHEMA),
    );
    const invoices = await withClient(databaseUrls.invoicing!, (c) =>
      seedInvoices(c, Math.floor(options.accounts * 0.6), 2, ONE_SCHEMA),
    );
    options.progress(
      `seeded ${accounts} accounts as role users, ${invoices} invoices as role invoicing`,
    );
    check();

    const processes = new Map<string, ServiceProcess>();
    const everyInstance: ServiceProcess[] = [];
    const instances = new Map<string, number>();
    const services: Record<string, DemoService> = {};
    cleanups.push(async () => {
      await Promise.all(everyInstance.map((p) => p.stop()));
    });
    const start = async (name: string, entry: string, extraEnv: Record<string, string>) => {
      const spec = SERVICES.find((s) => s.name === name)!;
      const n = (instances.get(name) ?? 0) + 1;
      const proc = await startServiceProcess({
        name,
        entry,
        example: 'monolith',
        env: {
          DATABASE_URL: databaseUrls[name]!,
          PORT: '0',
          POOL_SIZE: String(spec.poolSize),
          ...extraEnv,
        },
        logFile: path.join(stateDir, 'logs', `${name}${n > 1 ? `.${n}` : ''}.log`),
        outlive: false,
        signal: options.signal,
      });
      instances.set(name, n);
      everyInstance.push(proc);
      processes.set(name, proc);
      started.processes.push({ name, pid: proc.pid });
      services[name] = {
        name,
        role: name,
        url: proc.url,
        port: proc.port,
        pid: proc.pid,
        databaseUrl: databaseUrls[name]!,
        logFile: proc.logFile,
      };
      return services[name]!;
    };
    // Started in parallel; listed in the story's order (A, B, C), processes too.
    const first = await Promise.all(SERVICES.map((s) => start(s.name, s.entry, {})));
    for (const s of first) {
      delete services[s.name];
      services[s.name] = s;
    }
    started.processes.sort(
      (a, b) =>
        SERVICES.findIndex((s) => s.name === a.name) - SERVICES.findIndex((s) => s.name === b.name),
    );
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
    options.progress(`traffic: ${options.trafficRate} requests/s against all three`);

    const restartService = async (
      name: string,
      restart: RestartOptions = {},
    ): Promise<RestartedService> => {
      const current = processes.get(name);
      const spec = SERVICES.find((s) => s.name === name);
      if (!current || !spec) throw new Error(`no service ${name} in the monolith`);
      const before = services[name]!;
      let startedNew: ServiceProcess | undefined;
      return deployWithHandover({
        current,
        signal: options.signal,
        startNew: async () => {
          const next = await start(name, restart.entry ?? spec.entry, restart.env ?? {});
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

    return {
      serverKind: 'throwaway',
      adminUrl,
      exampleDir: path.join(packageRoot(), 'examples', 'monolith'),
      stateDir,
      manifestFile: path.join(stateDir, 'pgpact.yaml'),
      services,
      traffic,
      restartService,
      teardown: cleanUp,
      started,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
