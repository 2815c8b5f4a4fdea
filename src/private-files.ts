/**
 * Files pgpact keeps under its state directory (.pgpact/ or PGPACT_HOME) hold passwords,
 * statement texts and logs: every folder it creates there is 0700 and every file 0600.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from './errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'its parent does not exist or takes no new folders',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
};

function unwritable(dir: string, error: NodeJS.ErrnoException): PgpactError {
  const why = REASONS[error.code ?? ''] ?? error.message;
  return new PgpactError(
    'STATE_DIR_UNWRITABLE',
    `cannot create or write the folder ${dir}: ${why}${error.code ? ` (${error.code})` : ''}`,
    {
      hint: process.env.PGPACT_HOME
        ? `PGPACT_HOME=${process.env.PGPACT_HOME}: point it at a folder you may write (e.g. PGPACT_HOME=$PWD/.pgpact) or unset it`
        : 'run pgpact in a folder you may write, or set PGPACT_HOME to one',
      cause: error,
    },
  );
}

/** Whether dir is pgpact's state folder (.pgpact/ or PGPACT_HOME) or inside one. */
function isStateFolder(dir: string): boolean {
  const home = process.env.PGPACT_HOME ? path.resolve(process.env.PGPACT_HOME) : undefined;
  if (home !== undefined && (dir === home || dir.startsWith(`${home}${path.sep}`))) return true;
  return dir.split(path.sep).includes('.pgpact');
}

/**
 * Creates dir (0700) and its missing parents one level at a time. Node's recursive mkdir
 * retries forever where mkdir keeps failing with ENOENT (e.g. under /proc): never use it here.
 * An existing state folder (.pgpact, PGPACT_HOME, or one inside them) is narrowed to 0700;
 * other existing folders (where --out points) are left as they are.
 */
export function ensurePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let at = target; ; at = path.dirname(at)) {
    if (fs.existsSync(at)) break;
    missing.unshift(at);
    if (at === path.dirname(at)) break;
  }
  for (const at of missing) {
    try {
      fs.mkdirSync(at, { mode: at === target ? 0o700 : 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw unwritable(target, error as NodeJS.ErrnoException);
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (error) {
    throw unwritable(target, error as NodeJS.ErrnoException);
  }
  if (!stat.isDirectory())
    throw unwritable(target, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
  const ownedByUs = typeof process.getuid !== 'function' || stat.uid === process.getuid();
  // As root, search permission (x, never r or w) stays: the `postgres` OS user that runs
  // PgBouncer or an older server kept inside the state folder passes through it.
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const wanted = asRoot ? 0o700 | (stat.mode & 0o011) : 0o700;
  if (ownedByUs && isStateFolder(target) && (stat.mode & 0o777) !== wanted)
    fs.chmodSync(target, wanted);
}

/** Writes a file readable by its owner only (0600), atomically: a reader never sees half of it. */
export function writePrivateFile(file: string, text: string): void {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, text, { mode: 0o600 });
    fs.chmodSync(temp, 0o600);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw unwritable(path.dirname(path.resolve(file)), error as NodeJS.ErrnoException);
  }
}

/** Opens a log file readable by its owner only (0600), e.g. for a child process's output. */
export function openPrivateFile(file: string, flags: 'w' | 'a'): number {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  try {
    const fd = fs.openSync(file, flags, 0o600);
    fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    throw unwritable(path.dirname(path.resolve(file)), error as NodeJS.ErrnoException);
  }
}
