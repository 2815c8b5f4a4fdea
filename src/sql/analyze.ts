/**
 * The statement analyzer's public entry points: what each SQL statement reads
 * and writes, resolved against a catalog snapshot with Postgres's own parser.
 */
import type { Node } from 'libpg-query';
import type { CatalogIndex } from './catalog-index.js';
import { type AnalysisContext, newContext, warn } from './context.js';
import { eachStatement, type ParsedStatement, parseText, type SqlSyntaxIssue } from './parse.js';
import { DEFAULT_SEARCH_PATH, effectiveSearchPath, parseSearchPath } from './search-path.js';
import { analyzeNode } from './statement.js';

/** What one statement reads and writes (the `pgpact analyze --json` element, a documented interface). */
export interface StatementAnalysis {
  sql: string;
  /** `schema.table.column` whose stored values the statement uses, sorted, names as stored. */
  reads: string[];
  /** `schema.table.column` the statement assigns, sorted. */
  writes: string[];
  /** `schema.table` read (also without a column: count(*)) and written (also DELETE, TRUNCATE), sorted. */
  relations: { read: string[]; write: string[] };
  /** What could not be resolved or is reported with a caveat, sorted. */
  warnings: string[];
  /**
   * Relations an INSERT adds rows to (`schema.table`, through a view: its table), each with the
   * columns it gives, sorted: a column left out gets its default. Absent without an INSERT.
   */
  inserts?: Record<string, string[]>;
  /** Set when the text could not be parsed (then nothing else is known). */
  syntaxError?: SqlSyntaxIssue;
}

/** A statement of a script, with where it starts. */
export interface ScriptStatementAnalysis extends StatementAnalysis {
  line: number;
  column: number;
}

/** How names resolve: the search_path (default `"$user", public`, or the role's own setting) and the role for `$user`. */
export interface AnalyzeOptions {
  searchPath?: readonly string[];
  role?: string;
  /**
   * Take an unqualified name missing from the search path as the one relation of that name
   * in any schema (with a warning). For statements whose session search_path is unknown,
   * e.g. from pg_stat_statements (applications often SET it at connect time).
   */
  resolveOutsideSearchPath?: boolean;
}

function resolvedSearchPath(index: CatalogIndex, options: AnalyzeOptions): string[] {
  const rolePath = options.role !== undefined ? index.roleSearchPaths.get(options.role) : undefined;
  const path =
    options.searchPath ??
    (rolePath !== undefined ? parseSearchPath(rolePath) : DEFAULT_SEARCH_PATH);
  return effectiveSearchPath(path, options.role);
}

function analyzeNodeSafely(node: Node, ctx: AnalysisContext): void {
  try {
    analyzeNode(node, ctx);
  } catch (error) {
    // An unexpected tree shape (or a tree too deep to walk) must not stop the caller.
    warn(ctx, `could not analyze the whole statement: ${(error as Error).message}`);
  }
}

function sorted(set: Set<string>): string[] {
  const list = [...set];
  return list.length > 1 ? list.sort() : list;
}

function finish(sql: string, ctx: AnalysisContext): StatementAnalysis {
  return {
    sql,
    reads: sorted(ctx.reads),
    writes: sorted(ctx.writes),
    relations: { read: sorted(ctx.relationsRead), write: sorted(ctx.relationsWritten) },
    warnings: sorted(ctx.warnings),
    ...(ctx.inserts.size > 0
      ? {
          inserts: Object.fromEntries(
            [...ctx.inserts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, c]) => [r, sorted(c)]),
          ),
        }
      : {}),
  };
}

/**
 * Statements pg_stat_statements normalizes into text the parser refuses (it replaces the
 * savepoint or prepared-statement name with $1): they touch no data.
 */
const NORMALIZED_UTILITY =
  /^\s*(SAVEPOINT|RELEASE(\s+SAVEPOINT)?|ROLLBACK(\s+(WORK|TRANSACTION))?\s+TO(\s+SAVEPOINT)?|DEALLOCATE(\s+PREPARE)?)\s+\$\d+\s*;?\s*$/i;

/**
 * Analyzes one statement (text, possibly several statements whose access is merged,
 * or an already parsed statement). Never throws: syntax errors and whatever cannot be
 * resolved come back as warnings. Call loadParser() once before.
 */
export function analyzeStatement(
  sql: string | ParsedStatement,
  index: CatalogIndex,
  options: AnalyzeOptions = {},
): StatementAnalysis {
  const ctx = newContext(
    index,
    resolvedSearchPath(index, options),
    options.resolveOutsideSearchPath === true,
  );
  if (typeof sql !== 'string') {
    analyzeNodeSafely(sql.node, ctx);
    return finish(sql.sql, ctx);
  }
  const parsed = parseText(sql);
  if (!parsed.ok && NORMALIZED_UTILITY.test(sql)) return finish(sql, ctx);
  if (!parsed.ok) {
    warn(
      ctx,
      `syntax error at line ${parsed.issue.line}, column ${parsed.issue.column}: ${parsed.issue.message}`,
    );
    return { ...finish(sql, ctx), syntaxError: parsed.issue };
  }
  for (const s of parsed.stmts) analyzeNodeSafely(s.node, ctx);
  return finish(sql, ctx);
}

/** The search_path a `SET [LOCAL] search_path ...` statement leaves, or undefined for other statements. */
function searchPathAfter(node: Node): readonly string[] | 'reset' | undefined {
  const set = (node as { VariableSetStmt?: { kind?: string; name?: string; args?: Node[] } })
    .VariableSetStmt;
  if (set?.name !== 'search_path') return undefined;
  if (set.kind === 'VAR_SET_VALUE') {
    return (set.args ?? []).map(
      (a) => (a as { A_Const?: { sval?: { sval?: string } } }).A_Const?.sval?.sval ?? '',
    );
  }
  if (set.kind === 'VAR_SET_DEFAULT' || set.kind === 'VAR_RESET') return 'reset';
  return undefined;
}

/**
 * Splits a script where Postgres would and analyzes each statement; `SET search_path`
 * statements in the script apply to the statements after them. Throws SQL_SYNTAX
 * (with file, line and column) when the script does not parse.
 */
export function analyzeScript(
  text: string,
  index: CatalogIndex,
  options: AnalyzeOptions & { file?: string } = {},
): ScriptStatementAnalysis[] {
  return [...analyzeEach(text, index, options)];
}

/**
 * analyzeScript one statement at a time: a long script is parsed piece by piece
 * (eachStatement), so memory stays bounded by what the caller keeps.
 */
export function* analyzeEach(
  text: string,
  index: CatalogIndex,
  options: AnalyzeOptions & { file?: string } = {},
): Generator<ScriptStatementAnalysis> {
  let searchPath: readonly string[] | undefined = options.searchPath;
  for (const s of eachStatement(text, options.file)) {
    const analysis = analyzeStatement(s, index, { ...options, searchPath });
    const after = searchPathAfter(s.node);
    if (after === 'reset') searchPath = options.searchPath;
    else if (after !== undefined) searchPath = after;
    yield { ...analysis, line: s.line, column: s.column };
  }
}
