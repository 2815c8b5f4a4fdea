import type pg from 'pg';
import { PgpactError, toPostgresError } from '../errors.js';
import { connect, type Queryable, withClient } from '../postgres/client.js';
import { quoteLiteral } from '../postgres/quote.js';
import { type ReplicaAddress, replicaLabel } from '../replica/open-replicas.js';
import { MARKER } from './sql-run.js';

/**
 * Throttle conditions of the backfill, gh-ost style: before a batch, the backfill waits
 * while a replica lags, the database is busy, the user's own query says so, or an operator
 * paused it (`pgpact migrate throttle`, a row in pgpact.backfill_pause: it works from any
 * machine that reaches the database and survives a crash of the running start).
 */
export interface ThrottleOptions {
  /** Wait while a replica's replay lags more than this (ms). */
  maxReplicaLagMs?: number;
  /** Replicas whose lag counts; without any, pg_stat_replication's replay_lag on the primary. */
  replicas?: ReplicaAddress[];
  /** Wait while more sessions of the database than this are active (pgpact's own excluded). */
  maxActive?: number;
  /** Wait while this query returns true (read-only transaction, statement_timeout). */
  throttleQuery?: string;
  /** How often conditions are checked while running and while throttled (default 500 ms). */
  checkIntervalMs?: number;
}

/** statement_timeout of the throttle query: a slow check throttles rather than stalls. */
const QUERY_TIMEOUT_MS = 2_000;

const PAUSE_TABLE = 'pgpact.backfill_pause';

/** Pauses the backfill of whatever migration runs (now or later) until resumeBackfill; returns whether it was already paused. */
export async function pauseBackfill(url: string, reason?: string): Promise<{ already: boolean }> {
  return withClient(
    url,
    async (client) => {
      await client.query(`${MARKER} CREATE SCHEMA IF NOT EXISTS pgpact;
      CREATE TABLE IF NOT EXISTS ${PAUSE_TABLE} (
        only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
        reason text,
        paused_at timestamptz NOT NULL DEFAULT now(),
        paused_by text NOT NULL DEFAULT current_user)`);
      const { rowCount } = await client.query(
        `${MARKER} INSERT INTO ${PAUSE_TABLE} (reason) VALUES ($1) ON CONFLICT DO NOTHING`,
        [reason ?? null],
      );
      return { already: rowCount === 0 };
    },
    { applicationName: 'pgpact migrate' },
  );
}

/** Lets a paused backfill go on; returns whether it was paused. */
export async function resumeBackfill(url: string): Promise<{ wasPaused: boolean }> {
  return withClient(
    url,
    async (client) => {
      if (!(await pauseTableExists(client))) return { wasPaused: false };
      const { rowCount } = await client.query(`${MARKER} DELETE FROM ${PAUSE_TABLE}`);
      return { wasPaused: (rowCount ?? 0) > 0 };
    },
    { applicationName: 'pgpact migrate' },
  );
}

async function pauseTableExists(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `${MARKER} SELECT to_regclass($1) IS NOT NULL AS ok`,
    [PAUSE_TABLE],
  );
  return rows[0]?.ok === true;
}

/** The operator's pause, if any: `paused by pgpact migrate throttle (reason)`. */
export async function readPause(client: Queryable): Promise<string | undefined> {
  if (!(await pauseTableExists(client))) return undefined;
  const { rows } = await client.query<{ reason: string | null; paused_by: string }>(
    `${MARKER} SELECT reason, paused_by FROM ${PAUSE_TABLE}`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return `paused by pgpact migrate throttle (${r.paused_by}${r.reason ? `: ${r.reason}` : ''})`;
}

/** WAL positions are remembered this long: a longer lag shows as this long. */
const WAL_HISTORY_MS = 3_600_000;

function worstOf(lags: { label: string; ms: number }[]): { label: string; ms: number } | undefined {
  return lags.reduce<{ label: string; ms: number } | undefined>(
    (worst, l) => (!worst || l.ms > worst.ms ? l : worst),
    undefined,
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Checks the throttle conditions on the backfill's own session and on the replicas it reads. */
export class Throttle {
  private replicaClients: { label: string; client: pg.Client }[] | undefined;
  /** The primary's WAL position at each check (for the lag of standbys that stopped replaying). */
  private readonly walSamples: { at: number; lsn: bigint }[] = [];

  constructor(
    private readonly client: Queryable,
    private readonly options: ThrottleOptions,
  ) {}

  /** How long to wait between checks. */
  get intervalMs(): number {
    return this.options.checkIntervalMs ?? 500;
  }

  /** Runs the throttle query once: a query that cannot run is refused before the backfill starts. */
  async validate(): Promise<void> {
    if (this.options.throttleQuery === undefined) return;
    try {
      await this.runQuery();
    } catch (error) {
      throw new PgpactError('USAGE', `--throttle-query failed: ${(error as Error).message}`, {
        hint: 'give a query returning one boolean, e.g. SELECT count(*) > 100 FROM pg_stat_activity',
        cause: error,
      });
    }
  }

  /** Why the backfill must wait now, or undefined. */
  async reason(): Promise<string | undefined> {
    // Sampled at every check, paused or not: the primary's view of lag is built from them.
    const standbys =
      this.options.maxReplicaLagMs !== undefined && (this.options.replicas ?? []).length === 0
        ? await this.primaryView()
        : undefined;
    const paused = await readPause(this.client);
    if (paused) return paused;
    const o = this.options;
    if (o.maxActive !== undefined) {
      const { rows } = await this.client.query<{ n: number }>(
        `${MARKER} SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend'
           AND pid <> pg_backend_pid() AND application_name NOT LIKE 'pgpact%'`,
      );
      const n = rows[0]!.n;
      if (n > o.maxActive) return `${n} active sessions > --max-active ${o.maxActive}`;
    }
    if (o.throttleQuery !== undefined) {
      try {
        if (await this.runQuery()) return '--throttle-query returned true';
      } catch (error) {
        return `--throttle-query failed (${(error as Error).message}): waiting`;
      }
    }
    if (o.maxReplicaLagMs !== undefined) {
      const lag = standbys ? worstOf(standbys) : await this.replicaLag();
      if (lag && lag.ms > o.maxReplicaLagMs)
        return `replica ${lag.label} lags ${seconds(lag.ms)} > --max-replica-lag ${seconds(o.maxReplicaLagMs)}`;
    }
    return undefined;
  }

  private async runQuery(): Promise<boolean> {
    await this.client.query('BEGIN READ ONLY');
    try {
      await this.client.query(
        `SET LOCAL statement_timeout = ${quoteLiteral(`${QUERY_TIMEOUT_MS}ms`)}`,
      );
      const result = await this.client
        .query(this.options.throttleQuery!)
        .catch((error: unknown) => {
          throw toPostgresError(error, this.options.throttleQuery);
        });
      const first = result.rows[0];
      const value = first === undefined ? undefined : Object.values(first)[0];
      return value === true || value === 't' || value === 'true';
    } finally {
      await this.client.query('ROLLBACK').catch(() => undefined);
    }
  }

  /**
   * Each standby's lag as the primary sees it. replay_lag stops moving while a standby does
   * not replay at all (no new reply to measure), so the primary's WAL position is sampled at
   * every check: a standby whose replay position is below a position written at time t lags
   * at least now - t. The larger of that and replay_lag counts.
   */
  private async primaryView(): Promise<{ label: string; ms: number }[]> {
    const { rows } = await this.client.query<{
      name: string;
      current: string;
      replayed: string | null;
      ms: number | null;
    }>(
      `${MARKER} SELECT coalesce(nullif(r.application_name, ''), r.client_addr::text, r.pid::text) AS name,
         pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS current,
         pg_wal_lsn_diff(r.replay_lsn, '0/0')::text AS replayed,
         (extract(epoch FROM r.replay_lag) * 1000)::float8 AS ms
       FROM (SELECT 1) one LEFT JOIN pg_stat_replication r ON true`,
    );
    const now = Date.now();
    const current = rows[0] ? BigInt(rows[0].current) : undefined;
    if (current !== undefined) {
      const last = this.walSamples.at(-1);
      if (!last || last.lsn !== current) this.walSamples.push({ at: now, lsn: current });
      while (this.walSamples.length > 1 && now - this.walSamples[0]!.at > WAL_HISTORY_MS)
        this.walSamples.shift();
    }
    const lags: { label: string; ms: number }[] = [];
    for (const r of rows) {
      if (r.name === null) continue;
      let ms = r.ms ?? 0;
      if (r.replayed !== null) {
        const replayed = BigInt(r.replayed);
        const behind = this.walSamples.find((w) => w.lsn > replayed);
        if (behind) ms = Math.max(ms, now - behind.at);
      }
      lags.push({ label: r.name, ms });
    }
    return lags;
  }

  /** The largest replay lag of the replicas given. */
  private async replicaLag(): Promise<{ label: string; ms: number } | undefined> {
    const replicas = this.options.replicas ?? [];
    let worst: { label: string; ms: number } | undefined;
    const consider = (label: string, ms: number | null | undefined) => {
      if (ms !== null && ms !== undefined && (!worst || ms > worst.ms)) worst = { label, ms };
    };
    this.replicaClients ??= await Promise.all(
      replicas.map(async (r) => ({
        label: r.label ?? replicaLabel(r.url),
        client: await connect(r.url, { applicationName: 'pgpact migrate throttle' }).catch(
          (error: Error) => {
            throw new PgpactError(
              'REPLICA_UNREACHABLE',
              `cannot connect to replica ${r.label ?? replicaLabel(r.url)}: ${error.message}`,
              { hint: 'check the --replica URL, or leave --max-replica-lag out' },
            );
          },
        ),
      })),
    );
    for (const { label, client } of this.replicaClients) {
      // Nothing left to replay: no lag, however old the last replayed transaction is.
      const { rows } = await client.query<{ ms: number | null }>(
        `${MARKER} SELECT CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
           ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS ms`,
      );
      consider(label, rows[0]?.ms);
    }
    return worst;
  }

  /** Closes the replica connections. */
  async close(): Promise<void> {
    await Promise.all(
      (this.replicaClients ?? []).map((r) => r.client.end().catch(() => undefined)),
    );
    this.replicaClients = undefined;
  }
}
