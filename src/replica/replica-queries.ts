/** The replication queries: one on each replica, one on the primary, per tick. */

/**
 * A replica's own view: standby or not, feedback, replay position, conflicts, and the
 * session with the oldest snapshot there (other than this one), all in one round trip.
 */
export const REPLICA_SQL = `
SELECT pg_is_in_recovery() AS standby,
       current_setting('hot_standby_feedback') = 'on' AS feedback,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000 AS replay_delay_ms,
       (SELECT coalesce(sum(confl_tablespace + confl_lock + confl_snapshot + confl_bufferpin
                            + confl_deadlock), 0)::float8
          FROM pg_stat_database_conflicts) AS conflicts,
       (SELECT json_build_object(
          'pid', pid, 'role', usename, 'application_name', coalesce(application_name, ''),
          'xmin', backend_xmin::text, 'xmin_age', age(backend_xmin),
          'transaction_ms', extract(epoch FROM now() - xact_start) * 1000,
          'query', left(coalesce(query, ''), 500), 'backend_type', backend_type)
          FROM pg_stat_activity
         WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid()
         ORDER BY age(backend_xmin) DESC
         LIMIT 1) AS oldest_snapshot`;

export interface ReplicaRow {
  standby: boolean;
  feedback: boolean;
  replay_lsn: string | null;
  replay_delay_ms: number | string | null;
  conflicts: number;
  /** Null when no other session holds a snapshot. */
  oldest_snapshot: OldestSnapshotRow | null;
}

/** The session with the oldest snapshot on the replica, as REPLICA_SQL's json object. */
export interface OldestSnapshotRow {
  pid: number;
  role: string | null;
  application_name: string;
  xmin: string;
  xmin_age: number;
  /** Null when the session has no transaction open. */
  transaction_ms: number | null;
  query: string;
  backend_type: string | null;
}

/** The standbys the primary streams to, and its current WAL position. */
export const PRIMARY_SQL = `
SELECT pg_current_wal_lsn()::text AS current_lsn,
       coalesce((SELECT json_agg(json_build_object(
          'application_name', application_name, 'client_addr', client_addr::text, 'state', state,
          'xmin', backend_xmin::text, 'xmin_age', age(backend_xmin),
          'replay_lsn', replay_lsn::text,
          'replay_lag_ms', extract(epoch FROM replay_lag) * 1000))
        FROM pg_stat_replication), '[]'::json) AS standbys,
       coalesce((SELECT json_agg(json_build_object('slot', slot_name, 'xmin', xmin::text,
          'xmin_age', age(xmin)))
        FROM pg_replication_slots WHERE xmin IS NOT NULL), '[]'::json) AS slots`;

export interface PrimaryRow {
  current_lsn: string | null;
  standbys: {
    application_name: string;
    client_addr: string | null;
    state: string;
    xmin: string | null;
    xmin_age: number | null;
    replay_lsn: string | null;
    replay_lag_ms: number | null;
  }[];
  slots: { slot: string; xmin: string; xmin_age: number }[];
}

/** An LSN (`16/B374D848`) as a number of bytes. */
export function lsnBytes(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}
