import type { CatalogSnapshot } from '../../catalog-types.js';
import { readCatalog } from '../../postgres/catalog.js';
import { withClient } from '../../postgres/client.js';
import { resolveDatabaseUrl } from '../../postgres/embedded.js';
import { analyzeEach } from '../../sql/analyze.js';
import { createCatalogIndex } from '../../sql/catalog-index.js';
import { formatAnalysisText, toAnalysisJson } from '../../sql/format-analysis.js';
import { eachStatement, loadParser, MAX_STATEMENT_BYTES } from '../../sql/parse.js';
import { noStatementsError, readSqlInput } from '../../sql/read-sql.js';
import { catalogFromSchemaFiles } from '../../postgres/schema-catalog.js';
import { parseSearchPath } from '../../sql/search-path.js';
import { type Command, EXIT } from '../command.js';

/** Output is written in pieces of about this many characters (a long script streams). */
const FLUSH_CHARS = 64_000;

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

  Long inputs are parsed statement by statement, in bounded memory; a statement over
  ${MAX_STATEMENT_BYTES / 1e6} MB is refused with that limit. An input without a statement (empty, or only
  whitespace and comments) is an error, as it is for pgpact check. Nothing goes to stdout
  unless every input parses: --json prints one JSON array or nothing.

  exit codes: 0 analyzed (warnings included), 2 a file does not parse (file:line:column and a
  caret), holds no statement, is not UTF-8 text, or invalid options`,
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
    const texts = inputs.map((file) => {
      const name = file === '-' ? 'stdin' : file;
      return { file, name, text: readSqlInput(file, name) };
    });
    await loadParser();
    // Syntax errors (and inputs without statements) first: they need no catalog, and nothing
    // is printed before every input is known to parse.
    const empty: string[] = [];
    for (const { name, text } of texts) {
      let any = false;
      for (const _ of eachStatement(text, name)) any = true;
      if (!any) empty.push(name);
    }
    if (empty.length > 0) throw noStatementsError(empty);
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
    // Streamed, one statement at a time, exactly as one JSON.stringify(array, null, 2) would print.
    let pending = '';
    const write = (text: string) => {
      pending += text;
      if (pending.length >= FLUSH_CHARS) {
        output.out(pending);
        pending = '';
      }
    };
    let count = 0;
    for (const { name, text } of texts) {
      for (const analysis of analyzeEach(text, index, { ...options, file: name })) {
        if (values.json) {
          const item = JSON.stringify(toAnalysisJson(analysis), null, 2).replaceAll('\n', '\n  ');
          write(`${count === 0 ? '[\n' : ',\n'}  ${item}`);
        } else {
          const block = formatAnalysisText([{ where: `${name}:${analysis.line}`, analysis }]);
          write(count === 0 ? block : `\n${block}`);
        }
        count += 1;
      }
    }
    if (values.json) write('\n]\n');
    output.out(pending);
    return EXIT.ok;
  },
};
