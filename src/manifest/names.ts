/**
 * Which names Postgres can hold. Any text is a valid quoted identifier except
 * an empty one or one containing NUL; longer than 63 bytes (NAMEDATALEN - 1)
 * Postgres silently truncates, so two long names could become one.
 */

/** Longest identifier Postgres keeps, in bytes of UTF-8. */
export const MAX_IDENTIFIER_BYTES = 63;

/** What is wrong with a name, if anything. */
export interface NameIssue {
  code: 'MANIFEST_BAD_NAME' | 'MANIFEST_NAME_TOO_LONG' | 'MANIFEST_RESERVED_NAME';
  message: string;
  hint: string;
}

/** Checks that Postgres can hold `name` as an identifier; `what` names it in the message (`schema`, `column`...). */
export function checkIdentifier(name: string, what: string): NameIssue | undefined {
  if (name.length === 0) {
    return {
      code: 'MANIFEST_BAD_NAME',
      message: `empty ${what} name`,
      hint: `write the ${what}'s name`,
    };
  }
  if (name.includes('\u0000')) {
    return {
      code: 'MANIFEST_BAD_NAME',
      message: `${what} name \`${printable(name)}\` contains a NUL character`,
      hint: 'Postgres names cannot contain NUL; remove it',
    };
  }
  const unsafe = unsafeCharacter(name);
  if (unsafe) return unsafeIssue(name, `${what} name`, unsafe);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return {
      code: 'MANIFEST_NAME_TOO_LONG',
      message: `${what} name \`${printable(name)}\` is ${bytes} bytes long; Postgres keeps at most ${MAX_IDENTIFIER_BYTES} bytes`,
      hint: 'Postgres would silently truncate it; choose a shorter name',
    };
  }
  return undefined;
}

/** Checks a login role name: a valid identifier that Postgres does not reserve (`pg_*`, `public`, `none`). */
export function checkRoleName(name: string): NameIssue | undefined {
  const issue = checkIdentifier(name, 'role');
  if (issue) return issue;
  if (name.startsWith('pg_') || name === 'public' || name === 'none') {
    return {
      code: 'MANIFEST_RESERVED_NAME',
      message: `role name \`${name}\` is reserved by Postgres`,
      hint: 'role names starting with `pg_`, and `public` and `none`, cannot be created; set `role:` to another name',
    };
  }
  if (name === 'pgpact_monitor') {
    return {
      code: 'MANIFEST_RESERVED_NAME',
      message: 'role name `pgpact_monitor` is the role of the pgpact dashboard',
      hint: 'pgpact creates and manages `pgpact_monitor` for the dashboard; give the service another `role:`',
    };
  }
  return undefined;
}

/** Checks an owned schema name: a valid identifier and not a system schema (`pg_*`, `information_schema`). */
export function checkOwnedSchemaName(name: string): NameIssue | undefined {
  const issue = checkIdentifier(name, 'schema');
  if (issue) return issue;
  if (name.startsWith('pg_') || name === 'information_schema') {
    return {
      code: 'MANIFEST_RESERVED_NAME',
      message: `schema \`${name}\` is a system schema and cannot be owned by a service`,
      hint: 'the prefix `pg_` and `information_schema` are reserved by Postgres; choose another schema name',
    };
  }
  return undefined;
}

/**
 * Characters no name or text of a manifest may hold: C0 and C1 control characters
 * and DEL (a newline or carriage return ends a SQL comment; escapes drive terminals),
 * the Unicode line and paragraph separators (shown as line breaks), and the
 * bidirectional controls and the byte order mark (they make text read differently
 * from what it is).
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/** The first character of `text` that no manifest name or text may hold, if any. */
export function unsafeCharacter(text: string): string | undefined {
  return UNSAFE.exec(text)?.[0];
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function unsafeIssue(text: string, what: string, c: string): NameIssue {
  return {
    code: 'MANIFEST_BAD_NAME',
    message: `${what} contains the control character ${unicodeEscape(c)}: \`${printable(text)}\``,
    hint: 'names and texts of a manifest may not hold line breaks, tabs, control or direction-changing characters; remove it',
  };
}

/** Checks free text of a manifest (`team`, `contact`): any text without control characters. */
export function checkText(text: string, what: string): NameIssue | undefined {
  const unsafe = unsafeCharacter(text);
  return unsafe ? unsafeIssue(text, what, unsafe) : undefined;
}

/**
 * Text made safe for one line of a terminal or a SQL comment: every character
 * `unsafeCharacter` finds is written as a `\uXXXX` escape, so no line break,
 * terminal escape or direction change survives. Nothing is shortened.
 */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_ALL, unicodeEscape);
}

/** A name made safe to print: control characters shown as escapes, very long names shortened. */
export function printable(name: string): string {
  const escaped = escapeUnsafe(name);
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}
