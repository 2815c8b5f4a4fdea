import { closestName } from '../manifest/closest.js';
import type { Fields } from './fields.js';
import {
  type Operation,
  PGPACT_OPERATIONS,
  PGROLL_ONLY_OPERATIONS,
  PGROLL_UNSUPPORTED,
  spellingOf,
} from './operations/registry.js';
import type { ReadContext, SqlToCheck } from './read-column.js';
import type { TableName } from './types.js';

/** Reads one operation mapping `{ kind: {...} }` through the registry's reader of that key; problems go to the source. */
export function readOperation(op: Fields, ctx: ReadContext): Operation | Operation[] | undefined {
  const keys = Object.keys(op.value);
  if (keys.length !== 1) {
    op.report(
      undefined,
      `an operation is a mapping with exactly one key (its kind), found ${keys.length}`,
      `kinds: ${PGPACT_OPERATIONS.join(', ')}`,
    );
    return undefined;
  }
  const kind = keys[0]!;
  const unsupported = PGROLL_UNSUPPORTED[kind];
  if (unsupported !== undefined) {
    op.report(kind, `the pgroll operation \`${kind}\` is not supported`, unsupported);
    return undefined;
  }
  const spelling = spellingOf(kind);
  if (!spelling) {
    const known = [...PGPACT_OPERATIONS, ...PGROLL_ONLY_OPERATIONS];
    const suggestion = closestName(kind, known);
    op.report(
      kind,
      `unknown operation \`${kind}\``,
      suggestion ? `did you mean \`${suggestion}\`?` : `kinds: ${known.join(', ')}`,
    );
    return undefined;
  }
  const body = op.object(kind, `${kind}`, true);
  if (!body) return undefined;
  return spelling.read(body, ctx);
}

/** Whether a table name is the same as another. */
export function sameTable(a: TableName, b: TableName): boolean {
  return a.schema === b.schema && a.name === b.name;
}

export { PGPACT_OPERATIONS, PGROLL_ONLY_OPERATIONS, PGROLL_UNSUPPORTED };
export type { ReadContext, SqlToCheck };
