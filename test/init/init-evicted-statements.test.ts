import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initManifest } from '../../src/init/init-manifest.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { SERVER_LABELS, startTestServer, type TestServer } from '../helpers/postgres.js';

/**
 * A big schema and a small pg_stat_statements: the least-used statements are dropped to make
 * room, so some tables' only writer is forgotten. init must say its writers may be missing.
 */
for (const label of SERVER_LABELS) {
  describe(`pgpact init when pg_stat_statements dropped entries [${label}]`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(label, { 'pg_stat_statements.max': '100' });
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('warns in the file and in the result that writers may be missing', async () => {
      const url = await server.createDatabase('init_evicted');
      await withClient(url, async (c) => {
        await c.query("CREATE ROLE ev_writer LOGIN PASSWORD 'pw-ev'");
        for (let i = 0; i < 160; i++) {
          await c.query(`CREATE TABLE public.item_${i} (id serial PRIMARY KEY, n int)`);
          await c.query(`GRANT INSERT ON public.item_${i} TO ev_writer`);
          await c.query(`GRANT USAGE ON SEQUENCE public.item_${i}_id_seq TO ev_writer`);
        }
      });
      await withClient(urlWith(url, { user: 'ev_writer', password: 'pw-ev' }), async (c) => {
        for (let i = 0; i < 160; i++) await c.query(`INSERT INTO public.item_${i} (n) VALUES (1)`);
      });
      const result = await withClient(url, (c) => initManifest(c));
      expect(result.incompleteUse).toMatch(
        /^pg_stat_statements dropped its least-used statements \d+ times? since its last reset to make room \(pg_stat_statements.max = 100\)/,
      );
      expect(result.text).toContain(
        '# Warning: pg_stat_statements dropped its least-used statements',
      );
      // The forgotten writes are why some tables are nobody's.
      expect(result.proposal.unowned.length).toBeGreaterThan(0);
    });
  });
}
