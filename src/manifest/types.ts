/** The validated manifest (pgpact.yaml): the model every command works on. */

export type Enforcement = 'enforce' | 'audit';

import type { TablePattern } from './table-pattern.js';

/** Where something was written in the manifest, for messages that point at it. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** A declared cross-service access: a consumer reads (or writes) columns of another service's table. */
export interface Contract {
  /** The consumer service. */
  service: string;
  access: 'read' | 'write';
  schema: string;
  table: string;
  /** '*' for every column (present and future), otherwise the declared column names. */
  columns: '*' | string[];
  location: SourceLocation;
  /** Location of each declared column, same order as columns. */
  columnLocations: SourceLocation[];
}

/** Per-service limits, set on the service's role so they hold at login. */
export interface Limits {
  connections?: number;
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  idleInTransactionSessionTimeoutMs?: number;
  workMemKb?: number;
  /**
   * Parallel workers one of the service's queries may start (max_parallel_workers_per_gather;
   * 0 turns parallel query off). Workers use CPUs but do not count against `connections`.
   */
  parallelWorkers?: number;
}

/** An application that connects to the database with its own login role. */
export interface Service {
  name: string;
  role: string;
  team?: string;
  contact?: string;
  enforcement: Enforcement;
  /** Schemas the service owns whole. */
  owns: string[];
  /** Tables it owns inside schemas several services share (`public.batch_*`). */
  ownsTables: TablePattern[];
  reads: Contract[];
  writes: Contract[];
  limits: Limits;
  /** Absolute path of the folder of ordered .sql migration files, if declared. */
  migrations?: string;
  location: SourceLocation;
}

/** A streaming replica pgpact watches; its URL (with a password) stays in the environment. */
export interface Replica {
  name: string;
  /** The environment variable holding the replica's URL. */
  urlEnv: string;
  location: SourceLocation;
}

/** The whole manifest. */
export interface Manifest {
  version: 1;
  /** Absolute path of the manifest file. */
  file: string;
  /** Directory of the manifest; relative paths resolve from here. */
  dir: string;
  enforcement: Enforcement;
  services: Service[];
  /** Replicas named in `replicas:`, if any. */
  replicas?: Replica[];
}

/** The service using a role, if any. */
export function serviceOfRole(manifest: Manifest, role: string): Service | undefined {
  return manifest.services.find((s) => s.role === role);
}

/** Every contract of every service. */
export function allContracts(manifest: Manifest): Contract[] {
  return manifest.services.flatMap((s) => [...s.reads, ...s.writes]);
}
