import fs from 'node:fs';
import { PgpactError, PostgresError } from '../errors.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { readCatalog } from './catalog.js';
import { run, urlWith, withClient } from './client.js';
import { startThrowawayServer } from './local-server.js';

/**
 * Builds a catalog from DDL files: runs them in order in a throwaway Postgres
 * (a fresh cluster, removed afterwards, whatever happens) and reads its catalog.
 */
export async function catalogFromSchemaFiles(files: readonly string[]): Promise<CatalogSnapshot> {
  const sources = files.map((file) => {
    try {
      return { file, sql: fs.readFileSync(file, 'utf8') };
    } catch (error) {
      throw new PgpactError(
        'USAGE',
        `cannot read schema file ${file}: ${(error as Error).message}`,
        {
          hint: 'pass the DDL of the schema with --schema FILE.sql',
          cause: error,
        },
      );
    }
  });
  const server = await startThrowawayServer();
  try {
    await withClient(server.url, (c) => c.query('CREATE DATABASE pgpact_schema'));
    return await withClient(urlWith(server.url, { database: 'pgpact_schema' }), async (client) => {
      for (const { file, sql } of sources) {
        try {
          await run(client, sql);
        } catch (error) {
          if (error instanceof PostgresError) {
            throw new PostgresError(`${file}: ${error.message}`, error.pg, error.sql, error);
          }
          throw error;
        }
      }
      return readCatalog(client);
    });
  } finally {
    await server.destroy();
  }
}
