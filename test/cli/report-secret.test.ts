import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatError } from '../../src/cli/report-error.js';
import { run, withClient } from '../../src/postgres/client.js';
import { loadParser } from '../../src/sql/parse.js';
import { startTestServer, type TestServer } from '../helpers/postgres.js';

let server: TestServer;
beforeAll(async () => {
  await loadParser();
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

it('a Postgres error in a statement carrying a password points at the line, without the password', async () => {
  const url = await server.createDatabase('report_secret');
  const error = await withClient(url, (c) =>
    run(c, "SELECT 1;\nSELECT 'host=db password=hunter2' AS conninfo, no_such_column").catch(
      (e: unknown) => e,
    ),
  );
  const text = formatError(error);
  expect(text).toContain('no_such_column');
  expect(text).toContain('at line 2 of the statement');
  expect(text).not.toContain('hunter2');
  // An ordinary statement still shows its line with the caret.
  const plain = await withClient(url, (c) =>
    run(c, 'SELECT no_such_column').catch((e: unknown) => e),
  );
  expect(formatError(plain)).toContain('SELECT no_such_column');
});
