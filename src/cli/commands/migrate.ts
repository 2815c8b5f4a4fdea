import fs from 'node:fs';
import { PgpactError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import type { Manifest } from '../../manifest/types.js';
import { parseDuration } from '../../manifest/units.js';
import { completeMigration, MigrationBlockedError } from '../../migrate/complete.js';
import { backfillLine, formatStatus, progressBar, useLines } from '../../migrate/format.js';
import { folderProgress, nextInFolder } from '../../migrate/folder.js';
import { loadMigration } from '../../migrate/parse.js';
import { rollbackMigration } from '../../migrate/rollback.js';
import { startMigration } from '../../migrate/start.js';
import { migrationStatus } from '../../migrate/status.js';
import { pauseBackfill, resumeBackfill, type ThrottleOptions } from '../../migrate/throttle.js';
import type { RunOptions, TableBackfill } from '../../migrate/types.js';
import { resolveDatabaseUrl } from '../../postgres/embedded.js';
import { type Command, EXIT, type Output } from '../command.js';
import { formatError } from '../report-error.js';
import { manifestReplicas, type ReplicaAddress } from '../../replica/open-replicas.js';

type Values = Record<string, string | boolean | string[] | undefined>;

function duration(values: Values, key: string): number | undefined {
  const text = values[key] as string | undefined;
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok)
    throw new PgpactError('USAGE', `--${key}: ${parsed.message}`, { hint: parsed.hint });
  return parsed.value;
}

function runOptions(values: Values, output: Output, signal: AbortSignal): RunOptions {
  const batchText = values['batch-size'] as string | undefined;
  const batchSize = batchText === undefined ? undefined : Number(batchText);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw new PgpactError(
      'USAGE',
      `--batch-size must be a positive whole number, not ${batchText}`,
    );
  }
  const lockTimeoutMs = duration(values, 'lock-timeout');
  if (lockTimeoutMs === 0)
    throw new PgpactError(
      'USAGE',
      '--lock-timeout 0 would let DDL wait forever behind long transactions',
    );
  const batchTimeMs = duration(values, 'batch-time');
  if (batchTimeMs !== undefined && batchTimeMs < 1)
    throw new PgpactError('USAGE', '--batch-time must be at least 1ms');
  const throttle = throttleOptions(values);
  const json = values.json === true;
  let lastDraw = 0;
  let drawn = '';
  const onProgress = (p: TableBackfill) => {
    const now = Date.now();
    const bar = progressBar(p);
    if (output.isTTY) {
      if (now - lastDraw > 100 || p.done) output.err(`\r${bar}\x1b[K${p.done ? '\n' : ''}`);
      else return;
    } else if (now - lastDraw > 2000 || p.done || (p.pace?.throttledBy && bar !== drawn)) {
      output.err(`${bar}\n`);
    } else return;
    drawn = bar;
    lastDraw = now;
  };
  const onThrottle = (message: string) =>
    output.err(`${output.isTTY && drawn ? '\n' : ''}${message}\n`);
  return {
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    ...(batchTimeMs === undefined ? {} : { batchTimeMs }),
    ...(throttle ? { throttle } : {}),
    onProgress,
    onThrottle,
    ...(json ? {} : { onStep: (message: string) => output.err(`${message}\n`) }),
    signal,
  };
}

function throttleOptions(values: Values): ThrottleOptions | undefined {
  const maxReplicaLagMs = duration(values, 'max-replica-lag');
  const activeText = values['max-active'] as string | undefined;
  const maxActive = activeText === undefined ? undefined : Number(activeText);
  if (maxActive !== undefined && (!Number.isInteger(maxActive) || maxActive < 0))
    throw new PgpactError('USAGE', `--max-active must be a whole number, not ${activeText}`);
  const throttleQuery = values['throttle-query'] as string | undefined;
  if (maxReplicaLagMs === undefined && maxActive === undefined && throttleQuery === undefined)
    return undefined;
  const replicas = maxReplicaLagMs === undefined ? [] : (manifestOrNone(values).replicas ?? []);
  return {
    ...(maxReplicaLagMs === undefined ? {} : { maxReplicaLagMs }),
    ...(maxActive === undefined ? {} : { maxActive }),
    ...(throttleQuery === undefined ? {} : { throttleQuery }),
    ...(replicas.length > 0 ? { replicas } : {}),
  };
}

/** The manifest: --config, else ./pgpact.yaml when it exists (declared consumers need it). */
function manifestFor(values: Values): Manifest | undefined {
  const explicit = values.config as string | undefined;
  if (explicit !== undefined) return loadManifest(explicit);
  return fs.existsSync('pgpact.yaml') ? loadManifest('pgpact.yaml') : undefined;
}

const USAGE = `pgpact migrate start|status|complete|rollback|throttle|resume [FILE] [--config FILE]
                     [--database-url URL] [--batch-size N | --batch-time 20ms] [--lock-timeout 2s]
                     [--max-replica-lag D] [--max-active N] [--throttle-query SQL] [--reason TEXT]
                     [--quiet-for 15min] [--force] [--json] [--replica URL]...

  Expand/contract migrations that know who still reads the old shape.

  start FILE   expand: add the new columns, keep old and new in sync with triggers both
               ways, backfill in batches (progress on stderr), validate constraints, build
               indexes CONCURRENTLY. Every DDL runs under lock_timeout with retries; one
               migration at a time (advisory lock); progress is kept in schema pgpact, so a
               killed start resumes when run again.
  start DIR    the same for the next migration of a folder (its .ledger order, else file
               names sorted): the one in progress, else the first not completed.
  status [DIR] phase, backfill progress, and every consumer still using the old shape:
               declared (manifest contracts naming an old column, or "*") and observed
               (pg_stat_statements entries that ran since start and touch an old column;
               pgpact's own roles, such as the admin it runs as, are no consumers unless a
               service of the manifest logs in as one)
  complete     contract: drop the old columns, triggers and bookkeeping. Refused (exit 1,
               MIGRATION_BLOCKED) while a consumer uses the old shape, naming the change each
               needs, and (MIGRATION_UNVERIFIED) while pg_stat_statements cannot be read, so
               observed consumers cannot be checked; --force drops anyway and lists what will
               break. Resumable.
  rollback     undo the expand at any point before complete began. Refused (exit 1,
               MIGRATION_BLOCKED) before any DROP while something outside the migration
               depends on what it drops (a view on a new column, a foreign key onto a
               created table), naming it. Resumable; status names the command that finishes
               an interrupted one.
  throttle     pause the backfill of the running start (or of the next one) from any shell
               or machine reaching the database, until resume (a row in pgpact.backfill_pause:
               it outlives a killed start); --reason TEXT is shown wherever the pause is
  resume       let a paused backfill go on

  --batch-size N        fixed rows per backfill transaction (default: adaptive, see --batch-time)
  --batch-time D        adaptive batches aim at this duration (default 20ms); a batch that
                        makes writers of the table wait on its locks halves the size, and so
                        do the writers' statements taking over 1.5x their time before the
                        backfill (pg_stat_statements), then with pauses, until they recover
                        (writers as slow during a pause: not the backfill's doing, no pause)
  --max-replica-lag D   wait before a batch while a replica lags more than D (the --replica
                        and manifest replicas; else the standbys in pg_stat_replication)
  --max-active N        wait while more than N sessions of the database are active
  --throttle-query SQL  wait while SQL returns true (read-only transaction, 2s statement_timeout)
  --lock-timeout D      lock_timeout of every DDL and batch (default 2s)
  --quiet-for D         an observed statement stops blocking once its call count has not
                        changed for D between two runs of status/complete (default 15min);
                        complete also watches sessions using a move_table's old name (a
                        lock on its view, their last statement) for D, at most 10s
  --force               complete even though consumers still use the old shape, or cannot
                        be observed (never past a view or other object a DROP would fail on)
  --replica URL         a streaming replica whose readers count too (repeatable; also the
                        manifest's replicas): a statement there that reads the old shape
                        blocks until its count stays unchanged for --quiet-for
  --json                machine-readable result on stdout

  Migration files (YAML or JSON): { name?, schema? (default public), operations: [...] }
  operations: create_table, drop_table, add_column, drop_column, rename_column,
    split_column {table, from, to: [{name, type, up}], down}, merge_columns {table,
    from: [..], to: {name, type, up}, down: {old: expr}}, change_type {table, column, type,
    up, down, rename?}, set_not_null {table, column, up?}, add_index {table, name, columns,
    unique?, method?, where?}, add_constraint {table, name, type: check|foreign_key|unique,
    check?, columns, references?}, rename_table {from, to} (a view under the new name
    until complete renames the table), move_table {table, schema} (a view keeps the old
    name until complete), sql {up, down?, on_complete?} (no guarantees).
  pgroll files are read too: add_column, drop_column, create_table, drop_table, sql,
    rename_column, rename_table, create_index, create_constraint, drop_index,
    drop_constraint, drop_multicolumn_constraint, rename_constraint, set_replica_identity
    and alter_column (any of name, type, nullable, default, comment, unique, check,
    references). See src/migrate/FORMAT.md.

  exit codes: 0 done, 1 complete refused (consumers use the old shape, or no evidence), 2 invalid input`;

/** `pgpact migrate`: expand/contract migrations gated on the consumers of the old shape. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary:
    'expand/contract migrations: start, status, complete (refused while consumers read the old shape), rollback',
  usage: USAGE,
  options: {
    'batch-size': { type: 'string' },
    'batch-time': { type: 'string' },
    'max-replica-lag': { type: 'string' },
    'max-active': { type: 'string' },
    'throttle-query': { type: 'string' },
    reason: { type: 'string' },
    'lock-timeout': { type: 'string' },
    'quiet-for': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    replica: { type: 'string', multiple: true },
  },
  positionals: true,
  async run({ values, positionals }, output, signal) {
    const [action, file, ...extra] = positionals;
    const json = values.json === true;
    const print = (data: unknown, text: string) =>
      output.out(json ? `${JSON.stringify(data, null, 2)}\n` : text);
    if (
      extra.length > 0 ||
      action === undefined ||
      !['start', 'status', 'complete', 'rollback', 'throttle', 'resume'].includes(action) ||
      (file !== undefined && (action === 'throttle' || action === 'resume'))
    ) {
      output.err(
        `pgpact migrate: expected start FILE, status, complete or rollback (or throttle, resume)\n\nusage: ${USAGE}\n`,
      );
      return EXIT.invalid;
    }
    if (action === 'start' && file === undefined) {
      output.err('pgpact migrate start: give the migration FILE\n');
      return EXIT.invalid;
    }
    const options = runOptions(values, output, signal);
    const quietForMs = duration(values, 'quiet-for');
    const folder =
      file !== undefined && fs.statSync(file, { throwIfNoEntry: false })?.isDirectory();
    const migration = file === undefined || folder ? undefined : await loadMigration(file);
    const url = await resolveDatabaseUrl({
      databaseUrl: values['database-url'] as string | undefined,
      // Only start may need a new embedded Postgres; the others act on a migration already there.
      embedded: action === 'start' ? 'create' : 'running',
    });
    switch (action) {
      case 'throttle': {
        const result = await pauseBackfill(url, values.reason as string | undefined);
        print(
          { paused: true, ...result },
          `${result.already ? 'the backfill was already paused' : 'backfill paused'}: it waits before its next batch until pgpact migrate resume\n`,
        );
        return EXIT.ok;
      }
      case 'resume': {
        const result = await resumeBackfill(url);
        print(
          { paused: false, ...result },
          result.wasPaused ? 'backfill resumed\n' : 'the backfill was not paused\n',
        );
        return EXIT.ok;
      }
      case 'start': {
        const next = migration ?? (await loadMigration(await nextInFolder(url, file!)));
        const result = await startMigration(url, next, options);
        for (const warning of result.warnings) output.err(`warning: ${warning}\n`);
        const lines =
          result.outcome === 'already-completed'
            ? [`${result.name} was completed before: nothing to do`]
            : [
                result.outcome === 'already-active'
                  ? `${result.name} is already started (phase active): nothing to do`
                  : `${result.name} started${result.resumed ? ' (resumed)' : ''}: old and new shape both live, kept in sync`,
                ...result.backfill.map((b) => `  backfill ${backfillLine(b)}`),
                ...result.notes.map((n) => `note: ${n}`),
                'next: move the consumers to the new shape, then pgpact migrate status / complete',
              ];
        print(result, `${lines.join('\n')}\n`);
        return EXIT.ok;
      }
      case 'status': {
        const status = await migrationStatus(url, {
          ...manifestOrNone(values),
          ...(quietForMs === undefined ? {} : { quietForMs }),
        });
        const entries = folder ? await folderProgress(url, file!) : undefined;
        const listed = entries
          ? entries.map((e) => `${e.state.padEnd(11)}  ${e.name}\n`).join('')
          : '';
        if (!status) {
          print(
            { inProgress: false, ...(entries ? { folder: entries } : {}) },
            `${listed}no migration in progress\n`,
          );
          return EXIT.ok;
        }
        print(
          entries ? { ...status, folder: entries } : status,
          `${listed}${formatStatus(status)}`,
        );
        return EXIT.ok;
      }
      case 'complete': {
        try {
          const result = await completeMigration(url, {
            ...options,
            ...manifestOrNone(values),
            force: values.force === true,
            ...(quietForMs === undefined ? {} : { quietForMs }),
            ...(migration ? { name: migration.name } : {}),
          });
          const lines =
            result.outcome === 'already-completed'
              ? [`nothing in progress: ${result.name} was completed at ${result.finishedAt}`]
              : [
                  `${result.name} completed${result.resumed ? ' (resumed)' : ''}: the old shape, sync triggers and bookkeeping are gone`,
                ];
          if (result.unverified !== undefined)
            lines.push(`forced past unchecked observed consumers: ${result.unverified}`);
          if (result.forcedPast.length > 0)
            lines.push(
              'forced past consumers that will now break:',
              ...result.forcedPast.flatMap((u) => useLines(u)),
            );
          print(result, `${lines.join('\n')}\n`);
          return EXIT.ok;
        } catch (error) {
          // Refused for want of evidence: the command worked and found a problem.
          if (error instanceof PgpactError && error.code === 'MIGRATION_UNVERIFIED') {
            output.err(formatError(error));
            return EXIT.problem;
          }
          if (!(error instanceof MigrationBlockedError)) throw error;
          if (json)
            output.out(
              `${JSON.stringify({ blocked: true, migration: error.migration, uses: error.uses }, null, 2)}\n`,
            );
          output.err(
            `error [MIGRATION_BLOCKED]: ${error.message}\n${error.uses.flatMap((u) => useLines(u)).join('\n')}\n  hint: ${error.hint}\n`,
          );
          return EXIT.problem;
        }
      }
      default: {
        let result: Awaited<ReturnType<typeof rollbackMigration>>;
        try {
          result = await rollbackMigration(url, {
            ...options,
            ...(migration ? { name: migration.name } : {}),
          });
        } catch (error) {
          // Refused before a DROP that would fail: the command worked and found a problem.
          if (error instanceof PgpactError && error.code === 'MIGRATION_BLOCKED') {
            output.err(formatError(error));
            return EXIT.problem;
          }
          throw error;
        }
        print(
          result,
          result.outcome === 'already-rolled-back'
            ? `nothing in progress: ${result.name} was rolled back before\n`
            : `${result.name} rolled back${result.resumed ? ' (resumed)' : ` from phase ${result.from}`}: the new shape is gone\n`,
        );
        return EXIT.ok;
      }
    }
  },
};

function manifestOrNone(values: Values): { manifest?: Manifest; replicas?: ReplicaAddress[] } {
  const manifest = manifestFor(values);
  const given = Array.isArray(values.replica) ? values.replica.map((url) => ({ url })) : [];
  const replicas = [...given, ...manifestReplicas(manifest)];
  return { ...(manifest ? { manifest } : {}), ...(replicas.length > 0 ? { replicas } : {}) };
}
