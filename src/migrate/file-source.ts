import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Problem } from '../errors.js';

/**
 * A migration file (YAML or JSON, both read by the YAML parser) turned into
 * plain values, with the line and column of every value kept by its path
 * (`operations.0.split_column.from`) so that problems point at the file.
 */
export class MigrationSource {
  readonly problems: Problem[] = [];
  readonly value: unknown;
  private readonly positions = new Map<string, { line: number; column: number }>();

  constructor(
    readonly file: string,
    text: string,
  ) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      this.problems.push({
        code: 'MIGRATION_SYNTAX',
        message: error.message.split('\n')[0]!,
        file,
        line: Math.max(1, line),
        column: Math.max(1, col),
      });
    }
    const walk = (node: unknown, path: string): unknown => {
      const range = (node as Node | null)?.range;
      if (range) {
        const { line, col } = lineCounter.linePos(range[0]);
        this.positions.set(path, { line: Math.max(1, line), column: Math.max(1, col) });
      }
      if (isMap(node)) {
        const out: Record<string, unknown> = {};
        for (const pair of node.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          const keyRange = (pair.key as Node | null)?.range;
          const childPath = path === '' ? key : `${path}.${key}`;
          if (keyRange) {
            const { line, col } = lineCounter.linePos(keyRange[0]);
            this.positions.set(`${childPath}#key`, {
              line: Math.max(1, line),
              column: Math.max(1, col),
            });
          }
          out[key] = walk(pair.value, childPath);
        }
        return out;
      }
      if (isSeq(node))
        return node.items.map((item, i) => walk(item, path === '' ? String(i) : `${path}.${i}`));
      if (isScalar(node)) return node.value;
      return node === null || node === undefined ? null : undefined;
    };
    this.value = doc.errors.length > 0 ? undefined : walk(doc.contents, '');
  }

  /** Records a problem at a path (the nearest located ancestor when the path itself has no position). */
  report(path: string, message: string, hint?: string, code = 'MIGRATION_INVALID'): void {
    let probe = path;
    let position = this.positions.get(`${probe}#key`) ?? this.positions.get(probe);
    while (!position && probe.includes('.')) {
      probe = probe.slice(0, probe.lastIndexOf('.'));
      position = this.positions.get(`${probe}#key`) ?? this.positions.get(probe);
    }
    this.problems.push({
      code,
      message,
      file: this.file,
      ...(position ? { line: position.line, column: position.column } : {}),
      ...(hint === undefined ? {} : { hint }),
    });
  }
}
