import fs from 'node:fs/promises';
import path from 'node:path';
import { PgpactError } from '../errors.js';
import { withClient } from '../postgres/client.js';
import { readActive } from './bookkeeping.js';
import { loadMigration } from './parse.js';
import { MARKER } from './sql-run.js';

/**
 * A pgroll-style folder of migrations run one at a time, in order: the order of its `.ledger`
 * when it has one (pgroll's), else the file names sorted.
 */

/** Where one file of the folder stands in the database. */
export interface FolderEntry {
  file: string;
  name: string;
  state: 'completed' | 'in progress' | 'pending';
}

/** The migration files of a folder, in the order they run. */
export async function folderFiles(dir: string): Promise<string[]> {
  const names = (await fs.readdir(dir)).filter((f) => /\.(ya?ml|json)$/i.test(f));
  const ledger = await fs.readFile(path.join(dir, '.ledger'), 'utf8').catch(() => undefined);
  const order =
    ledger === undefined
      ? names.sort()
      : ledger
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && names.includes(l));
  return order.map((f) => path.join(dir, f));
}

/** Each file of the folder with its state: completed (in the history), in progress, or pending. */
export async function folderProgress(url: string, dir: string): Promise<FolderEntry[]> {
  const files = await folderFiles(dir);
  const migrations = await Promise.all(files.map((f) => loadMigration(f)));
  return withClient(url, async (client) => {
    const active = await readActive(client);
    const exists = await client.query<{ ok: boolean }>(
      `${MARKER} SELECT to_regclass('pgpact.migration_history') IS NOT NULL AS ok`,
    );
    const completed = new Set<string>();
    if (exists.rows[0]?.ok) {
      const { rows } = await client.query<{ name: string }>(
        `${MARKER} SELECT DISTINCT name FROM pgpact.migration_history WHERE outcome = 'completed'`,
      );
      for (const r of rows) completed.add(r.name);
    }
    return migrations.map((m, k) => ({
      file: files[k]!,
      name: m.name,
      state: completed.has(m.name)
        ? 'completed'
        : active?.name === m.name
          ? 'in progress'
          : 'pending',
    }));
  });
}

/** The file `start DIR` runs: the one in progress (to resume it), else the first pending one. */
export async function nextInFolder(url: string, dir: string): Promise<string> {
  const entries = await folderProgress(url, dir);
  const next =
    entries.find((e) => e.state === 'in progress') ?? entries.find((e) => e.state === 'pending');
  if (!next)
    throw new PgpactError('MIGRATION_NOT_FOUND', `every migration of ${dir} is completed`, {
      hint: 'add the next migration file to the folder',
    });
  return next.file;
}
