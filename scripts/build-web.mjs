#!/usr/bin/env node
// Bundles the dashboard page (web/) into dist/web with esbuild: app.js, the chunks it loads on
// demand (chunks/: the graph layout library, loaded when a graph is first drawn), one stylesheet, no CDN.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'web');
fs.mkdirSync(outdir, { recursive: true });

const page = await build({
  entryPoints: { app: path.join(root, 'web', 'src', 'main.ts') },
  absWorkingDir: root,
  metafile: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  outdir,
  logLevel: 'warning',
});
// Chunk names carry a content hash: drop chunks of earlier builds (not this one's, which a
// concurrent build of the same sources writes under the same names).
const written = new Set(Object.keys(page.metafile.outputs).map((f) => path.resolve(root, f)));
const chunkDir = path.join(outdir, 'chunks');
for (const name of fs.existsSync(chunkDir) ? fs.readdirSync(chunkDir) : []) {
  if (!written.has(path.join(chunkDir, name)))
    fs.rmSync(path.join(chunkDir, name), { force: true });
}
await build({
  entryPoints: { app: path.join(root, 'web', 'styles.css') },
  bundle: true,
  minify: true,
  outdir,
  logLevel: 'warning',
});
fs.copyFileSync(path.join(root, 'web', 'index.html'), path.join(outdir, 'index.html'));
const size = (f) => `${(fs.statSync(path.join(outdir, f)).size / 1024).toFixed(0)} KiB`;
const chunks = fs.readdirSync(path.join(outdir, 'chunks')).filter((f) => f.endsWith('.js'));
console.log(
  `dashboard page bundled into ${path.relative(root, outdir)}: app.js ${size('app.js')}, app.css ${size('app.css')}; on demand: ${chunks.map((c) => `${c} ${size(`chunks/${c}`)}`).join(', ')}`,
);
