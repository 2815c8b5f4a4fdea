import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { PgpactError } from '../src/errors.js';
import { ensurePrivateDir, openPrivateFile, writePrivateFile } from '../src/private-files.js';
import { tempDir } from './helpers/temp-dir.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
/** A state folder others could read, once narrowed: as root, search permission (x) stays for the `postgres` OS user. */
const NARROWED = process.getuid?.() === 0 ? 0o711 : 0o700;

it('a log under .pgpact/ that existed world-readable is 0600 once pgpact opens it, its folder no longer readable by others', () => {
  const home = path.join(tempDir('pgpact-private-'), '.pgpact');
  fs.mkdirSync(path.join(home, 'logs'), { recursive: true, mode: 0o755 });
  fs.chmodSync(home, 0o755);
  fs.chmodSync(path.join(home, 'logs'), 0o755);
  const log = path.join(home, 'logs', 'dashboard.log');
  fs.writeFileSync(log, 'old\n', { mode: 0o644 });
  fs.closeSync(openPrivateFile(log, 'a'));
  expect(mode(log)).toBe(0o600);
  expect(mode(path.join(home, 'logs'))).toBe(NARROWED);
  writePrivateFile(path.join(home, 'demo.json'), '{}\n');
  expect(mode(path.join(home, 'demo.json'))).toBe(0o600);
  expect(mode(home)).toBe(NARROWED);
});

it('new folders are 0700; a folder outside the state directory (where --out points) keeps its mode', () => {
  const dir = tempDir('pgpact-private-');
  fs.chmodSync(dir, 0o755);
  writePrivateFile(path.join(dir, 'usage.json'), '{}\n');
  expect(mode(dir)).toBe(0o755);
  expect(mode(path.join(dir, 'usage.json'))).toBe(0o600);
  ensurePrivateDir(path.join(dir, 'a', 'b'));
  expect(mode(path.join(dir, 'a', 'b'))).toBe(0o700);
  const fresh = path.join(dir, 'fresh', '.pgpact');
  writePrivateFile(path.join(fresh, 'usage.json'), '{}\n');
  expect(mode(fresh)).toBe(0o700);
});

it('a folder that cannot be made fails at once with STATE_DIR_UNWRITABLE, naming it', () => {
  const started = Date.now();
  let error: unknown;
  try {
    ensurePrivateDir('/proc/pgpact-nope/.pgpact');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PgpactError);
  expect((error as PgpactError).code).toBe('STATE_DIR_UNWRITABLE');
  expect((error as PgpactError).message).toContain('/proc/pgpact-nope/.pgpact');
  expect(Date.now() - started).toBeLessThan(5000);
});
