/**
 * Runs pgroll's own example migrations in order on a fresh database, `start` then `complete`
 * each, and prints which succeed and how long each took. The examples are not part of pgpact:
 * point the script at a folder holding them (a checkout of xataio/pgroll's `examples/`).
 *
 *   npx tsx bench/pgroll-examples.mts DIR
 */
import fs from 'node:fs';
import path from 'node:path';
import { completeMigration } from '../src/migrate/complete.js';
import { loadMigration } from '../src/migrate/parse.js';
import { rollbackMigration } from '../src/migrate/rollback.js';
import { startMigration } from '../src/migrate/start.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx bench/pgroll-examples.mts DIR');
  process.exit(2);
}
const files = fs
  .readdirSync(dir)
  .filter((f) => /^\d+_.*\.(ya?ml|json)$/.test(f))
  .sort();
const server = await startThrowawayServer({ prefix: 'pgpact' });
let ok = 0;
try {
  for (const file of files) {
    const t0 = performance.now();
    try {
      const migration = await loadMigration(path.join(dir, file));
      await startMigration(server.url, migration, { lockWaitMs: 2000 });
      await completeMigration(server.url, { force: true, quietForMs: 0 });
      ok++;
      console.log(`ok    ${file} ${(performance.now() - t0).toFixed(0)} ms`);
    } catch (error) {
      const e = error as { message: string; problems?: { message: string }[] };
      const why = [e.message, ...(e.problems ?? []).map((p) => p.message)].join(' | ');
      console.log(`FAIL  ${file} ${why.replace(/\s+/g, ' ').slice(0, 300)}`);
      await rollbackMigration(server.url).catch(() => undefined);
    }
  }
} finally {
  await server.destroy();
}
console.log(`${ok}/${files.length} succeeded`);
