/**
 * A tiny tokenizer for SQL text Postgres printed itself (view definitions, constraint
 * definitions): enough to compare two definitions modulo renamed identifiers.
 */

export interface Token {
  /** An identifier, unquoted and case-kept ("Name" → Name, name → name). */
  ident?: string;
  /** Anything else: a keyword-less symbol, number or string literal, verbatim. */
  text?: string;
}

const KEYWORD_LIKE = /^[a-z_][a-z0-9_$]*$/;

/** Splits SQL into identifiers and other tokens; whitespace is dropped. */
export function tokenizeSql(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '"') {
      let j = i + 1;
      let name = '';
      while (j < sql.length) {
        if (sql[j] === '"' && sql[j + 1] === '"') {
          name += '"';
          j += 2;
        } else if (sql[j] === '"') {
          break;
        } else {
          name += sql[j];
          j += 1;
        }
      }
      tokens.push({ ident: name });
      i = j + 1;
    } else if (ch === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      tokens.push({ text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (/[\p{L}_]/u.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\p{L}\p{N}_$]/u.test(sql[j]!)) j += 1;
      const word = sql.slice(i, j);
      // Postgres prints unquoted identifiers in lower case; upper-case words are keywords.
      tokens.push(
        KEYWORD_LIKE.test(word) || /[^\x00-\x7f]/.test(word) ? { ident: word } : { text: word },
      );
      i = j;
    } else {
      tokens.push({ text: ch });
      i += 1;
    }
  }
  return tokens;
}

/**
 * Whether two printed definitions are the same once identifiers renamed by the
 * migration are mapped to their new names (Postgres reprints `old` as `new AS old`).
 */
export function sameDefinitionModuloRenames(
  before: string,
  after: string,
  renames: Map<string, string>,
): boolean {
  if (before === after) return true;
  if (renames.size === 0) return false;
  const mapped = tokenizeSql(before).map((t) =>
    t.ident !== undefined && renames.has(t.ident) ? { ident: renames.get(t.ident) } : t,
  );
  const afterTokens = tokenizeSql(after);
  const collapsed: Token[] = [];
  for (let k = 0; k < afterTokens.length; k += 1) {
    const t = afterTokens[k]!;
    const as = afterTokens[k + 1];
    const alias = afterTokens[k + 2];
    if (
      t.ident !== undefined &&
      as?.text?.toUpperCase() === 'AS' &&
      alias?.ident !== undefined &&
      renames.get(alias.ident) === t.ident
    ) {
      collapsed.push(t);
      k += 2;
    } else {
      collapsed.push(t);
    }
  }
  const key = (ts: Token[]) =>
    ts.map((t) => (t.ident !== undefined ? `i:${t.ident}` : `t:${t.text}`)).join('\u0001');
  return key(mapped) === key(collapsed) || key(mapped) === key(afterTokens);
}
