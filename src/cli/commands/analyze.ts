import fs from 'node:fs';
import { PgpactError } from '../../errors.js';
import type { CatalogSnapshot } from '../../postgres/catalog-types.js';
import { readCatalog } from '../../postgres/catalog.js';
import { withClient } from '../../postgres/client.js';
import { resolveDatabaseUrl } from '../../postgres/embedded.js';
import { analyzeScript } from '../../sql/analyze.js';
import { createCatalogIndex } from '../../sql/catalog-index.js';
import { formatAnalysisText, toAnalysisJson } from '../../sql/format-analysis.js';
import { loadParser, splitStatements } from '../../sql/parse.js';
import { catalogFromSchemaFiles } from '../../sql/schema-catalog.js';
import { parseSearchPath } from '../../sql/search-path.js';
import { type Command, EXIT } from '../command.js';

function readInput(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new PgpactError(
      'USAGE',
      `cannot read ${file === '-' ? 'stdin' : file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** `pgpact analyze`: the relations and columns each SQL statement reads and writes. */
export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'report, per SQL statement, the relations and columns it reads and writes',
  usage: `pgpact analyze [--database-url URL | --schema FILE.sql]... [--search-path LIST] [--role NAME]
                      [--json] [FILE... | -]

  Splits the SQL of each FILE (stdin when none, or -) into statements exactly where
  Postgres's parser splits them, and resolves every relation and column against a catalog.
  SET search_path statements in a file apply to the statements after them.

  --schema FILE.sql    take the catalog from this DDL, run in a throwaway Postgres that is
                       removed afterwards (repeatable, applied in order)
  --database-url URL   take the catalog of this database (default: DATABASE_URL, else the
                       embedded Postgres under .pgpact/)
  --search-path LIST   where unqualified names resolve, as Postgres writes it: "$user", public
                       (default: the role's own search_path setting, else "$user", public)
  --role NAME          the role for "$user" and for its search_path setting
  --json               print one JSON array with one object per statement (a stable interface):
                         {"sql": string,
                          "reads": ["schema.table.column", ...], "writes": [...],
                          "relations": {"read": ["schema.table", ...], "write": [...]},
                          "warnings": [string, ...]}
                       every array sorted; names exactly as the catalog stores them, unquoted

  read     the statement uses the stored value: select list, WHERE, JOIN, GROUP BY, HAVING,
           ORDER BY, windows, RETURNING, right side of SET, ON CONFLICT targets, COPY TO.
           A relation is also read without any column (count(*)). Through a view, the
           view's columns are reported. * and t.* are expanded from the catalog (warning).
  written  assigned: INSERT columns (by position when the list is omitted), UPDATE /
           ON CONFLICT / MERGE SET, COPY FROM. DELETE, TRUNCATE and MERGE write the relation.
  warnings what could not be resolved (unknown relation or column, system catalogs) and
           what is opaque (user-defined functions, DO blocks, EXECUTE).

  exit codes: 0 analyzed (warnings included), 2 a file does not parse (file:line:column and a
  caret) or invalid options`,
  options: {
    schema: { type: 'string', multiple: true },
    'search-path': { type: 'string' },
    role: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals }, output) {
    const schemaFiles = (values.schema as string[] | undefined) ?? [];
    const databaseUrl = values['database-url'] as string | undefined;
    if (schemaFiles.length > 0 && databaseUrl !== undefined) {
      output.err('pgpact analyze: give either --schema or --database-url, not both\n');
      return EXIT.invalid;
    }
    const inputs = positionals.length > 0 ? positionals : ['-'];
    const texts = inputs.map((file) => ({
      file,
      name: file === '-' ? 'stdin' : file,
      text: readInput(file),
    }));
    await loadParser();
    // Syntax errors first: they need no catalog.
    for (const { name, text } of texts) splitStatements(text, name);
    const catalog: CatalogSnapshot =
      schemaFiles.length > 0
        ? await catalogFromSchemaFiles(schemaFiles)
        : await withClient(await resolveDatabaseUrl({ databaseUrl, embedded: 'running' }), (c) =>
            readCatalog(c),
          );
    const index = createCatalogIndex(catalog);
    const searchPathText = values['search-path'] as string | undefined;
    const options = {
      ...(searchPathText !== undefined ? { searchPath: parseSearchPath(searchPathText) } : {}),
      ...(values.role !== undefined ? { role: values.role as string } : {}),
    };
    const results = texts.flatMap(({ name, text }) => {
      return analyzeScript(text, index, { ...options, file: name }).map((analysis) => ({
        where: `${name}:${analysis.line}`,
        analysis,
      }));
    });
    if (values.json) {
      output.out(
        `${JSON.stringify(
          results.map((r) => toAnalysisJson(r.analysis)),
          null,
          2,
        )}\n`,
      );
    } else {
      output.out(formatAnalysisText(results));
    }
    return EXIT.ok;
  },
};
