/**
 * Which files of a migrations folder run forward, and which part of each. Teams adopt pgpact
 * with the folder their migration tool already writes, and most of those tools keep a
 * rollback beside every migration: run in name order, it would undo the migration (or, run
 * first, fail on objects that do not exist yet). So:
 *  - one file per migration (Flyway `V1__x.sql`, its repeatable `R__x.sql` after them, Atlas,
 *    Drizzle, refinery, plain numbered files) runs, except rollback files: `*.down.sql`, `*_down.sql`, `*-down.sql`
 *    (golang-migrate, sqlx, many hand-made folders), `*.rollback.sql` (yoyo), `*.undo.sql`,
 *    `*.revert.sql` and Flyway's `U1__x.sql` undo files;
 *  - one folder per migration runs its `up.sql` (Diesel) or `migration.sql` (Prisma), in
 *    natural order of the folder names; `down.sql` never runs;
 *  - up and down in one file: only the up sections run (goose `-- +goose Up`, dbmate
 *    `-- migrate:up`, node-pg-migrate `-- Up Migration`). The other lines are blanked, not
 *    cut, so a statement keeps its line and column in every message;
 *  - a Sqitch project (the folder holding `sqitch.plan`, or its `deploy/` folder): the deploy
 *    script of each change, in the plan's order, which is not the names' order; `revert/` and
 *    `verify/` never run. A change reworked after a tag runs twice, as in Sqitch: first its
 *    script as it was at the tag (`deploy/name@tag.sql`), then the current one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { escapeUnsafe } from '../manifest/names.js';

/** A migration that runs forward: its name inside the folder (`/`-separated) and its file. */
export interface ForwardMigration {
  name: string;
  path: string;
}

const naturalOrder = new Intl.Collator('en', { numeric: true });

/** Natural order (002 before 010), ties broken by code points so the order is total. */
export function compareMigrationNames(a: string, b: string): number {
  return naturalOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

const ROLLBACK_FILES: { pattern: RegExp; layout: string }[] = [
  { pattern: /[._-]down\.sql$/i, layout: 'a down migration (golang-migrate, sqlx)' },
  { pattern: /^down\.sql$/i, layout: 'a down migration (Diesel)' },
  { pattern: /[._-]rollback\.sql$/i, layout: 'a rollback (yoyo)' },
  { pattern: /[._-](undo|revert)\.sql$/i, layout: 'an undo migration' },
  { pattern: /^U\d+(?:[._]\d+)*__.*\.sql$/, layout: 'an undo migration (Flyway)' },
];

/** Why a file name is a rollback that never runs forward, or undefined when it is not one. */
export function rollbackFile(name: string): string | undefined {
  const base = path.basename(name);
  return ROLLBACK_FILES.find((r) => r.pattern.test(base))?.layout;
}

/** The file a one-folder-per-migration layout runs forward. */
const FOLDER_MIGRATION_FILES = ['up.sql', 'migration.sql'];

/**
 * The migrations of a folder that run forward, in order: its `.sql` files that are no
 * rollbacks, and its subfolders holding an `up.sql` or `migration.sql`. Throws what
 * readdirSync throws.
 */
export function forwardMigrations(dir: string): ForwardMigration[] {
  const sqitch = sqitchProject(dir);
  if (sqitch) return sqitchMigrations(sqitch);
  const found: ForwardMigration[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile()) {
      if (entry.name.toLowerCase().endsWith('.sql') && rollbackFile(entry.name) === undefined)
        found.push({ name: entry.name, path: full });
    } else if (entry.isDirectory()) {
      const inside = FOLDER_MIGRATION_FILES.find((f) => isFile(path.join(full, f)));
      if (inside) found.push({ name: `${entry.name}/${inside}`, path: path.join(full, inside) });
    }
  }
  // Flyway runs its repeatable R__ files after every versioned one.
  const flyway = found.some((m) => FLYWAY_VERSIONED.test(m.name));
  const rank = (m: ForwardMigration) => (flyway && FLYWAY_REPEATABLE.test(m.name) ? 1 : 0);
  return found.sort((a, b) => rank(a) - rank(b) || compareMigrationNames(a.name, b.name));
}

/** The Sqitch project a folder is (it holds sqitch.plan) or is the deploy folder of. */
function sqitchProject(dir: string): string | undefined {
  if (isFile(path.join(dir, SQITCH_PLAN))) return dir;
  const parent = path.dirname(path.resolve(dir));
  return path.basename(path.resolve(dir)) === 'deploy' && isFile(path.join(parent, SQITCH_PLAN))
    ? parent
    : undefined;
}

const SQITCH_PLAN = 'sqitch.plan';

/** A sqitch.plan line pgpact cannot follow: MIGRATION_INVALID naming the plan's line. */
function planError(planFile: string, line: number, message: string, hint: string): PgpactError {
  return new PgpactError('MIGRATION_INVALID', `${escapeUnsafe(planFile)}:${line}: ${message}`, {
    problems: [{ code: 'SQITCH_PLAN', message, file: escapeUnsafe(planFile), line, column: 1 }],
    hint,
  });
}

/**
 * The deploy scripts of a Sqitch project in plan order. Plan lines: `%pragma`, `@tag …`,
 * `name [deps] timestamp planner <email> # note` (a leading `+` deploys; a `-` line, an old
 * revert entry, is not supported), comments and blank lines. Throws MIGRATION_INVALID when a
 * planned change has no deploy script.
 */
function sqitchMigrations(project: string): ForwardMigration[] {
  const planFile = path.join(project, SQITCH_PLAN);
  const lines = fs.readFileSync(planFile, 'utf8').split(/\r?\n/);
  const changes: { name: string; line: number; tag?: string }[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('%')) return;
    if (line.startsWith('@')) {
      // A tag names the changes above it that no earlier tag named: a reworked change's
      // earlier script is kept as name@tag.sql for the first tag after it.
      const tag = /^@(\S+)/.exec(line)![1]!;
      for (const c of changes) c.tag ??= tag;
      return;
    }
    if (line.startsWith('-'))
      throw planError(
        planFile,
        i + 1,
        `a revert entry (${line.split(/\s/)[0]}) in the plan is not supported`,
        'remove the reverted change and its revert entry from the plan (sqitch rework or a new change says the same)',
      );
    const name = line.replace(/^\+/, '').split(/\s/)[0]!;
    changes.push({ name, line: i + 1 });
  });
  return changes.map((c, i) => {
    const reworkedLater = changes.slice(i + 1).some((d) => d.name === c.name);
    const file = reworkedLater && c.tag ? `${c.name}@${c.tag}.sql` : `${c.name}.sql`;
    const full = path.join(project, 'deploy', file);
    if (!isFile(full))
      throw planError(
        planFile,
        c.line,
        `change ${c.name} has no deploy script deploy/${file}`,
        'add the script (sqitch add writes it), or remove the change from the plan',
      );
    return { name: `deploy/${file}`, path: full };
  });
}

const FLYWAY_VERSIONED = /^V\d+(?:[._]\d+)*__/;
const FLYWAY_REPEATABLE = /^R__/;

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A line opening an up or a down section in the tools that keep both in one file. */
const SECTION_MARKER =
  /^[ \t]*--[ \t]*(?:\+goose[ \t]+(up|down)\b|migrate:(up|down)\b|(up|down)[ \t]+migration[ \t]*\r?\n?$)/i;

/**
 * The part of a migration's text that runs forward: the whole text, or, in a file with up and
 * down sections, the up sections with every other character but line breaks made a space
 * (lines and columns stay where they were). Text before the first marker does not run either,
 * as in those tools. A file without an up marker is no such file: all of it runs.
 */
export function forwardText(text: string): string {
  const lines = text.split(/(?<=\n)/);
  // Sectioned only with an up marker: a plain file whose comment reads "-- down migration" stays whole.
  if (!lines.some((l) => sectionOf(l) === 'up')) return text;
  let up = false;
  return lines
    .map((line) => {
      const section = sectionOf(line);
      if (section) {
        up = section === 'up';
        return blank(line);
      }
      return up ? line : blank(line);
    })
    .join('');
}

/** The section a marker line opens, if it is one. */
function sectionOf(line: string): 'up' | 'down' | undefined {
  const m = SECTION_MARKER.exec(line);
  return m ? ((m[1] ?? m[2] ?? m[3])!.toLowerCase() as 'up' | 'down') : undefined;
}

function blank(line: string): string {
  return line.replace(/[^\r\n]/g, ' ');
}
