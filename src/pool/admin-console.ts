import { type Manifest, serviceOfRole } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { nameService } from '../runtime/service-namer.js';
import type {
  PoolDatabase,
  PoolRow,
  PoolSample,
  PoolServiceSummary,
  WaitingClient,
} from './types.js';

type Row = Record<string, unknown>;

const num = (v: unknown) => (v === null || v === undefined || v === '' ? 0 : Number(v));
const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
/** seconds + microseconds columns (maxwait/maxwait_us, wait/wait_us) in milliseconds. */
const waitMs = (seconds: unknown, micros: unknown) => num(seconds) * 1000 + num(micros) / 1000;

/**
 * The admin console speaks the simple query protocol only: parameterless SHOW commands,
 * one per query (PgBouncer 1.18 refuses `SHOW POOLS; SHOW STATS` as an invalid command),
 * so each is a round trip of its own.
 */
async function show(client: Queryable, what: string): Promise<Row[]> {
  return (await client.query(`SHOW ${what}`)).rows;
}

/**
 * Reads PgBouncer's admin console (a connection to its `pgbouncer` database as a
 * stats or admin user) and names each pool's service from its user. SHOW CLIENTS, read
 * only for the clients waiting, is skipped when no pool has a client waiting.
 */
export async function readPoolConsole(
  client: Queryable,
  options: { manifest?: Manifest; target: string },
): Promise<PoolSample> {
  const takenAt = new Date().toISOString();
  const poolRows = await show(client, 'POOLS');
  const someoneWaits = poolRows.some(
    (r) => text(r.database) !== 'pgbouncer' && num(r.cl_waiting) > 0,
  );
  const clientRows = someoneWaits ? await show(client, 'CLIENTS') : [];
  const statRows = await show(client, 'STATS');
  const databaseRows = await show(client, 'DATABASES');
  const name = (role: string) => nameService(options.manifest, { role });
  const databases: PoolDatabase[] = databaseRows
    .filter((r) => text(r.name) !== 'pgbouncer')
    .map((r) => ({
      database: text(r.name),
      maxConnections: num(r.max_connections),
      currentConnections: num(r.current_connections),
      poolSize: num(r.pool_size),
    }));
  // PgBouncer 1.18 does not show max_user_connections: pgpact pool sets it to the manifest's limit.
  const userLimit = (role: string) =>
    options.manifest ? serviceOfRole(options.manifest, role)?.limits.connections : undefined;
  const pools: PoolRow[] = poolRows
    .filter((r) => text(r.database) !== 'pgbouncer')
    .map((r) => {
      const role = text(r.user);
      const database = text(r.database);
      const serversHeld =
        num(r.sv_active) + num(r.sv_idle) + num(r.sv_used) + num(r.sv_tested) + num(r.sv_login);
      const dbSize = databases.find((d) => d.database === database)?.poolSize;
      const poolSize = userLimit(role) ?? (dbSize && dbSize > 0 ? dbSize : null);
      return {
        ...name(role),
        database,
        role,
        clientsActive: num(r.cl_active),
        clientsWaiting: num(r.cl_waiting),
        serversActive: num(r.sv_active),
        serversIdle: num(r.sv_idle),
        serversHeld,
        longestWaitMs: waitMs(r.maxwait, r.maxwait_us),
        poolSize,
        saturation: poolSize ? serversHeld / poolSize : null,
      };
    });
  const waitingClients: WaitingClient[] = clientRows
    .filter((r) => text(r.state) === 'waiting' && text(r.database) !== 'pgbouncer')
    .map((r) => ({
      ...name(text(r.user)),
      database: text(r.database),
      role: text(r.user),
      applicationName: text(r.application_name),
      waitMs: waitMs(r.wait, r.wait_us),
    }));
  const stats = statRows
    .filter((r) => text(r.database) !== 'pgbouncer')
    .map((r) => ({
      database: text(r.database),
      transactions: num(r.total_xact_count),
      queries: num(r.total_query_count),
      waitMs: num(r.total_wait_time) / 1000,
    }));
  return {
    target: options.target,
    takenAt,
    pools,
    services: summarise(pools),
    databases,
    waitingClients,
    stats,
    error: null,
  };
}

/** Sums the pools of each service (one per database it reaches through PgBouncer). */
export function summarise(pools: PoolRow[]): PoolServiceSummary[] {
  const byService = new Map<string, PoolServiceSummary>();
  for (const p of pools) {
    const s = byService.get(p.service) ?? {
      service: p.service,
      attribution: p.attribution,
      clientsActive: 0,
      clientsWaiting: 0,
      longestWaitMs: 0,
      serversHeld: 0,
      poolSize: null,
      saturation: null,
    };
    s.clientsActive += p.clientsActive;
    s.clientsWaiting += p.clientsWaiting;
    s.longestWaitMs = Math.max(s.longestWaitMs, p.longestWaitMs);
    s.serversHeld += p.serversHeld;
    if (p.poolSize !== null) s.poolSize = Math.max(s.poolSize ?? 0, p.poolSize);
    s.saturation = s.poolSize ? s.serversHeld / s.poolSize : null;
    byService.set(p.service, s);
  }
  return [...byService.values()].sort((a, b) => a.service.localeCompare(b.service));
}

/** Reads the console like readPoolConsole, but reports a failure in the sample instead of throwing. */
export async function samplePool(
  client: Queryable,
  options: { manifest?: Manifest; target: string },
): Promise<PoolSample> {
  try {
    return await readPoolConsole(client, options);
  } catch (error) {
    return {
      target: options.target,
      takenAt: new Date().toISOString(),
      pools: [],
      services: [],
      databases: [],
      waitingClients: [],
      stats: [],
      error: (error as Error).message,
    };
  }
}
