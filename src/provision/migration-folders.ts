/**
 * Each service's migrations folder: its forward migrations in natural name order (the
 * layouts of migration-layout.ts), each in its own transaction as the service's role (so what
 * it creates belongs to the service), recorded in pgpact.schema_migrations with a checksum.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { caretAt, isServerError, PgpactError, type Problem } from '../errors.js';
import { escapeUnsafe } from '../manifest/names.js';
import type { Manifest, Service } from '../manifest/types.js';
import {
  type Queryable,
  withAdvisoryLock,
  withClient,
  withTransaction,
} from '../postgres/client.js';
import { quoteIdent } from '../postgres/quote.js';
import { loadParser, parseTree } from '../sql/parse.js';
import { type ForwardMigration, forwardMigrations, forwardText } from './migration-layout.js';
import type { AppliedMigration } from './types.js';

/** One migration file of a service. */
export interface MigrationFile {
  service: string;
  /** Name inside the folder: the file's, or `folder/up.sql` in a folder-per-migration layout. */
  file: string;
  /** Absolute path. */
  path: string;
  /** What runs: the file's text, its down sections blanked (migration-layout). */
  sql: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
}

/** The advisory lock key apply and migrations hold, so two never run at once on a database. */
export const APPLY_LOCK_KEY = 'pgpact:apply';

/**
 * The service's migrations that run forward, in natural name order (002 before 010), with the
 * SQL that runs (see migration-layout: rollback files and down sections never do); [] when it
 * declares no folder.
 */
export function listMigrationFiles(service: Service): MigrationFile[] {
  if (service.migrations === undefined) return [];
  const dir = service.migrations;
  let found: ForwardMigration[];
  try {
    found = forwardMigrations(dir);
  } catch (error) {
    // A folder that reads but holds a plan pgpact cannot follow says why itself.
    if (error instanceof PgpactError) throw error;
    throw new PgpactError(
      'MIGRATION_INVALID',
      `the migrations folder of service ${service.name} cannot be read: ${escapeUnsafe(dir)}`,
      {
        hint: 'create the folder, or fix `migrations:` of the service in the manifest',
        cause: error,
      },
    );
  }
  return found.map(({ name, path: full }) => {
    const bytes = fs.readFileSync(full);
    return {
      service: service.name,
      file: name,
      path: full,
      sql: forwardText(bytes.toString('utf8')),
      checksum: createHash('sha256').update(bytes).digest('hex'),
    };
  });
}

async function appliedRows(
  client: Queryable,
): Promise<{ service: string; file: string; checksum: string }[]> {
  const exists = await client.query<{ ok: boolean }>(
    "SELECT to_regclass('pgpact.schema_migrations') IS NOT NULL AS ok",
  );
  if (!exists.rows[0]?.ok) return [];
  const { rows } = await client.query<{ service: string; file: string; checksum: string }>(
    'SELECT service, file, checksum FROM pgpact.schema_migrations',
  );
  return rows;
}

/** Files not applied yet, in order; throws MIGRATION_INVALID when an applied file changed or a new file sorts before an applied one. */
export async function pendingMigrations(
  client: Queryable,
  manifest: Manifest,
): Promise<MigrationFile[]> {
  const applied = await appliedRows(client);
  const pending: MigrationFile[] = [];
  for (const service of manifest.services) {
    const done = new Map(
      applied.filter((a) => a.service === service.name).map((a) => [a.file, a.checksum]),
    );
    const files = listMigrationFiles(service);
    const lastApplied = files.reduce((last, f, i) => (done.has(f.file) ? i : last), -1);
    files.forEach((f, i) => {
      const checksum = done.get(f.file);
      if (checksum !== undefined && checksum !== f.checksum) {
        throw new PgpactError(
          'MIGRATION_INVALID',
          `migration ${service.name}/${escapeUnsafe(f.file)} changed after it was applied`,
          {
            problems: [
              {
                code: 'MIGRATION_CHANGED',
                message: 'checksum differs from the applied file',
                file: escapeUnsafe(f.path),
                line: 1,
                column: 1,
              },
            ],
            hint: 'a migration that ran must not change: restore the file and add a new one for the change',
          },
        );
      }
      if (checksum !== undefined) return;
      if (i < lastApplied) {
        throw new PgpactError(
          'MIGRATION_INVALID',
          `migration ${service.name}/${escapeUnsafe(f.file)} is new but sorts before ${escapeUnsafe(files[lastApplied]!.file)}, which already ran`,
          {
            problems: [
              {
                code: 'MIGRATION_OUT_OF_ORDER',
                message: 'sorts before an applied file',
                file: escapeUnsafe(f.path),
                line: 1,
                column: 1,
              },
            ],
            hint: `rename it so it sorts after ${escapeUnsafe(files[lastApplied]!.file)}`,
          },
        );
      }
      pending.push(f);
    });
  }
  return pending;
}

/** A migration file failed; `applied` lists the files that ran before it in the same run (they stay applied). */
export class MigrationFailedError extends PgpactError {
  readonly applied: AppliedMigration[] = [];
}

/** Statements of a file with their start and end as JS string offsets; undefined when the parser rejects the file. */
async function splitStatements(sql: string): Promise<{ start: number; end: number }[] | undefined> {
  await loadParser();
  let parsed: {
    stmts?: { stmt_location?: number; stmt_len?: number; stmt: Record<string, unknown> }[];
  };
  try {
    parsed = parseTree(sql) as typeof parsed;
  } catch {
    return undefined;
  }
  const bytes = Buffer.from(sql, 'utf8');
  const toIndex = (byteOffset: number) => bytes.subarray(0, byteOffset).toString('utf8').length;
  return (parsed.stmts ?? []).map((s) => {
    const from = s.stmt_location ?? 0;
    const to = s.stmt_len ? from + s.stmt_len : bytes.length;
    return { start: toIndex(from), end: toIndex(to) };
  });
}

/** A plain BEGIN / START TRANSACTION, or COMMIT / END, with no isolation level or mode. */
const PLAIN_BEGIN = /^(?:BEGIN(?:\s+(?:WORK|TRANSACTION))?|START\s+TRANSACTION)\s*;?\s*$/i;
const PLAIN_COMMIT = /^(?:COMMIT|END)(?:\s+(?:WORK|TRANSACTION))?\s*;?\s*$/i;

/**
 * The statements of a file that is one transaction written out (`BEGIN; … COMMIT;`, as Sqitch
 * and many hand-written migrations wrap theirs) without that wrapper: pgpact runs each file in
 * a transaction of its own, which is what the wrapper asked for. Any other transaction control
 * is left in place (and refused).
 */
function unwrapped(
  sql: string,
  statements: { start: number; end: number }[],
): { start: number; end: number }[] {
  const text = (s: { start: number; end: number } | undefined) =>
    s === undefined ? '' : stripLeadingComments(sql.slice(s.start, s.end)).trim();
  const first = statements[0];
  const last = statements.at(-1);
  if (statements.length < 2 || !PLAIN_BEGIN.test(text(first)) || !PLAIN_COMMIT.test(text(last)))
    return statements;
  return statements.slice(1, -1);
}

function stripLeadingComments(sql: string): string {
  return sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/, '');
}

function isTransactionControl(sql: string): boolean {
  return /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b/i.test(
    stripLeadingComments(sql),
  );
}

/** SQLSTATE insufficient_privilege: permission denied, must be owner. */
const INSUFFICIENT_PRIVILEGE = '42501';

/** SQLSTATEs of an object that exists already (table, schema, column, function, type…). */
const DUPLICATE_OBJECT = new Set(['42P07', '42P06', '42701', '42710', '42723', '42P04']);

function migrationError(
  file: MigrationFile,
  error: unknown,
  position: number,
  appliedBefore: number,
  /** The first file of a service pgpact recorded none of: the folder may be another tool's, already run. */
  adopting = false,
  /** The role it ran as. */
  role?: string,
): MigrationFailedError {
  const { line, column, excerpt } = caretAt(file.sql, position);
  const e = error as Error & { code?: string; detail?: string; hint?: string; where?: string };
  const server = isServerError(error);
  const problem: Problem = {
    code: server ? `SQLSTATE ${e.code}` : 'MIGRATION_FAILED',
    message: e.message,
    file: escapeUnsafe(file.path),
    line,
    column,
    ...(e.hint ? { hint: e.hint } : {}),
  };
  const detail = [
    ...excerpt.split('\n').map((l) => `  ${l}`),
    ...(e.detail ? [`detail: ${e.detail}`] : []),
    ...(e.where ? [`where: ${e.where}`] : []),
  ].join('\n');
  return new MigrationFailedError(
    'MIGRATION_FAILED',
    `migration ${file.service}/${escapeUnsafe(file.file)} failed at line ${line}, column ${column}: ${e.message}; it was rolled back${appliedBefore > 0 ? `, the ${appliedBefore} file(s) before it stay applied` : ''}`,
    {
      problems: [problem],
      detail,
      hint:
        adopting && server && DUPLICATE_OBJECT.has(e.code ?? '')
          ? 'the database already has what the first file of this folder creates: if another tool ran these migrations, record them as applied with `pgpact apply --baseline` (apply --help says how it decides which); otherwise fix the file and apply again'
          : server && e.code === INSUFFICIENT_PRIVILEGE && role !== undefined
            ? `migrations run as the service's role ${role}, which may not do this: what the file changes must be owned by the service (owns: in pgpact.yaml), and a schema it creates objects in must be the service's or grant it CREATE (GRANT CREATE ON SCHEMA … TO ${role}); then apply again: it resumes with this file`
            : 'fix the file and apply again: it resumes with this file',
      cause: error,
    },
  );
}

/**
 * The search_path a service's migrations run with: its own schemas, then public. `check`'s
 * shadow runs them with the same, so an unqualified name lands where apply puts it.
 */
export function migrationSearchPath(service: Pick<Service, 'owns'>): string {
  return [...service.owns.map(quoteIdent), 'public'].join(', ');
}

/** Runs one file in its own transaction as the service's role and records it. */
async function runFile(
  client: Queryable,
  service: Service,
  file: MigrationFile,
  appliedBefore: number,
  adopting: boolean,
): Promise<AppliedMigration> {
  const began = Date.now();
  const statements = unwrapped(
    file.sql,
    (await splitStatements(file.sql)) ?? [{ start: 0, end: file.sql.length }],
  );
  await withTransaction(client, async (tx) => {
    await tx.query(`SET LOCAL ROLE ${quoteIdent(service.role)}`);
    await tx.query(`SET LOCAL search_path TO ${migrationSearchPath(service)}`);
    for (const { start, end } of statements) {
      const text = file.sql.slice(start, end);
      const lead = text.length - text.trimStart().length;
      if (isTransactionControl(text)) {
        throw migrationError(
          file,
          new Error(
            'transaction control is not allowed: pgpact runs each file in its own transaction',
          ),
          start + lead + 1,
          appliedBefore,
        );
      }
      try {
        await tx.query(text);
      } catch (error) {
        const p = Number((error as { position?: string }).position);
        // Postgres counts characters from 1 within the statement; map that to the file.
        const within =
          Number.isFinite(p) && p > 0
            ? Array.from(text)
                .slice(0, p - 1)
                .join('').length
            : lead;
        throw migrationError(
          file,
          error,
          start + within + 1,
          appliedBefore,
          adopting,
          service.role,
        );
      }
    }
    const { rows } = await tx.query<{ who: string }>('SELECT current_user::text AS who');
    if (rows[0]?.who !== service.role) {
      throw migrationError(
        file,
        new Error(
          `the file switched the role to ${rows[0]?.who}; migrations run as ${service.role}`,
        ),
        file.sql.length,
        appliedBefore,
      );
    }
    await tx.query('RESET ROLE');
    await tx.query(
      'INSERT INTO pgpact.schema_migrations (service, file, checksum) VALUES ($1, $2, $3)',
      [service.name, file.file, file.checksum],
    );
  });
  return {
    service: service.name,
    file: file.file,
    checksum: file.checksum,
    durationMs: Date.now() - began,
  };
}

/** The services pgpact recorded at least one migration file of. */
export async function recordedServices(client: Queryable): Promise<Set<string>> {
  const { rows } = await client.query<{ ok: boolean }>(
    "SELECT to_regclass('pgpact.schema_migrations') IS NOT NULL AS ok",
  );
  if (!rows[0]?.ok) return new Set();
  const services = await client.query<{ service: string }>(
    'SELECT DISTINCT service FROM pgpact.schema_migrations',
  );
  return new Set(services.rows.map((r) => r.service));
}

/** Creates pgpact.schema_migrations, where services cannot reach, when it is missing. */
export async function ensureMigrationTable(client: Queryable): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS pgpact;
    REVOKE ALL ON SCHEMA pgpact FROM PUBLIC;
    CREATE TABLE IF NOT EXISTS pgpact.schema_migrations (
      service text NOT NULL,
      file text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (service, file)
    );
    REVOKE ALL ON pgpact.schema_migrations FROM PUBLIC`);
}

/** Runs the pending migration files on an open admin connection (the caller holds the apply lock). */
export async function runPendingMigrations(
  client: Queryable,
  manifest: Manifest,
): Promise<AppliedMigration[]> {
  if (!manifest.services.some((s) => s.migrations !== undefined)) return [];
  const pending = await pendingMigrations(client, manifest);
  if (pending.length === 0) return [];
  await ensureMigrationTable(client);
  const applied: AppliedMigration[] = [];
  // Services of which nothing was recorded yet: their first file may be another tool's, already run.
  const recorded = await recordedServices(client);
  for (const file of pending) {
    const service = manifest.services.find((s) => s.name === file.service)!;
    const first = pending.find((f) => f.service === service.name) === file;
    try {
      applied.push(
        await runFile(client, service, file, applied.length, first && !recorded.has(service.name)),
      );
    } catch (error) {
      if (error instanceof MigrationFailedError) error.applied.push(...applied);
      throw error;
    }
  }
  return applied;
}

/** Runs every service's pending migration files; holds the apply lock so it never runs beside an apply. */
export async function applyMigrationFolders(
  adminUrl: string,
  manifest: Manifest,
): Promise<AppliedMigration[]> {
  return withClient(
    adminUrl,
    (client) =>
      withAdvisoryLock(
        client,
        APPLY_LOCK_KEY,
        () => runPendingMigrations(client, manifest),
        () =>
          new PgpactError(
            'APPLY_IN_PROGRESS',
            'another pgpact apply or migration run holds this database',
            { hint: 'wait for it to finish, then run again' },
          ),
      ),
    { applicationName: 'pgpact migrations' },
  );
}
