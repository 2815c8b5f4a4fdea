import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

let built: Promise<unknown> | undefined;

/** Bundles web/ into dist/web once per test process, so tests serve the page of the current sources. */
export function buildWebBundle(): Promise<unknown> {
  built ??= promisify(execFile)(process.execPath, [path.resolve('scripts/build-web.mjs')]);
  return built;
}
