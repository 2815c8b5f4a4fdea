import type { CatalogSnapshot } from '../catalog-types.js';
import type { Queryable } from '../postgres/client.js';
import { readCatalog } from '../postgres/catalog.js';
import { quoteIdent } from '../postgres/quote.js';
import { analyzeStatement } from '../sql/analyze.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import { tableKey } from './names.js';
import { isMarked, MARKER } from './sql-run.js';
import type { TableName } from './types.js';

/**
 * The statement times of the table's writers, from pg_stat_statements: which statements
 * write the table (pgpact's own left out) is decided once, by the statement analyzer against
 * the live catalog; each one's mean time before the backfill is its baseline. A sample then
 * says how long the writers' calls since the last sample took against what the same calls
 * took at baseline, which is independent of the mix of statements.
 */

/** Writers' calls between two samples: their time and what the same calls took at baseline. */
export interface WriterTimesSample {
  calls: number;
  ms: number;
  baselineMs: number;
  /** The sum of their squared times, and what it was for as many calls at baseline. */
  squares: number;
  baselineSquares: number;
}

interface Counter {
  calls: number;
  ms: number;
  /** Sum of squared times (from the mean and the population stddev pg_stat_statements keeps). */
  squares: number;
}

/** Mean and mean square of one statement's time before the backfill. */
interface Baseline {
  mean: number;
  meanSquare: number;
}

type Row = {
  userid: string;
  queryid: string;
  calls: number;
  ms: number;
  squares: number;
  role?: string;
  query?: string | null;
};

/** A statement seen in the baseline window needs this many calls there to have a baseline of its own. */
const MIN_WINDOW_CALLS = 3;
/** Otherwise its mean over every call before the backfill counts, with this many calls at least. */
const MIN_HISTORY_CALLS = 20;

function key(r: { userid: string; queryid: string }): string {
  return `${r.userid}:${r.queryid}`;
}

function countersOf(rows: Row[]): Map<string, Counter> {
  return new Map(rows.map((r) => [key(r), { calls: r.calls, ms: r.ms, squares: r.squares }]));
}

/** The calls, time and squares added between two readings of a counter (a reset one counts from zero). */
function delta(now: Counter, before: Counter | undefined): Counter {
  if (!before || now.calls < before.calls) return now;
  return {
    calls: now.calls - before.calls,
    ms: now.ms - before.ms,
    squares: now.squares - before.squares,
  };
}

/** Measures the table's writers against their times before the backfill. */
export class WriterTimes {
  /** Mean ms per call before the backfill, per `userid:queryid`. */
  private readonly baseline = new Map<string, Baseline>();
  private last = new Map<string, Counter>();

  /** The parser and the catalog, loaded while the baseline window runs. */
  private analyzer: Promise<CatalogSnapshot> | undefined;

  private constructor(
    private readonly client: Queryable,
    private readonly statsFunction: string,
    private readonly start: Map<string, Counter>,
  ) {}

  /**
   * Takes the counters at the start of the baseline window; undefined when
   * pg_stat_statements cannot be read (then the writers' times are not watched).
   */
  static async open(client: Queryable): Promise<WriterTimes | undefined> {
    const { rows } = await client.query<{ schema: string }>(
      `${MARKER} SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
       WHERE e.extname = 'pg_stat_statements'`,
    );
    if (!rows[0]) return undefined;
    const fn = `${quoteIdent(rows[0].schema)}.pg_stat_statements`;
    try {
      const times = new WriterTimes(client, fn, new Map());
      const first = await times.read(false);
      const opened = new WriterTimes(client, fn, countersOf(first));
      opened.analyzer = Promise.all([loadParser(), readCatalog(client)]).then(([, c]) => c);
      opened.analyzer.catch(() => undefined);
      return opened;
    } catch {
      // Not loaded, or not readable by this role: nothing to judge by.
      return undefined;
    }
  }

  /** The counters (with texts: of the statements whose text names `mentioning`), or of the statements `only`. */
  private async read(texts: boolean, only?: string[], mentioning?: string): Promise<Row[]> {
    const ids = only?.map((k) => k.slice(k.indexOf(':') + 1));
    const params: unknown[] = ids ? [ids] : mentioning !== undefined ? [mentioning] : [];
    const { rows } = await this.client.query<Row>(
      `${MARKER} SELECT s.userid::text AS userid, s.queryid::text AS queryid,
         sum(s.calls)::float8 AS calls, sum(s.total_exec_time)::float8 AS ms,
         sum(s.stddev_exec_time ^ 2 * s.calls + CASE WHEN s.calls > 0 THEN s.total_exec_time ^ 2 / s.calls ELSE 0 END)::float8 AS squares
         ${texts ? ', min(r.rolname) AS role, min(s.query) AS query' : ''}
       FROM ${this.statsFunction}(${texts ? 'true' : 'false'}) s
       ${texts ? 'LEFT JOIN pg_roles r ON r.oid = s.userid' : ''}
       WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND s.queryid IS NOT NULL ${ids ? 'AND s.queryid = ANY($1::bigint[])' : ''}
         ${!ids && mentioning !== undefined ? 'AND strpos(lower(s.query), lower($1)) > 0' : ''}
       GROUP BY s.userid, s.queryid`,
      params,
    );
    return rows;
  }

  /**
   * Ends the baseline window: the statements writing `table` and their mean
   * time in the window (or over their history before it). Returns how many were found.
   */
  async takeBaseline(table: TableName): Promise<number> {
    const catalog = await (this.analyzer ?? loadParser().then(() => readCatalog(this.client)));
    // Only texts naming the table can write it: the parser sees the few, not every statement
    // (a name with a double quote is written doubled in SQL: then every text is looked at).
    const rows = await this.read(
      true,
      undefined,
      table.name.includes('"') ? undefined : table.name,
    );
    const tableKeyText = tableKey(table);
    const index = createCatalogIndex(catalog);
    for (const r of rows) {
      if (!r.query || isMarked(r.query)) continue;
      const analysis = analyzeStatement(r.query, index, {
        ...(r.role ? { role: r.role } : {}),
        resolveOutsideSearchPath: true,
      });
      if (!analysis.relations.write.includes(tableKeyText)) continue;
      const before = this.start.get(key(r));
      const inWindow = delta(r, before);
      const basis =
        inWindow.calls >= MIN_WINDOW_CALLS
          ? inWindow
          : before && before.calls >= MIN_HISTORY_CALLS
            ? before
            : undefined;
      if (basis)
        this.baseline.set(key(r), {
          mean: basis.ms / basis.calls,
          meanSquare: basis.squares / basis.calls,
        });
    }
    this.last = countersOf(rows.filter((r) => this.baseline.has(key(r))));
    return this.baseline.size;
  }

  /** Whether any writer of the table has a baseline to be judged against. */
  get watching(): boolean {
    return this.baseline.size > 0;
  }

  /** The writers' calls since the last sample (or the baseline). */
  async sample(): Promise<WriterTimesSample> {
    const sample: WriterTimesSample = {
      calls: 0,
      ms: 0,
      baselineMs: 0,
      squares: 0,
      baselineSquares: 0,
    };
    if (!this.watching) return sample;
    const rows = await this.read(false, [...this.baseline.keys()]);
    for (const r of rows) {
      const base = this.baseline.get(key(r));
      if (base === undefined) continue;
      // A counter below its last value was reset or evicted: everything in it is new.
      const d = delta(r, this.last.get(key(r)));
      this.last.set(key(r), { calls: r.calls, ms: r.ms, squares: r.squares });
      if (d.calls <= 0) continue;
      sample.calls += d.calls;
      sample.ms += d.ms;
      sample.baselineMs += d.calls * base.mean;
      sample.squares += Math.max(0, d.squares);
      sample.baselineSquares += d.calls * base.meanSquare;
    }
    return sample;
  }
}
