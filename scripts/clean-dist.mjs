#!/usr/bin/env node
// Removes dist/ before a package is built, so nothing stale (a deleted module, an old chunk) is packed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
