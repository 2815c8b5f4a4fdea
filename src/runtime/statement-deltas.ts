import type { Queryable } from '../postgres/client.js';
import { PgpactError } from '../errors.js';
import { withholdSecretStatement } from '../sql/secret-statements.js';
import {
  inSchema,
  ROLE_TOTALS_SQL,
  type RoleTotalsRow,
  STATEMENT_TEXTS_SQL,
  STATEMENTS_SCHEMA_SQL,
  STATEMENTS_SQL,
  type StatementRow,
} from './sampler-queries.js';

/** Calls and time of one statement of one role during one interval. */
export interface StatementRowDelta {
  role: string;
  queryId: string;
  calls: number;
  timeMs: number;
}

/** Calls and time of one role during one interval. */
export interface RoleDelta {
  role: string;
  calls: number;
  timeMs: number;
}

/**
 * Turns pg_stat_statements' cumulative counters into per-interval deltas: per
 * role (cheap, every sample) and per statement (every few seconds). The first
 * read is the baseline; an entry that shrank was reset or evicted and counts
 * from zero (per role, a shrinking sum counts as nothing). Texts are cached.
 */
export class StatementDeltas {
  private previous: Map<string, { calls: number; timeMs: number }> | undefined;
  private previousRoles: Map<string, { calls: number; timeMs: number }> | undefined;
  private readonly texts = new Map<string, string>();
  private schema: string | undefined;

  constructor(
    private readonly textLength = 1000,
    private readonly textCacheSize = 5000,
  ) {}

  /** The SQL with pg_stat_statements qualified by the schema it is installed in (looked up once). */
  private async sql(client: Queryable, text: string): Promise<string> {
    if (this.schema === undefined) {
      const { rows } = await client.query<{ schema: string }>(STATEMENTS_SCHEMA_SQL);
      if (!rows[0]) {
        throw new PgpactError(
          'PG_STAT_STATEMENTS_MISSING',
          'the extension is not installed in this database',
        );
      }
      this.schema = rows[0].schema;
    }
    return inSchema(text, this.schema);
  }

  /** The query of the per-role sums (its rows go to rolesDelta); throws when the extension is missing. */
  rolesSql(client: Queryable): Promise<string> {
    return this.sql(client, ROLE_TOTALS_SQL);
  }

  /** What changed in the per-role sums since the previous rows (nothing on the first). */
  rolesDelta(rows: RoleTotalsRow[]): RoleDelta[] {
    const current = new Map(rows.map((r) => [r.role, { calls: r.calls, timeMs: r.time_ms }]));
    const previous = this.previousRoles;
    this.previousRoles = current;
    if (previous === undefined) return [];
    const deltas: RoleDelta[] = [];
    for (const [role, now] of current) {
      const before = previous.get(role) ?? { calls: 0, timeMs: 0 };
      const calls = Math.max(0, now.calls - before.calls);
      const timeMs = Math.max(0, now.timeMs - before.timeMs);
      if (calls > 0 || timeMs > 0) deltas.push({ role, calls, timeMs });
    }
    return deltas;
  }

  /** Reads the per-role sums and returns what changed since the previous call (nothing on the first). */
  async readRoles(client: Queryable): Promise<RoleDelta[]> {
    const { rows } = await client.query<RoleTotalsRow & Record<string, unknown>>(
      await this.rolesSql(client),
    );
    return this.rolesDelta(rows);
  }

  /** Reads every statement's counters and returns what changed since the previous call (nothing on the first). */
  async read(client: Queryable): Promise<StatementRowDelta[]> {
    const { rows } = await client.query<StatementRow & Record<string, unknown>>(
      await this.sql(client, STATEMENTS_SQL),
    );
    const current = new Map<string, { calls: number; timeMs: number }>();
    const deltas = new Map<string, StatementRowDelta>();
    for (const row of rows) {
      const key = `${row.userid}:${row.dbid}:${row.queryid}`;
      current.set(key, { calls: row.calls, timeMs: row.time_ms });
      if (this.previous === undefined) continue;
      const before = this.previous.get(key);
      const shrank =
        before !== undefined && (row.calls < before.calls || row.time_ms < before.timeMs);
      const calls = before === undefined || shrank ? row.calls : row.calls - before.calls;
      const timeMs = before === undefined || shrank ? row.time_ms : row.time_ms - before.timeMs;
      if (calls <= 0 && timeMs <= 0) continue;
      // The same statement of the same role in several databases is one line for people.
      const byRole = `${row.role}:${row.queryid}`;
      const sum = deltas.get(byRole) ?? {
        role: row.role,
        queryId: row.queryid,
        calls: 0,
        timeMs: 0,
      };
      sum.calls += calls;
      sum.timeMs += timeMs;
      deltas.set(byRole, sum);
    }
    this.previous = current;
    return [...deltas.values()];
  }

  /** The texts of the given statements, fetched once per query id. */
  async textsOf(client: Queryable, queryIds: string[]): Promise<Map<string, string>> {
    const missing = [...new Set(queryIds)].filter((id) => !this.texts.has(id));
    if (missing.length > 0) {
      const sql = await this.sql(client, STATEMENT_TEXTS_SQL);
      const { rows } = await client.query<{ queryid: string; query: string }>(sql, [
        missing,
        this.textLength,
      ]);
      for (const row of rows) this.texts.set(row.queryid, withholdSecretStatement(row.query));
      while (this.texts.size > this.textCacheSize) {
        const oldest = this.texts.keys().next().value;
        if (oldest === undefined) break;
        this.texts.delete(oldest);
      }
    }
    return new Map(queryIds.map((id) => [id, this.texts.get(id) ?? '']));
  }
}
