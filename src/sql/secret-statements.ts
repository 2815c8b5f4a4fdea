/**
 * Statement texts that carry a secret (a password, a SCRAM or MD5 verifier, a connection
 * string with a password) are never stored or shown: observed usage, top, the dashboard,
 * /metrics and check reports pass every text through withholdSecretStatement first.
 */
import { parseText } from './parse.js';

/** The start of every text put in place of a withheld statement. */
export const WITHHELD_PREFIX = '/* pgpact withheld this statement';

/** Anything that might be a secret: only texts matching it are parsed at all (cheap for the rest). */
const SUSPECT =
  /pass|pwd|secret|scram-sha-256|md5[0-9a-f]{32}|:\/\/[^\s/@'"]*:[^\s@'"]*@|user\s+mapping|conninfo|connection/i;

/** A string value that holds a secret wherever it appears. */
const SECRET_VALUE =
  /pass(?:word|file)?\s*=|scram-sha-256\$|^md5[0-9a-f]{32}$|:\/\/[^\s/@'"]*:[^\s@'"]*@/i;

/**
 * For text the parser rejects (cut by track_activity_query_size, a line of a broken file):
 * a password keyword followed by a value, a key=value password, a verifier, a URL password.
 */
const SECRET_IN_TEXT =
  /pass(?:word)?\s*(?:=|'|"|\$|E')|passwd|pwd\s*=|scram-sha-256\$|md5[0-9a-f]{32}|:\/\/[^\s/@'"]*:[^\s@'"]*@/i;

/** Option (DefElem) and setting names that name a secret: PASSWORD, OPTIONS (password ...), passfile. */
const SECRET_NAME = /pass|pwd|secret/i;

/** Whether a parse tree carries a secret: a password option, a secret setting, or a secret string anywhere. */
function treeCarriesSecret(node: unknown): boolean {
  if (typeof node === 'string') return SECRET_VALUE.test(node);
  if (Array.isArray(node)) return node.some(treeCarriesSecret);
  if (node === null || typeof node !== 'object') return false;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'DefElem' || key === 'VariableSetStmt') {
      const name =
        (value as { defname?: unknown; name?: unknown }).defname ??
        (value as { name?: unknown }).name;
      if (typeof name === 'string' && SECRET_NAME.test(name)) return true;
    }
    if (treeCarriesSecret(value)) return true;
  }
  return false;
}

/** `CreateRoleStmt` → `CREATE ROLE`. */
function statementKind(nodeType: string): string {
  return nodeType
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function withheld(kind: string | undefined): string {
  return `${WITHHELD_PREFIX}: it carries a password or connection secret${kind ? ` (${kind})` : ''} */`;
}

/**
 * Whether a statement text sets or carries a secret. Decided on the Postgres parse tree;
 * text the parser rejects (cut by track_activity_query_size, not SQL) counts as secret when
 * it looks like a password with its value, a verifier or a URL with a password.
 */
export function carriesSecret(text: string): boolean {
  return withholdSecretStatement(text) !== text;
}

/** The parse, or undefined when the text does not parse (or the parser is not loaded: then be safe). */
function tryParse(text: string) {
  try {
    const parsed = parseText(text);
    return parsed.ok ? parsed.stmts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The text to store or show for a statement: itself, or a comment naming only the kind of
 * statement (`CREATE ROLE`) when it carries a secret. Needs loadParser() once before.
 */
export function withholdSecretStatement(text: string): string {
  if (text.startsWith(WITHHELD_PREFIX) || !SUSPECT.test(text)) return text;
  const stmts = tryParse(text);
  if (stmts === undefined) {
    if (!SECRET_IN_TEXT.test(text)) return text;
    const word = /^\s*([A-Za-z]{1,12})\b/.exec(text)?.[1];
    return withheld(word?.toUpperCase());
  }
  const secret = stmts.find((s) => treeCarriesSecret(s.node));
  if (!secret) return text;
  return withheld(statementKind(Object.keys(secret.node)[0] ?? ''));
}

/** Whether a text is the placeholder of a withheld statement. */
export function isWithheldStatement(text: string | undefined): boolean {
  return text?.startsWith(WITHHELD_PREFIX) === true;
}

/**
 * An excerpt of a file (a line and a caret under it, as caretAt makes) with every line that
 * carries a password replaced, for error reports and check findings.
 */
export function withholdSecretLines(excerpt: string): string {
  return excerpt
    .split('\n')
    .map((line) =>
      withholdSecretStatement(line) === line
        ? line
        : '(this line is withheld: it carries a password)',
    )
    .join('\n');
}
