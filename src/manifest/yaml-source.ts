/**
 * The parsed YAML of a manifest, with positions: every node maps back to a
 * line and column, and every problem found while reading it is collected here.
 * Documents are parsed with the failsafe schema, so every scalar is text and
 * names are kept exactly as written (`true`, `0012`, `null` in quotes...).
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type { Problem } from '../errors.js';
import { closestName } from './closest.js';
import { escapeUnsafe } from './names.js';
import type { ManifestProblemCode } from './problem-codes.js';
import type { SourceLocation } from './types.js';

/** A YAML value after aliases are resolved. */
export type YamlValue = Scalar | YAMLMap | YAMLSeq;

/** One key of a mapping, with its value and where the key is written. */
export interface MapEntry {
  key: string;
  keyNode: Node;
  /** The value with aliases resolved; null when absent or written as YAML null (``, `~`, `null`). */
  value: YamlValue | null;
  /** The value as written (for locations), or the key when there is none. */
  valueNode: Node;
  location: SourceLocation;
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);

/** A manifest's YAML document, its positions and the problems found so far. */
export class ManifestSource {
  readonly problems: Problem[] = [];
  /** Anchored nodes by anchor name, in document order (an anchor may be redefined). */
  private readonly anchors = new Map<string, { offset: number; node: Node }[]>();

  constructor(
    readonly file: string,
    private readonly lineCounter: LineCounter,
    doc: Document.Parsed,
  ) {
    visit(doc, (_key, node) => {
      if ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor && node.range) {
        const list = this.anchors.get(node.anchor) ?? [];
        list.push({ offset: node.range[0], node });
        this.anchors.set(node.anchor, list);
      }
    });
  }

  /** File, line and column (1-based) of a character offset. */
  at(offset: number): SourceLocation {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line: Math.max(1, line), column: Math.max(1, col) };
  }

  /** Where a node starts. */
  locate(node: Node | null | undefined): SourceLocation {
    return this.at(node?.range?.[0] ?? 0);
  }

  /** Records one problem at a node or location. */
  report(
    code: ManifestProblemCode,
    message: string,
    where: Node | SourceLocation | null | undefined,
    hint?: string,
  ): void {
    const location =
      where && 'line' in where ? where : this.locate(where as Node | null | undefined);
    // Messages quote what the file says: no control character of it reaches a terminal.
    this.problems.push({
      code,
      message: escapeUnsafe(message),
      file: location.file,
      line: location.line,
      column: location.column,
      ...(hint === undefined ? {} : { hint: escapeUnsafe(hint) }),
    });
  }

  /** The value a node stands for, following an alias to its anchor; null for YAML null or a dangling alias. */
  resolve(node: unknown): YamlValue | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      const target = this.anchors
        .get(node.source)
        ?.filter((a) => a.offset < offset)
        .at(-1);
      if (!target) {
        this.report(
          'MANIFEST_BAD_ALIAS',
          `alias \`*${node.source}\` refers to no anchor before it`,
          node,
          `define \`&${node.source}\` before using \`*${node.source}\``,
        );
        return null;
      }
      return this.resolve(target.node);
    }
    if (isScalar(node))
      return node.type === 'PLAIN' && NULLS.has(String(node.value ?? '')) ? null : node;
    if (isMap(node) || isSeq(node)) return node;
    return null;
  }

  /** The entries of a mapping; reports keys that are not names and keys written twice (the first one wins). */
  entries(map: YAMLMap, context: string): MapEntry[] {
    const seen = new Map<string, SourceLocation>();
    const result: MapEntry[] = [];
    for (const pair of map.items) {
      const keyNode = (pair.key ?? null) as Node | null;
      const key = isAlias(keyNode) ? this.resolve(keyNode) : keyNode;
      const valueNode = (pair.value ?? keyNode ?? map) as Node;
      if (!isScalar(key)) {
        this.report(
          'MANIFEST_WRONG_TYPE',
          `a key in ${context} is ${describe(key)}, not a name`,
          keyNode ?? valueNode,
          'keys are plain names',
        );
        continue;
      }
      const name = String(key.value ?? '');
      const location = this.locate(keyNode);
      const first = seen.get(name);
      if (first) {
        this.report(
          'MANIFEST_DUPLICATE_KEY',
          `\`${name}\` appears twice in ${context} (first at line ${first.line})`,
          location,
          'YAML keeps only one of them: merge the two into one entry',
        );
        continue;
      }
      seen.set(name, location);
      result.push({
        key: name,
        keyNode: keyNode!,
        value: this.resolve(pair.value),
        valueNode,
        location,
      });
    }
    return result;
  }

  /** Reports an unknown key, suggesting the closest known one. */
  unknownKey(entry: MapEntry, known: string[], context: string): void {
    const suggestion = closestName(entry.key, known);
    const hint =
      entry.key === '<<'
        ? 'YAML merge keys are not supported; write the keys out, or alias the whole value'
        : suggestion
          ? `did you mean \`${suggestion}\`?`
          : `known keys: ${known.join(', ')}`;
    this.report(
      'MANIFEST_UNKNOWN_KEY',
      `unknown key \`${entry.key}\` in ${context}`,
      entry.keyNode,
      hint,
    );
  }
}

/** The text of a scalar value, or undefined when the value is a mapping or a list. */
export function scalarText(value: YamlValue | null): string | undefined {
  return isScalar(value) ? String(value.value ?? '') : undefined;
}

/** Describes a value for a "wrong type" message. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (isMap(value)) return 'a mapping';
  if (isSeq(value)) return 'a list';
  if (isScalar(value)) return `the text \`${String(value.value ?? '')}\``;
  if (isAlias(value)) return 'an alias';
  return 'not a value';
}
