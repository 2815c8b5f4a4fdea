#!/usr/bin/env node
// `prepare` builds pgpact after `npm install` / `npm ci` in a clone. `npm pack` and
// `npm publish` run it right after `prepack`, which has just built a clean dist/: no
// second build there. In an installed package (no sources, already built) it does nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const command = process.env.npm_command;
if (command === 'pack' || command === 'publish') process.exit(0);
if (!fs.existsSync(path.join(root, 'tsconfig.build.json'))) process.exit(0);
const npm = process.env.npm_execpath;
const result = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
