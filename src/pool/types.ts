import type { ServiceName } from '../runtime/types.js';

/** One PgBouncer pool (a database and a user) in a sample of the admin console. */
export interface PoolRow extends ServiceName {
  database: string;
  role: string;
  clientsActive: number;
  /** Clients waiting for a server connection. */
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  /** Server connections held by the pool: active, idle, used, tested and logging in. */
  serversHeld: number;
  /** How long the oldest waiting client has waited. */
  longestWaitMs: number;
  /** Server connections the pool may open (the user's max_user_connections, else the database's pool_size). */
  poolSize: number | null;
  /** serversHeld / poolSize (0..1), null when the size is unknown. */
  saturation: number | null;
}

/** A database PgBouncer serves: the server connections its pools share. */
export interface PoolDatabase {
  database: string;
  /** max_db_connections: 0 when unlimited. */
  maxConnections: number;
  currentConnections: number;
  poolSize: number;
}

/** A client waiting for a server connection (SHOW CLIENTS). */
export interface WaitingClient extends ServiceName {
  database: string;
  role: string;
  applicationName: string;
  waitMs: number;
}

/** Per-service sums over the pools of one PgBouncer. */
export interface PoolServiceSummary extends ServiceName {
  clientsActive: number;
  clientsWaiting: number;
  longestWaitMs: number;
  serversHeld: number;
  poolSize: number | null;
  saturation: number | null;
}

/** One read of PgBouncer's admin console (SHOW POOLS, STATS, DATABASES; CLIENTS when a pool has clients waiting). */
export interface PoolSample {
  /** Where PgBouncer listens (no password). */
  target: string;
  takenAt: string;
  pools: PoolRow[];
  services: PoolServiceSummary[];
  databases: PoolDatabase[];
  waitingClients: WaitingClient[];
  /** SHOW STATS per database: transactions, queries and clients' wait time since PgBouncer started. */
  stats: { database: string; transactions: number; queries: number; waitMs: number }[];
  /** Why the console could not be read, if it could not (the rest is then empty). */
  error: string | null;
}
