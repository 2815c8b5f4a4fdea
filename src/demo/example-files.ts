import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgpactError } from '../errors.js';

/** Where the example system lives and how to start its programs, from source or from dist/. */

const here = fileURLToPath(import.meta.url);
/** Whether pgpact runs from its TypeScript sources (tests, tsx) rather than from dist/. */
const fromSources = here.endsWith('.ts');

/** The folder holding pgpact's package.json. */
export function packageRoot(): string {
  let dir = path.dirname(here);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'pgpact') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new PgpactError('DEMO_FAILED', 'cannot find the pgpact package folder', {
        hint: 'run the demo from an installed pgpact (npm install) or its source tree',
      });
    }
    dir = parent;
  }
}

/** examples/shared-database: pgpact.yaml, migrations and the services' sources. */
export function exampleDir(): string {
  return path.join(packageRoot(), 'examples', 'shared-database');
}

/** The manifest of the example system. */
export function exampleManifestFile(): string {
  return path.join(exampleDir(), 'pgpact.yaml');
}

/** The examples the demo runs: the article's system, and the one-schema monolith of `demo --monolith`. */
export type ExampleName = 'shared-database' | 'monolith';

/** A program of an example (e.g. `users/main`): the command and arguments that run it with Node. */
export function exampleProgram(
  entry: string,
  example: ExampleName = 'shared-database',
): { command: string; args: string[]; file: string } {
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(entry) || entry.includes('..')) {
    throw new PgpactError('USAGE', `not an example entry point: ${JSON.stringify(entry)}`);
  }
  const root = packageRoot();
  if (fromSources) {
    const file = path.join(root, 'examples', example, `${entry}.ts`);
    assertExists(file, 'the example sources are incomplete');
    return { command: process.execPath, args: ['--import', 'tsx', file], file };
  }
  const file = path.join(root, 'dist', 'examples', example, `${entry}.js`);
  assertExists(file, 'pgpact is not built');
  return { command: process.execPath, args: [file], file };
}

function assertExists(file: string, why: string): void {
  if (!fs.existsSync(file)) {
    throw new PgpactError('DEMO_FAILED', `${why}: ${file} is missing`, {
      hint: 'run npm install (it builds pgpact), or npm run build',
    });
  }
}
