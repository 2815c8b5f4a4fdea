import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgpactError } from '../errors.js';

/** One file of the bundled page, held in memory. */
export interface Asset {
  body: Buffer;
  contentType: string;
}

/** The files `npm run build` writes to dist/web and the URL paths they are served at. */
const FILES: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', contentType: 'text/css; charset=utf-8' },
};

/** Where the bundle is: dist/web next to the compiled server, or under the repository when run from sources. */
export function findWebBundle(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../web'), path.resolve(here, '../../dist/web')];
  return candidates.find(
    (dir) => fs.existsSync(path.join(dir, 'app.js')) && fs.existsSync(path.join(dir, 'index.html')),
  );
}

/** Loads the bundled page; fails with a hint when the bundle was never built. */
export function loadWebAssets(dir = findWebBundle()): Map<string, Asset> {
  if (dir === undefined) {
    throw new PgpactError('INTERNAL', 'the dashboard page is not built', {
      hint: 'run npm run build (it bundles web/ into dist/web)',
    });
  }
  const assets = new Map<string, Asset>();
  for (const [urlPath, { file, contentType }] of Object.entries(FILES)) {
    assets.set(urlPath, { body: fs.readFileSync(path.join(dir, file)), contentType });
  }
  // Chunks app.js imports on demand (the graph layout library), served at /chunks/<name>.
  const chunks = path.join(dir, 'chunks');
  if (fs.existsSync(chunks)) {
    for (const name of fs.readdirSync(chunks)) {
      if (!name.endsWith('.js')) continue;
      assets.set(`/chunks/${name}`, {
        body: fs.readFileSync(path.join(chunks, name)),
        contentType: 'text/javascript; charset=utf-8',
      });
    }
  }
  return assets;
}
