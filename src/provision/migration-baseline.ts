/**
 * Adopting pgpact on a database whose migrations another tool ran: the files of a service's
 * folder that the database already has must be recorded, not run again. What that tool
 * recorded in its own history table decides which files those are (Diesel, goose,
 * golang-migrate, dbmate, sqlx, Prisma, Flyway, River, Sqitch's registry); without one, `--baseline` records them all.
 * Without `--baseline`, apply refuses, before anything changes, to run a folder that tool
 * already ran.
 */
import { PgpactError } from '../errors.js';
import type { Finding } from '../findings.js';
import { escapeUnsafe } from '../manifest/names.js';
import type { Manifest } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { quoteIdent } from '../postgres/quote.js';
import {
  ensureMigrationTable,
  listMigrationFiles,
  recordedServices,
  type MigrationFile,
} from './migration-folders.js';
import type { BaselinedFiles } from './types.js';

/** What another migration tool recorded as applied. */
export interface ToolHistory {
  tool: string;
  /** Its table, schema-qualified, and the schema alone. */
  table: string;
  schema: string;
  /**
   * Whether the migration of this name (as in a pgpact migrations folder) is applied there;
   * `names` are all of the folder's, in order (a Sqitch change reworked runs more than once).
   */
  applied(name: string, names: readonly string[]): boolean;
  /**
   * For a history that keeps only the latest version (golang-migrate): whether this file is
   * that version. A folder without it is not that tool's folder.
   */
  current?(name: string): boolean;
}

/** The folder (Diesel, Prisma) or file a migration name starts with. */
const head = (name: string) => name.split('/')[0]!;
/** The leading digits of a name (goose, golang-migrate, dbmate, sqlx versions). */
const leadingNumber = (name: string) => /^(\d+)/.exec(head(name))?.[1];
/** Diesel's version: the folder name before its first `_`, without dashes. */
const dieselVersion = (name: string) => head(name).split('_')[0]!.replace(/-/g, '');
/** Flyway's version of V1_2__x.sql: 1.2, each part without leading zeros. */
function flywayVersion(name: string): string | undefined {
  const m = /^V([\d._]+?)__/.exec(head(name));
  return m ? normalizeFlyway(m[1]!.replace(/_/g, '.')) : undefined;
}
const normalizeFlyway = (v: string) =>
  v
    .split('.')
    .map((p) => String(Number(p)))
    .join('.');

type Reader = {
  tool: string;
  table: string;
  /** Columns the table must have to be this tool's. */
  columns: string[];
  /** `table` quoted for SQL, `display` as messages name it. */
  read(
    client: Queryable,
    table: string,
    display: string,
  ): Promise<
    Pick<ToolHistory, 'applied' | 'current'> | ((name: string, names: readonly string[]) => boolean)
  >;
};

async function column<T>(client: Queryable, sql: string): Promise<T[]> {
  const { rows } = await client.query<{ v: T }>(sql);
  return rows.map((r) => r.v);
}

/**
 * The files a history table says ran: those whose version (`keyOf` their name) is among the
 * values `sql` returns (each made comparable by `normalize`).
 */
async function appliedAmong(
  client: Queryable,
  sql: string,
  keyOf: (name: string) => string | undefined,
  normalize: (version: string) => string = (v) => v,
): Promise<(name: string) => boolean> {
  const versions = new Set((await column<string>(client, sql)).map(normalize));
  return (name) => {
    const key = keyOf(name);
    return key !== undefined && versions.has(key);
  };
}

/** The leading number of a name without its leading zeros (goose, golang-migrate, sqlx keep bigints). */
function numberOf(name: string): string | undefined {
  const n = leadingNumber(name);
  return n === undefined ? undefined : String(BigInt(n));
}

const READERS: Reader[] = [
  {
    tool: 'Diesel',
    table: '__diesel_schema_migrations',
    columns: ['version'],
    read: (client, table) =>
      appliedAmong(client, `SELECT version::text AS v FROM ${table}`, dieselVersion),
  },
  {
    tool: 'goose',
    table: 'goose_db_version',
    columns: ['version_id', 'is_applied'],
    // The latest row of a version says whether it is applied (a down adds a row).
    read: (client, table) =>
      appliedAmong(
        client,
        `SELECT v FROM (SELECT DISTINCT ON (version_id) version_id::text AS v, is_applied FROM ${table} ORDER BY version_id, id DESC) s WHERE is_applied`,
        numberOf,
      ),
  },
  {
    tool: 'golang-migrate',
    table: 'schema_migrations',
    columns: ['version', 'dirty'],
    async read(client, table, display) {
      const { rows } = await client.query<{ version: string; dirty: boolean }>(
        `SELECT version::text AS version, dirty FROM ${table}`,
      );
      const row = rows[0];
      if (row?.dirty)
        throw new PgpactError(
          'MIGRATION_INVALID',
          `golang-migrate's ${escapeUnsafe(display)} says version ${row.version} is dirty: it failed halfway`,
          { hint: 'repair the database and run migrate force VERSION, then apply again' },
        );
      const current = row ? BigInt(row.version) : -1n;
      const version = (name: string) => {
        const n = numberOf(name);
        return n === undefined ? undefined : BigInt(n);
      };
      return {
        applied: (name) => (version(name) ?? current + 1n) <= current,
        current: (name) => version(name) === current,
      };
    },
  },
  {
    tool: 'dbmate',
    table: 'schema_migrations',
    columns: ['version'],
    read: (client, table) =>
      appliedAmong(client, `SELECT version::text AS v FROM ${table}`, leadingNumber),
  },
  {
    tool: 'sqlx',
    table: '_sqlx_migrations',
    columns: ['version', 'success'],
    read: (client, table) =>
      appliedAmong(client, `SELECT version::text AS v FROM ${table} WHERE success`, numberOf),
  },
  {
    tool: 'Prisma',
    table: '_prisma_migrations',
    columns: ['migration_name', 'finished_at', 'rolled_back_at'],
    read: (client, table) =>
      appliedAmong(
        client,
        `SELECT migration_name AS v FROM ${table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        head,
      ),
  },
  {
    // River's own migrator: a row per version run, per migration line (main unless River Pro's).
    tool: 'River',
    table: 'river_migration',
    columns: ['version'],
    read: (client, table) =>
      appliedAmong(
        client,
        `SELECT version::text AS v FROM ${table} r WHERE coalesce(to_jsonb(r)->>'line', 'main') = 'main'`,
        numberOf,
      ),
  },
  {
    // Sqitch's registry (schema sqitch unless --registry says otherwise): a row per change
    // deployed, one more for each rework deployed. A folder's names are deploy/<change>.sql,
    // or deploy/<change>@<tag>.sql for a change as it was before a rework (migration-layout).
    tool: 'Sqitch',
    table: 'changes',
    columns: ['change_id', 'script_hash', 'change', 'project'],
    async read(client, table) {
      const counts = new Map<string, number>();
      for (const change of await column<string>(client, `SELECT change AS v FROM ${table}`))
        counts.set(change, (counts.get(change) ?? 0) + 1);
      return (name, names) => {
        const change = sqitchChange(name);
        if (change === undefined) return false;
        // The k-th script of a change in plan order ran when the registry has k of its rows.
        const nth = names
          .slice(0, names.indexOf(name) + 1)
          .filter((n) => sqitchChange(n) === change).length;
        return (counts.get(change) ?? 0) >= Math.max(1, nth);
      };
    },
  },
  {
    tool: 'Flyway',
    table: 'flyway_schema_history',
    columns: ['version', 'success'],
    read: (client, table) =>
      appliedAmong(
        client,
        `SELECT version AS v FROM ${table} WHERE success AND version IS NOT NULL`,
        flywayVersion,
        normalizeFlyway,
      ),
  },
];

/** The change a Sqitch deploy script is for: deploy/<change>.sql or deploy/<change>@<tag>.sql. */
function sqitchChange(name: string): string | undefined {
  const m = /^deploy\/(.+?)(?:@[^@/]+)?\.sql$/.exec(name);
  return m?.[1];
}

/** Every history table of a known tool in the database (any schema but the system's and pgpact's). */
export async function readToolHistories(client: Queryable): Promise<ToolHistory[]> {
  const { rows } = await client.query<{ schema: string; name: string; columns: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name, array_agg(a.attname::text) AS columns
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgpact')
     GROUP BY n.nspname, c.relname ORDER BY n.nspname, c.relname`,
    [[...new Set(READERS.map((r) => r.table))]],
  );
  const histories: ToolHistory[] = [];
  for (const row of rows) {
    // golang-migrate's and dbmate's tables share a name: the first whose columns fit reads it.
    const reader = READERS.find(
      (r) => r.table === row.name && r.columns.every((c) => row.columns.includes(c)),
    );
    if (!reader) continue;
    const display = `${row.schema}.${row.name}`;
    const read = await reader.read(
      client,
      `${quoteIdent(row.schema)}.${quoteIdent(row.name)}`,
      display,
    );
    histories.push({
      tool: reader.tool,
      table: display,
      schema: row.schema,
      ...(typeof read === 'function' ? { applied: read } : read),
    });
  }
  return histories;
}

/** The history that has the most of these files applied (at least one), if any. */
function bestHistory(
  histories: ToolHistory[],
  files: MigrationFile[],
): { history: ToolHistory; applied: MigrationFile[] } | undefined {
  let best: { history: ToolHistory; applied: MigrationFile[] } | undefined;
  for (const history of histories) {
    if (history.current && !files.some((f) => history.current!(f.file))) continue;
    const names = files.map((f) => f.file);
    const applied = files.filter((f) => history.applied(f.file, names));
    if (applied.length > 0 && applied.length > (best?.applied.length ?? 0))
      best = { history, applied };
  }
  return best;
}

/** A service's folder pgpact recorded nothing of, and the history that says which of its files ran. */
interface Unrecorded {
  service: Manifest['services'][number];
  files: MigrationFile[];
  best: { history: ToolHistory; applied: MigrationFile[] } | undefined;
}

/** The services with a migrations folder pgpact recorded nothing of, each with the history naming most of its files. */
async function unrecordedFolders(client: Queryable, manifest: Manifest): Promise<Unrecorded[]> {
  const services = manifest.services.filter((s) => s.migrations !== undefined);
  if (services.length === 0) return [];
  const recorded = await recordedServices(client);
  const fresh = services
    .filter((s) => !recorded.has(s.name))
    .map((service) => ({ service, files: listMigrationFiles(service) }))
    .filter((s) => s.files.length > 0);
  if (fresh.length === 0) return [];
  const histories = await readToolHistories(client);
  // A history in a schema a service owns is that service's; one in a schema no service owns
  // (public) may be anyone's, and counts only when the service's own schemas hold none that fits.
  const ownerOf = new Map(manifest.services.flatMap((s) => s.owns.map((o) => [o, s.name])));
  return fresh.map(({ service, files }) => {
    const own = histories.filter((h) => ownerOf.get(h.schema) === service.name);
    const shared = histories.filter((h) => !ownerOf.has(h.schema));
    const best = bestHistory(own, files) ?? bestHistory(shared, files);
    return { service, files, best };
  });
}

const BASELINE_HINT =
  'run pgpact apply --baseline once: it records those files as applied without running them, and runs the others';

/** What another tool already ran of folders pgpact recorded nothing of, as the refusal words it. */
function alreadyRanText(ran: Unrecorded[]): string {
  return `the migrations of ${ran.map((d) => `${d.service.name} (${d.best!.applied.length} of ${d.files.length} files, by ${d.best!.history.tool}: ${d.best!.history.table})`).join(', ')} already ran, and pgpact has not recorded them: it would run them again`;
}

/**
 * For `plan`: a warning per service whose folder another tool already ran (apply refuses it
 * until --baseline), so the pending files it lists are not taken for work to do.
 */
export async function alreadyRanFindings(
  client: Queryable,
  manifest: Manifest,
): Promise<Finding[]> {
  return (await unrecordedFolders(client, manifest))
    .filter((d) => d.best !== undefined)
    .map((d) => ({
      severity: 'warning',
      kind: 'migrations-already-ran',
      object: `service ${d.service.name}`,
      consumers: [],
      message: `${alreadyRanText([d])}; pgpact apply refuses until they are recorded`,
      suggestion: BASELINE_HINT,
    }));
}

/**
 * For each service with a migrations folder of which pgpact recorded nothing yet: with
 * `baseline`, records as applied (without running them) the files another tool's history says
 * the database has, or every file when no history names any; without it, refuses when such a
 * history names some. Returns what was recorded.
 */
export async function baselineMigrations(
  client: Queryable,
  manifest: Manifest,
  baseline: boolean,
): Promise<BaselinedFiles[]> {
  const decided = await unrecordedFolders(client, manifest);
  if (decided.length === 0) return [];
  if (!baseline) {
    const ran = decided.filter((d) => d.best !== undefined);
    if (ran.length > 0)
      throw new PgpactError('MIGRATION_INVALID', alreadyRanText(ran), { hint: BASELINE_HINT });
    return [];
  }
  await ensureMigrationTable(client);
  const result: BaselinedFiles[] = [];
  for (const { service, files, best } of decided) {
    const record = best ? best.applied : files;
    await client.query(
      `INSERT INTO pgpact.schema_migrations (service, file, checksum)
       SELECT $1, f, c FROM unnest($2::text[], $3::text[]) AS t(f, c)`,
      [service.name, record.map((f) => f.file), record.map((f) => f.checksum)],
    );
    result.push({
      service: service.name,
      files: record.map((f) => f.file),
      ...(best ? { from: `${best.history.tool}: ${best.history.table}` } : {}),
    });
  }
  return result;
}
