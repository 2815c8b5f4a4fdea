import type { AppliedStatement } from '../apply-migration.js';

/** Explicit transaction blocks of each file, read from BEGIN / COMMIT / ROLLBACK statements. */
export interface TransactionBlocks {
  /** The BEGIN each statement runs under, when it runs inside an explicit transaction block. */
  openedBy: Map<AppliedStatement, AppliedStatement>;
  /** BEGIN statements issued while a block is already open. */
  nestedBegins: AppliedStatement[];
  /** COMMIT / ROLLBACK with no block open in the file: they end the runner's transaction. */
  strayEnds: AppliedStatement[];
  /** BEGIN statements whose file ends before COMMIT or ROLLBACK. */
  unclosed: AppliedStatement[];
}

/** Reads each file's explicit transaction blocks (a file is run on its own, so blocks do not span files). */
export function transactionBlocks(statements: AppliedStatement[]): TransactionBlocks {
  const blocks: TransactionBlocks = {
    openedBy: new Map(),
    nestedBegins: [],
    strayEnds: [],
    unclosed: [],
  };
  let file: string | undefined;
  let open: AppliedStatement | undefined;
  for (const s of statements) {
    if (s.statement.file !== file) {
      if (open) blocks.unclosed.push(open);
      open = undefined;
      file = s.statement.file;
    }
    const tx = s.facts.transaction;
    if (tx === 'begin') {
      if (open) blocks.nestedBegins.push(s);
      else open = s;
    } else if (tx === 'commit' || tx === 'rollback') {
      if (!open) blocks.strayEnds.push(s);
      open = undefined;
    } else if (open) {
      blocks.openedBy.set(s, open);
    }
  }
  if (open) blocks.unclosed.push(open);
  return blocks;
}
