import type { Change } from './change.js';
import { isWidening } from './type-widening.js';

/** Context a suggestion may use: who depends on the object, what else the migration does. */
export interface SuggestionContext {
  /** Consumer service names, for the sentence. */
  consumers: string[];
  /** Columns the same migration adds to the same table (a split, when a column is dropped). */
  addedColumns: string[];
}

/** "a", "a and b", "a, b and c". */
export function joinNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

const CONSTRAINT_WORDS: Record<string, string> = {
  c: 'CHECK constraint',
  u: 'UNIQUE constraint',
  p: 'PRIMARY KEY',
  f: 'FOREIGN KEY',
  x: 'EXCLUSION constraint',
  i: 'unique index',
};

/** Human words for a constraint type letter. */
export function constraintWords(type: string): string {
  return CONSTRAINT_WORDS[type] ?? 'constraint';
}

/** The expand/contract alternative to a breaking change. */
export function suggestFor(change: Change, ctx: SuggestionContext): string {
  const who = ctx.consumers.length > 0 ? joinNames(ctx.consumers) : 'its readers';
  const col = change.column ?? '';
  switch (change.kind) {
    case 'column-dropped':
      if (ctx.addedColumns.length > 0) {
        return `expand/contract: add ${joinNames(ctx.addedColumns)}, keep ${col} in sync until ${who} move; use \`pgpact migrate\` with split_column, and drop ${col} only once nobody reads it`;
      }
      return `keep ${col} until ${who} stop reading it (announce it, let them move), then drop it in a later migration; \`pgpact migrate complete\` refuses while it is still read`;
    case 'column-renamed':
      return `expand/contract: add ${change.newName} next to ${col} and keep both in sync with a trigger (or expose the old name through a view) until ${who} move; use \`pgpact migrate\` with rename_column`;
    case 'column-type-changed':
      if (isWidening(change.fromType, change.toType)) {
        return `make sure ${who} accept the wider ${change.toType} values (e.g. where they copy ${col} into a column of their own or check its length)`;
      }
      return `expand/contract: add a new column of type ${change.toType}, backfill it in batches and keep it in sync with a trigger until ${who} move; use \`pgpact migrate\` with change_type`;
    case 'column-recreated':
      return `alter ${col} in place instead of dropping and adding it again: its data is lost and ${who} see a new column`;
    case 'not-null-added':
      return `add CHECK (${col} IS NOT NULL) NOT VALID first, make sure every write by ${who} sets ${col}, VALIDATE CONSTRAINT, then SET NOT NULL (no scan since Postgres 12)`;
    case 'default-removed':
      return `keep the default until every INSERT by ${who} names ${col}`;
    case 'required-column-added':
      return `add ${col} with a DEFAULT (or nullable), let every INSERT by ${who} name it, then add NOT NULL`;
    case 'constraint-added': {
      const type = change.constraint?.type ?? 'c';
      if (type === 'u' || type === 'p' || type === 'i' || type === 'x') {
        return `confirm no write by ${who} can violate it; build the index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX`;
      }
      return `add it NOT VALID (only new writes are checked), confirm every write by ${who} passes it, then VALIDATE CONSTRAINT in a later migration`;
    }
    case 'table-dropped':
      return `keep the table until ${who} stop reading it; if it moves, leave a view under the old name meanwhile`;
    case 'table-renamed':
    case 'view-renamed':
      return `rename it and leave a view under the old name (simple views are updatable) until ${who} move; drop the view afterwards`;
    case 'table-recreated':
      return `alter the table in place instead of dropping and creating it: data, grants and dependent views are lost, ${who} read an empty table`;
    case 'schema-dropped':
      return `keep the schema's tables until ${who} stop reading them`;
    case 'schema-renamed':
      return `keep the old schema name (or views in it) until ${who} move`;
    case 'view-dropped':
      return `keep the view until ${who} stop reading it; if its base column goes away, keep the view returning it from the new shape`;
    case 'view-changed':
      return change.lostColumns && change.lostColumns.length > 0
        ? `keep the old view as it is and publish the new shape under a new name until ${who} move`
        : `check that ${who} still get the rows and values they expect; publish a changed meaning under a new view name`;
    default:
      return 'nothing to do: no consumer is affected';
  }
}
