/**
 * pgpact init on a 1,000-table database (every table in public, owned by the admin, 10
 * service roles writing 100 tables each, one statement per table in pg_stat_statements), next
 * to the raw catalog read of the same tables. Goal: under 5 s.
 *
 *   npx tsx bench/init.mts [tables=1000]
 */
import { initManifest } from '../src/init/init-manifest.js';
import { readCatalog } from '../src/postgres/catalog.js';
import { urlWith, withClient } from '../src/postgres/client.js';
import { startThrowawayServer } from '../src/postgres/local-server.js';

const tables = Number(process.argv[2] ?? 1000);
const ROLES = Array.from({ length: 10 }, (_, i) => `svc_${i}`);
const FAMILIES = [
  'batch',
  'changeset',
  'user',
  'repo',
  'search',
  'code',
  'event',
  'org',
  'team',
  'job',
];
const ms = (start: number) => performance.now() - start;

const server = await startThrowawayServer({ prefix: 'pgpact' });
try {
  await withClient(server.url, async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const ddl: string[] = [];
    for (let i = 0; i < tables; i++)
      ddl.push(
        `CREATE TABLE public.${FAMILIES[i % FAMILIES.length]}_${i} (id serial PRIMARY KEY, name text, n int);`,
      );
    await c.query(ddl.join('\n'));
    for (const role of ROLES) {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    }
    await c.query('SELECT pg_stat_statements_reset()');
  });
  // Family f's tables are written by svc_f: one distinct statement per table.
  for (const [r, role] of ROLES.entries()) {
    await withClient(urlWith(server.url, { user: role, password: 'pw' }), async (c) => {
      for (let i = r; i < tables; i += ROLES.length)
        await c.query(
          `INSERT INTO public.${FAMILIES[i % FAMILIES.length]}_${i} (name, n) VALUES ($1, $2)`,
          ['x', i],
        );
      await c.query(
        `SELECT id, name FROM public.${FAMILIES[(r + 1) % FAMILIES.length]}_${(r + 1) % tables}`,
      );
    });
  }
  await withClient(server.url, async (c) => {
    let t = performance.now();
    const raw = await c.query(
      `SELECT c.oid, n.nspname, c.relname, c.relkind, c.relowner::regrole::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    const rawMs = ms(t);
    t = performance.now();
    await readCatalog(c);
    const catalogMs = ms(t);
    t = performance.now();
    const result = await initManifest(c);
    const initMs = ms(t);
    const patterns = [...result.owns.values()].reduce((n, l) => n + l.length, 0);
    console.log(
      `pgpact init, ${tables} tables, ${ROLES.length} services, ${result.text.length} bytes, ${patterns} owns entries`,
    );
    console.log(`  init:             ${initMs.toFixed(0)} ms (goal < 5000 ms)`);
    console.log(`  raw pg_class read: ${rawMs.toFixed(1)} ms (${raw.rowCount} relations)`);
    console.log(`  readCatalog alone: ${catalogMs.toFixed(0)} ms (part of init)`);
    console.log(`  ratio init / raw: ${(initMs / rawMs).toFixed(1)}`);
  });
} finally {
  await server.destroy();
}
