import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { quoteIdent } from '../../src/postgres/quote.js';
import { readStatementStats } from '../../src/usage/statement-stats.js';
import { describeEachServer, startTestServer, type TestServer } from '../helpers/postgres.js';

async function failure(promise: Promise<unknown>): Promise<PgpactError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PgpactError);
    return error as PgpactError;
  }
  throw new Error('expected an error');
}

describeEachServer('reading pg_stat_statements', (server) => {
  it('says how to create the extension when the database lacks it', async () => {
    await withClient(server().url, (c) => c.query('CREATE DATABASE no_pgss'));
    const url = urlWith(server().url, { database: 'no_pgss' });
    const error = await failure(withClient(url, (c) => readStatementStats(c)));
    expect(error.code).toBe('PG_STAT_STATEMENTS_MISSING');
    expect(error.message).toContain('no_pgss');
    expect(error.hint).toContain('CREATE EXTENSION pg_stat_statements');
    expect(error.hint).not.toContain('shared_preload_libraries');
  });

  it('asks for pg_read_all_stats when other roles’ statement texts are hidden, and works once granted', async () => {
    const url = await server().createDatabase('priv');
    await withClient(url, async (c) => {
      await c.query(`CREATE ROLE plain_observer LOGIN PASSWORD 'pw'`);
      await c.query('CREATE TABLE t (a int); SELECT a FROM t');
    });
    const asObserver = urlWith(url, { user: 'plain_observer', password: 'pw' });
    const error = await failure(withClient(asObserver, (c) => readStatementStats(c)));
    expect(error.code).toBe('INSUFFICIENT_PRIVILEGE');
    expect(error.hint).toContain('GRANT pg_read_all_stats TO "plain_observer"');
    await withClient(url, (c) => c.query('GRANT pg_read_all_stats TO plain_observer'));
    const stats = await withClient(asObserver, (c) => readStatementStats(c));
    expect(
      stats.entries.some((e) => e.role === 'postgres' && e.query?.includes('SELECT a FROM t')),
    ).toBe(true);
    await withClient(url, (c) => c.query('DROP OWNED BY plain_observer; DROP ROLE plain_observer'));
  });

  it('finds the view in the schema the extension lives in', async () => {
    const url = await server().createDatabase('elsewhere');
    await withClient(url, async (c) => {
      await c.query('DROP EXTENSION pg_stat_statements');
      await c.query(`CREATE SCHEMA ${quoteIdent('Monitoring Stats')}`);
      await c.query(`CREATE EXTENSION pg_stat_statements SCHEMA ${quoteIdent('Monitoring Stats')}`);
      await c.query('SET search_path = pg_catalog');
    });
    const stats = await withClient(url, (c) => readStatementStats(c));
    expect(stats.source).toBe('live');
    expect(stats.queryTextLimit).toBe(1024);
  });
});

describe('a server without pg_stat_statements in shared_preload_libraries', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('embedded PG 18', { shared_preload_libraries: '' });
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('says to preload the library, whether or not the extension was created', async () => {
    await withClient(server.url, (c) => c.query('CREATE DATABASE bare'));
    const bare = urlWith(server.url, { database: 'bare' });
    const before = await failure(withClient(bare, (c) => readStatementStats(c)));
    expect(before.code).toBe('PG_STAT_STATEMENTS_MISSING');
    expect(before.hint).toContain("shared_preload_libraries = 'pg_stat_statements'");
    await withClient(bare, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
    const after = await failure(withClient(bare, (c) => readStatementStats(c)));
    expect(after.code).toBe('PG_STAT_STATEMENTS_MISSING');
    expect(after.message).toContain('not loaded');
    expect(after.hint).toContain('shared_preload_libraries');
  });
});
