import { closestName } from '../manifest/closest.js';
import { parseTableRef } from '../manifest/table-ref.js';
import type { MigrationSource } from './file-source.js';
import type { TableName } from './types.js';

/** Reads the keys of one mapping of a migration file, reporting wrong types, missing and unknown keys. */
export class Fields {
  private readonly used = new Set<string>();

  constructor(
    private readonly source: MigrationSource,
    readonly path: string,
    readonly value: Record<string, unknown>,
    private readonly context: string,
  ) {}

  private at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  /** A name or SQL text; numbers are taken as their text. */
  string(key: string, required: true): string | undefined;
  string(key: string, required?: false): string | undefined;
  string(key: string, required = false): string | undefined {
    this.used.add(key);
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) this.source.report(this.path, `${this.context} needs \`${key}\``);
      return undefined;
    }
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (typeof v !== 'string') {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} must be text`);
      return undefined;
    }
    if (v.trim() === '') {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} is empty`);
      return undefined;
    }
    if (v.includes('\u0000')) {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} holds a NUL character`);
      return undefined;
    }
    return v;
  }

  /** One identifier, taken as written (it is always quoted): at most 63 bytes, as Postgres keeps it. */
  name(key: string, required: true): string | undefined;
  name(key: string, required?: false): string | undefined;
  name(key: string, required = false): string | undefined {
    const text = this.string(key, required as true);
    if (text === undefined) return undefined;
    const problem = identifierProblem(text);
    if (problem) {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} ${problem}`, IDENTIFIER_HINT);
      return undefined;
    }
    return text;
  }

  /** A list of identifiers. */
  names(key: string, required = false): string[] | undefined {
    const list = this.strings(key, required);
    if (list === undefined) return undefined;
    let ok = true;
    list.forEach((text, i) => {
      const problem = identifierProblem(text);
      if (problem) {
        ok = false;
        this.source.report(
          `${this.at(key)}.${i}`,
          `\`${printable(text)}\` in \`${key}\` of ${this.context} ${problem}`,
          IDENTIFIER_HINT,
        );
      }
    });
    return ok ? list : undefined;
  }

  boolean(key: string): boolean | undefined {
    this.used.add(key);
    const v = this.value[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} must be true or false`);
      return undefined;
    }
    return v;
  }

  /** A list of names. */
  strings(key: string, required = false): string[] | undefined {
    this.used.add(key);
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) this.source.report(this.path, `${this.context} needs \`${key}\` (a list)`);
      return undefined;
    }
    if (
      !Array.isArray(v) ||
      v.some((x) => (typeof x !== 'string' && typeof x !== 'number') || String(x).trim() === '') ||
      v.length === 0
    ) {
      this.source.report(
        this.at(key),
        `\`${key}\` of ${this.context} must be a non-empty list of names`,
      );
      return undefined;
    }
    return v.map(String);
  }

  /** A nested mapping. */
  object(key: string, context: string, required = false): Fields | undefined {
    this.used.add(key);
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) this.source.report(this.path, `${this.context} needs \`${key}\``);
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} must be a mapping`);
      return undefined;
    }
    return new Fields(this.source, this.at(key), v as Record<string, unknown>, context);
  }

  /** A list of mappings. */
  objects(key: string, context: string, required = false): Fields[] | undefined {
    this.used.add(key);
    const v = this.value[key];
    if (v === undefined || v === null) {
      if (required) this.source.report(this.path, `${this.context} needs \`${key}\` (a list)`);
      return undefined;
    }
    if (!Array.isArray(v) || v.length === 0) {
      this.source.report(this.at(key), `\`${key}\` of ${this.context} must be a non-empty list`);
      return undefined;
    }
    const out: Fields[] = [];
    v.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        this.source.report(`${this.at(key)}.${i}`, `each entry of \`${key}\` must be a mapping`);
      } else {
        out.push(
          new Fields(this.source, `${this.at(key)}.${i}`, item as Record<string, unknown>, context),
        );
      }
    });
    return out;
  }

  /** A table reference `schema.table`, `table` (default schema) or quoted parts. */
  table(key: string, defaultSchema: string, required = true): TableName | undefined {
    const text = this.string(key, required as true);
    if (text === undefined) return undefined;
    return parseTableName(text, defaultSchema, (message) =>
      this.source.report(
        this.at(key),
        `\`${key}\` of ${this.context}: ${message}`,
        'write schema.table; quote a part that holds a dot: "my.schema".table',
      ),
    );
  }

  /** Marks keys as known without reading them (accepted and ignored). */
  ignore(...keys: string[]): void {
    for (const key of keys) this.used.add(key);
  }

  /** Reports every key that was never read. */
  reportUnknown(): void {
    const known = [...this.used];
    for (const key of Object.keys(this.value)) {
      if (this.used.has(key)) continue;
      const suggestion = closestName(key, known);
      this.source.report(
        this.at(key),
        `unknown key \`${key}\` in ${this.context}`,
        suggestion ? `did you mean \`${suggestion}\`?` : `known keys: ${known.join(', ')}`,
      );
    }
  }

  report(key: string | undefined, message: string, hint?: string): void {
    this.source.report(key === undefined ? this.path : this.at(key), message, hint);
  }
}

const IDENTIFIER_HINT =
  'names are taken as written and quoted; Postgres keeps at most 63 bytes of one';

/** A name as it can be shown in a message: control characters escaped, long ones cut. */
function printable(name: string): string {
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
  return shown.slice(1, -1);
}

/** Why a name cannot be one Postgres identifier as written, if it cannot. */
export function identifierProblem(name: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character (newline, tab, NUL...)';
  if (name === '') return 'is empty';
  const bytes = Buffer.byteLength(name);
  // Postgres would cut it silently, and pgpact would then not find what it created.
  if (bytes > 63) return `is ${bytes} bytes long, more than the 63 Postgres keeps`;
  return undefined;
}

/** Parses `schema.table` or a bare `table` (in defaultSchema); parts may be double-quoted. */
export function parseTableName(
  text: string,
  defaultSchema: string,
  onError: (message: string) => void,
): TableName | undefined {
  const parsed = parseTableRef(text);
  let table: TableName | undefined;
  if (parsed.ok) table = { schema: parsed.schema, name: parsed.table };
  else if (parsed.message === 'the schema is missing') {
    const bare =
      text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1).replaceAll('""', '"') : text;
    table = { schema: defaultSchema, name: bare };
  } else {
    onError(parsed.message);
    return undefined;
  }
  for (const part of [table.schema, table.name]) {
    const problem = identifierProblem(part);
    if (problem) {
      onError(`\`${printable(part)}\` ${problem}`);
      return undefined;
    }
  }
  return table;
}
