import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { caretAt, PgpactError, type Problem } from '../errors.js';
import { isSharedSchema, ownerResolver, sharedSchemas } from '../manifest/ownership.js';
import type { Manifest } from '../manifest/types.js';
import { listMigrationFiles, migrationSearchPath } from '../provision/migration-folders.js';
import { forwardMigrations, forwardText } from '../provision/migration-layout.js';
import { type Queryable, urlWith, withClient } from '../postgres/client.js';
import { type ServerBinaries, startThrowawayServer } from '../postgres/local-server.js';
import { quoteIdent } from '../postgres/quote.js';
import { withholdSecretLines } from '../sql/secret-statements.js';
import { loadParser } from '../sql/parse.js';
import { displayPath, parseMigrationText, type MigrationStatement } from './migration-file.js';
import { statementFacts } from '../sql/ddl-facts.js';

/** Settings of a throwaway shadow server. One base file may create thousands of tables in one implicit transaction. */
export const SHADOW_SERVER_SETTINGS: Record<string, string> = {
  log_connections: 'off',
  log_disconnections: 'off',
  max_connections: '30',
  max_locks_per_transaction: '4096',
};

/** A database to build the current schema in and try the migration on; dispose() removes it. */
export interface ShadowDatabase {
  url: string;
  dispose(): Promise<void>;
}

/**
 * Opens the shadow database: on a brand-new throwaway server (the default; dispose()
 * stops and deletes it), or as a new database on a server the caller already runs
 * (tests, benchmarks; dispose() drops the database).
 */
export async function openShadowDatabase(
  options: { serverUrl?: string; binaries?: ServerBinaries } = {},
): Promise<ShadowDatabase> {
  if (options.serverUrl === undefined) {
    const server = await startThrowawayServer({
      ...(options.binaries ? { binaries: options.binaries } : {}),
      settings: SHADOW_SERVER_SETTINGS,
    });
    return { url: server.url, dispose: () => server.destroy() };
  }
  const serverUrl = options.serverUrl;
  const name = `pgpact_shadow_${randomBytes(5).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return {
    url: urlWith(serverUrl, { database: name }),
    dispose: async () => {
      await withClient(serverUrl, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      ).catch(() => undefined);
    },
  };
}

/** Where the current schema comes from. */
export type BaseSource = { kind: 'migrations' } | { kind: 'files'; paths: string[] };

/** One base file to apply, as a role (undefined: the admin). */
export interface BaseFile {
  path: string;
  role?: string;
  service?: string;
}

/** The forward migrations of a folder in natural name order (002 before 010), as migration folders are run. */
export function listSqlFiles(dir: string): string[] {
  return forwardMigrations(dir).map((m) => m.path);
}

/** The base files in apply order: services' migration folders in manifest order, or the given files/folders. */
export function baseFiles(
  manifest: Manifest,
  source: BaseSource,
  exclude: Set<string>,
  root: string,
): BaseFile[] {
  if (source.kind === 'files') {
    return source.paths
      .flatMap((p) => {
        const abs = path.resolve(root, p);
        if (!fs.existsSync(abs)) {
          throw new PgpactError('USAGE', `--base ${p} does not exist`, {
            hint: 'pass a folder of .sql files or .sql files',
          });
        }
        if (!fs.statSync(abs).isDirectory()) return [{ path: abs }];
        const inside = listSqlFiles(abs);
        if (inside.length === 0)
          throw new PgpactError('USAGE', `--base ${p} holds no migration to run`, {
            hint: 'pass a folder of .sql files (or of migration folders with an up.sql or migration.sql), or .sql files',
          });
        return before(inside, exclude).map((f) => ({ path: f }));
      })
      .filter((f) => !exclude.has(f.path));
  }
  // The same files, in the same order, as `pgpact apply` runs them (provision/migration-folders).
  const files: BaseFile[] = [];
  for (const service of manifest.services) {
    const listed = listMigrationFiles(service).map((f) => f.path);
    for (const file of before(listed, exclude))
      files.push({ path: file, role: service.role, service: service.name });
  }
  return files;
}

/**
 * A folder's files up to the first one being checked: the files after it in the folder are
 * later migrations, which run after it (an index on the column it adds) and so are no part of
 * the schema it meets. A folder holding none of them counts whole.
 */
function before(paths: string[], checked: Set<string>): string[] {
  const first = paths.findIndex((p) => checked.has(p));
  return first < 0 ? paths : paths.slice(0, first);
}

const NEEDS_PARSE = /\b(?:schema|concurrently|vacuum|system|database)\b/i;

async function ensureRole(client: Queryable, role: string): Promise<void> {
  const { rows } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (rows.length === 0)
    await client.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`).catch(() => undefined);
}

function applyError(
  manifest: Manifest,
  file: BaseFile,
  display: string,
  text: string,
  offset: number,
  error: unknown,
  /** Where the statement's first token is: the place for an error Postgres gives no position. */
  firstToken = offset,
): PgpactError {
  const e = error as { message?: string; position?: string; code?: string };
  const at = caretAt(text, e.position ? offset + Number(e.position) : firstToken + 1);
  const problem: Problem = {
    code: e.code ?? 'MIGRATION_INVALID',
    message: e.message ?? String(error),
    file: display,
    line: at.line,
    column: at.column,
  };
  return new PgpactError(
    'MIGRATION_INVALID',
    `a base migration does not apply in the shadow database: ${display}`,
    {
      problems: [problem],
      detail: withholdSecretLines(at.excerpt),
      hint: baseHint(manifest, file, e.code),
      cause: error,
    },
  );
}

/** SQLSTATE insufficient_privilege: permission denied. */
const PERMISSION_DENIED = '42501';

/**
 * What to do about a base file that fails. A service's file ran as its role with what
 * `pgpact apply` gives that role (its schemas, owned), so it fails the same way when apply
 * runs it: the fix is in the file or the manifest, --base only hides it.
 */
function baseHint(manifest: Manifest, file: BaseFile, code: string | undefined): string {
  if (!file.role) return 'the base files ran in the order given, as the admin: fix the file';
  const service = manifest.services.find((s) => s.name === file.service);
  const name = service?.name ?? file.role;
  if (code !== PERMISSION_DENIED)
    return `it ran as role ${file.role}, in manifest order of the services, as \`pgpact apply\` runs it: fix the file, or list the service whose objects it needs before ${name} in pgpact.yaml`;
  const owns = service?.owns ?? [];
  const owning =
    owns.length === 0
      ? 'which owns no schema'
      : `owner of ${owns.length === 1 ? 'schema' : 'schemas'} ${owns.join(', ')}`;
  return `it ran as role ${file.role} (${owning}) with what \`pgpact apply\` gives it, so apply fails the same way: keep ${name}'s objects in its own schemas, add the schema the statement needs to ${name}'s owns: in pgpact.yaml, or leave what needs a superuser (an untrusted extension) to the admin`;
}

/**
 * The error of a file sent whole, at the statement that failed. Postgres gives no position
 * for many errors (an extension that is not available, a missing role): the file then ran
 * in one implicit transaction, rolled back, so its statements run again one by one in a
 * transaction that is rolled back too, until one fails. Files with their own BEGIN/COMMIT
 * (parts may have stayed) keep the error at the file's start.
 */
async function locateFailure(
  client: Queryable,
  manifest: Manifest,
  p: { file: BaseFile; display: string; text: string; statements: MigrationStatement[] },
  error: unknown,
): Promise<PgpactError> {
  const whole = applyError(manifest, p.file, p.display, p.text, 0, error);
  if ((error as { position?: string }).position) return whole;
  const parsed = p.statements.length > 0 ? p.statements : parseMigrationText(p.text, p.display);
  if (!Array.isArray(parsed) || parsed.some((s) => s.type === 'TransactionStmt')) return whole;
  await client.query('BEGIN');
  try {
    for (const s of parsed) {
      try {
        await client.query(s.sql);
      } catch (again) {
        return applyError(manifest, p.file, p.display, p.text, s.start, again, s.offset);
      }
    }
    return whole;
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * Builds the current schema in the shadow: every service's role (NOLOGIN), the schemas
 * they own, given to them as apply does (public included; others are left to the
 * migrations that create them), then the base files in order, each as
 * its service's role; finally every relation in an owned schema is given to its owner, so
 * the new migration meets the same ownership as in production. Grants are permissive:
 * the shadow needs the shapes, not the access rules.
 */
export async function buildShadowBase(
  client: Queryable,
  manifest: Manifest,
  files: BaseFile[],
  root: string,
): Promise<{ files: number }> {
  await loadParser();
  const parsed: {
    file: BaseFile;
    display: string;
    text: string;
    statements: MigrationStatement[];
  }[] = [];
  const problems: Problem[] = [];
  const details: string[] = [];
  for (const file of files) {
    const text = forwardText(fs.readFileSync(file.path, 'utf8'));
    const display = displayPath(file.path, root);
    // Parsing is only needed to find CREATE SCHEMA and statements that cannot run in a
    // transaction; Postgres reports any other error (syntax included) with its position.
    if (!NEEDS_PARSE.test(text)) {
      parsed.push({ file, display, text, statements: [] });
      continue;
    }
    const result = parseMigrationText(text, display);
    if (Array.isArray(result)) parsed.push({ file, display, text, statements: result });
    else {
      const { excerpt, ...problem } = result;
      problems.push(problem);
      details.push(`${problem.file}:${problem.line}:${problem.column}\n${excerpt}`);
    }
  }
  if (problems.length > 0) {
    throw new PgpactError('SQL_SYNTAX', 'syntax error in a base migration', {
      problems,
      detail: details.join('\n'),
    });
  }

  const created = new Set<string>();
  for (const p of parsed) {
    for (const s of p.statements) {
      for (const act of statementFacts(s.node).acts)
        if (act.verb === 'create-schema' && act.schema) created.add(act.schema);
    }
  }
  const { rows: dbRows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  const db = quoteIdent(dbRows[0]!.db);
  // Schemas every new database has (public): CREATE SCHEMA … AUTHORIZATION leaves them as they are.
  const { rows: existingRows } = await client.query<{ name: string }>(
    'SELECT nspname AS name FROM pg_namespace',
  );
  const existing = new Set(existingRows.map((r) => r.name));
  const setup: string[] = [];
  for (const service of manifest.services) {
    await ensureRole(client, service.role);
    const role = quoteIdent(service.role);
    setup.push(`GRANT CREATE ON DATABASE ${db} TO ${role}`);
    setup.push(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${role} GRANT SELECT, REFERENCES, TRIGGER ON TABLES TO PUBLIC`,
    );
    setup.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${role} GRANT USAGE ON SCHEMAS TO PUBLIC`);
    for (const schema of service.owns) {
      if (existing.has(schema)) {
        // As apply's alter-owner step, in audit mode too (there the old owner only keeps its
        // own access): since PG 15 public belongs to pg_database_owner and PUBLIC may not
        // create in it, so the service's base files could not create their tables there.
        setup.push(`ALTER SCHEMA ${quoteIdent(schema)} OWNER TO ${role}`);
        // Enforce mode revokes what PUBLIC holds beyond the manifest (CREATE on public before
        // PG 15); audit mode leaves it to the login roles holding it today.
        if (service.enforcement === 'enforce')
          setup.push(`REVOKE CREATE ON SCHEMA ${quoteIdent(schema)} FROM PUBLIC`);
      } else if (!created.has(schema)) {
        setup.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)} AUTHORIZATION ${role}`);
      } else continue;
      setup.push(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO PUBLIC`);
    }
    // A shared schema (tables owned through owns: patterns) stays the admin's; services that
    // own tables there create them, as they do in the database (CREATE stays with them).
    for (const pattern of service.ownsTables) {
      if (!isSharedSchema(manifest, pattern.schema)) continue;
      setup.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(pattern.schema)}`);
      setup.push(`GRANT USAGE, CREATE ON SCHEMA ${quoteIdent(pattern.schema)} TO ${role}`);
    }
  }
  await client.query(setup.join(';\n'));

  for (const p of parsed) {
    await client.query('RESET ROLE');
    if (p.file.role) await client.query(`SET ROLE ${quoteIdent(p.file.role)}`);
    const service = manifest.services.find((s) => s.name === p.file.service);
    if (service) await client.query(`SET search_path TO ${migrationSearchPath(service)}`);
    const piecewise = p.statements.some((s) => statementFacts(s.node).outsideTransaction);
    if (!piecewise) {
      try {
        await client.query(p.text);
      } catch (error) {
        throw await locateFailure(client, manifest, p, error);
      }
    } else {
      for (const s of p.statements) {
        try {
          await client.query(s.sql);
        } catch (error) {
          throw applyError(manifest, p.file, p.display, p.text, s.start, error, s.offset);
        }
      }
    }
    await client.query('RESET ROLE; RESET ALL');
  }
  await giveToOwners(client, manifest);
  return { files: parsed.length };
}

/**
 * Hands owned schemas and their relations to the owning service's role, and in a shared
 * schema each table its owns: pattern matches (as apply does): base files run as the admin
 * would otherwise leave a service unable to change its own table in the shadow.
 */
async function giveToOwners(client: Queryable, manifest: Manifest): Promise<void> {
  await giveSharedTablesToOwners(client, manifest);
  const owners = manifest.services.flatMap((s) =>
    s.owns.map((schema) => ({ schema, role: s.role })),
  );
  if (owners.length === 0) return;
  const { rows } = await client.query<{
    schema: string;
    name: string | null;
    kind: string | null;
    role: string;
  }>(
    `SELECT o.schema, c.relname AS name, c.relkind::text AS kind, o.role
       FROM unnest($1::text[], $2::text[]) AS o(schema, role)
       JOIN pg_namespace n ON n.nspname = o.schema
       LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND pg_get_userbyid(c.relowner) <> o.role
        AND (c.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
      WHERE pg_get_userbyid(n.nspowner) <> o.role OR c.oid IS NOT NULL`,
    [owners.map((o) => o.schema), owners.map((o) => o.role)],
  );
  const sql: string[] = [];
  const schemasDone = new Set<string>();
  for (const r of rows) {
    if (!schemasDone.has(r.schema)) {
      schemasDone.add(r.schema);
      sql.push(`ALTER SCHEMA ${quoteIdent(r.schema)} OWNER TO ${quoteIdent(r.role)}`);
    }
    if (r.name !== null) {
      sql.push(
        `ALTER ${ownerKeyword(r.kind)} ${quoteIdent(r.schema)}.${quoteIdent(r.name)} OWNER TO ${quoteIdent(r.role)}`,
      );
    }
  }
  if (sql.length > 0) await client.query(sql.join(';\n'));
}

/** Relation kinds as ALTER … OWNER TO names them. */
function ownerKeyword(kind: string | null): string {
  return kind === 'v'
    ? 'VIEW'
    : kind === 'm'
      ? 'MATERIALIZED VIEW'
      : kind === 'S'
        ? 'SEQUENCE'
        : kind === 'f'
          ? 'FOREIGN TABLE'
          : 'TABLE';
}

/**
 * In shared schemas, gives each relation a table pattern matches to its service's role (its
 * linked sequences follow). Only sequences are skipped for their auto/internal dependencies:
 * a partition depends on its parent the same way, yet ALTER TABLE on the parent does not
 * change the partitions' owner, and DDL on a partitioned table needs every partition's.
 */
async function giveSharedTablesToOwners(client: Queryable, manifest: Manifest): Promise<void> {
  const schemas = sharedSchemas(manifest);
  if (schemas.length === 0) return;
  const { rows } = await client.query<{
    schema: string;
    name: string;
    kind: string;
    owner: string;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND (c.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))`,
    [schemas],
  );
  const ownerOf = ownerResolver(manifest);
  const sql: string[] = [];
  for (const r of rows) {
    const service = ownerOf(r.schema, r.name);
    if (!service || service.role === r.owner) continue;
    sql.push(
      `ALTER ${ownerKeyword(r.kind)} ${quoteIdent(r.schema)}.${quoteIdent(r.name)} OWNER TO ${quoteIdent(service.role)}`,
    );
  }
  if (sql.length > 0) await client.query(sql.join(';\n'));
}
