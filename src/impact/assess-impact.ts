import type { Finding, Severity } from '../findings.js';
import type { Manifest } from '../manifest/types.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import type { UsageSnapshot } from '../usage/types.js';
import { type Change, changeObject } from './change.js';
import { type ConsumerHit, ConsumerIndex, toConsumerRefs } from './consumers.js';
import { describeConsumers } from './describe-consumers.js';
import { type StatementIndex, statementLocation } from './statement-index.js';
import { constraintWords, joinNames, suggestFor } from './suggestions.js';
import { isWidening } from './type-widening.js';

interface Impact {
  hits: ConsumerHit[];
  /** Severity when someone is affected. */
  severity: Severity;
}

function viewReaders(index: ConsumerIndex, change: Change): ConsumerHit[] {
  return (change.droppedViews ?? []).flatMap((v) =>
    index.usersOfTable(v.schema, v.name).map((h) => ({ ...h, via: `${v.schema}.${v.name}` })),
  );
}

function impactOf(change: Change, index: ConsumerIndex, base?: CatalogSnapshot): Impact {
  const rel = change.relation;
  const col = change.column;
  if (!rel) {
    const schema = change.schema ?? '';
    const tables =
      change.relations?.map((r) => r.name) ??
      base?.relations.filter((r) => r.schema === schema).map((r) => r.name) ??
      [];
    return { hits: index.usersOfSchema(schema, tables), severity: 'breaking' };
  }
  const { schema, name } = rel;
  switch (change.kind) {
    case 'column-dropped':
      return {
        hits: [...index.usersOfColumn(schema, name, col!), ...viewReaders(index, change)],
        severity: 'breaking',
      };
    case 'column-renamed':
      return { hits: index.usersOfColumn(schema, name, col!), severity: 'breaking' };
    case 'column-type-changed':
      // A widening keeps every stored value as it was; only new, longer values can surprise a reader.
      return {
        hits: index.usersOfColumn(schema, name, col!),
        severity: isWidening(change.fromType, change.toType) ? 'warning' : 'breaking',
      };
    case 'column-recreated':
      return {
        hits: index.usersOfColumn(schema, name, col!),
        severity: change.fromType === change.toType ? 'warning' : 'breaking',
      };
    case 'not-null-added':
      return {
        hits: change.detail ? index.writersOf(schema, name, [col!]) : index.writersOf(schema, name),
        severity: 'breaking',
      };
    case 'default-removed':
    case 'required-column-added':
      return { hits: index.writersOf(schema, name), severity: 'breaking' };
    case 'constraint-added':
      return {
        hits: index.writersOf(schema, name, change.constraint?.columns ?? []),
        severity: 'breaking',
      };
    case 'table-dropped':
      return {
        hits: [...index.usersOfTable(schema, name), ...viewReaders(index, change)],
        severity: 'breaking',
      };
    case 'table-renamed':
    case 'view-renamed':
    case 'view-dropped':
      return { hits: index.usersOfTable(schema, name), severity: 'breaking' };
    case 'table-recreated':
    case 'view-changed': {
      const lost = (change.lostColumns ?? []).flatMap((c) => index.usersOfColumn(schema, name, c));
      if (lost.length > 0) return { hits: lost, severity: 'breaking' };
      return { hits: index.usersOfTable(schema, name), severity: 'warning' };
    }
    default:
      return { hits: [], severity: 'info' };
  }
}

/** The sentence naming what changed, e.g. `column users.account.street_and_number is dropped`. */
export function describeChange(change: Change): string {
  const object = changeObject(change);
  const what = change.relation?.kind === 'view' ? 'view' : 'table';
  switch (change.kind) {
    case 'schema-dropped':
      return `schema ${object} is dropped${change.relations?.length ? ` with ${change.relations.length} relation(s)` : ''}`;
    case 'schema-renamed':
      return `schema ${object} is renamed to ${change.newName}`;
    case 'table-dropped':
    case 'view-dropped':
      return `${what} ${object} is dropped${change.droppedViews?.length ? ` (with dependent view ${joinNames(change.droppedViews.map((v) => `${v.schema}.${v.name}`))})` : ''}`;
    case 'table-renamed':
    case 'view-renamed':
      return `${what} ${object} is renamed to ${change.newName}`;
    case 'table-recreated':
      return `table ${object} is dropped and created again (its data and grants are lost${change.lostColumns?.length ? `; columns ${joinNames(change.lostColumns)} are gone or of another type` : ''})`;
    case 'column-dropped':
      return `column ${object} is dropped${change.droppedViews?.length ? ` (with dependent view ${joinNames(change.droppedViews.map((v) => `${v.schema}.${v.name}`))})` : ''}`;
    case 'column-renamed':
      return `column ${object} is renamed to ${change.newName}`;
    case 'column-recreated':
      return `column ${object} is dropped and added again (${change.fromType} → ${change.toType}; its data is lost)`;
    case 'column-type-changed':
      return isWidening(change.fromType, change.toType)
        ? `column ${object} widens its type from ${change.fromType} to ${change.toType} (stored values stay as they are)`
        : `column ${object} changes type from ${change.fromType} to ${change.toType}`;
    case 'not-null-added':
      return `column ${object} becomes NOT NULL${change.detail ? '' : ' (no default: every INSERT must write it)'}`;
    case 'default-removed':
      return `column ${object} loses its default ${change.detail ?? ''}`.trimEnd();
    case 'required-column-added':
      return `column ${object} is added NOT NULL without a default: every INSERT must now write it`;
    case 'constraint-added':
      return `${constraintWords(change.constraint?.type ?? 'c')} ${change.constraint?.name ?? ''} is added on ${object}: ${change.constraint?.definition ?? ''}`;
    case 'view-changed':
      return `view ${object} changes (${change.detail ?? 'definition changed'})${change.lostColumns?.length ? `: columns ${joinNames(change.lostColumns)} are gone or of another type` : ''}`;
    case 'column-added':
      return `column ${object} is added (${change.toType})`;
    case 'table-added':
      return `table ${object} is added`;
    case 'view-added':
      return `view ${object} is added`;
    default:
      return `${change.kind} on ${object}`;
  }
}

/**
 * Matches each change against declared contracts and observed usage: a change that
 * breaks someone is `breaking` (naming every consumer, declared or observed, with the
 * statement that causes it and the expand/contract alternative); the same change
 * nobody depends on is `info`.
 */
export function assessImpact(
  changes: Change[],
  manifest: Manifest,
  usage: UsageSnapshot | undefined,
  statements: StatementIndex,
  base?: CatalogSnapshot,
  consumers: ConsumerIndex = new ConsumerIndex(manifest, usage),
): Finding[] {
  const index = consumers;
  const added = new Map<string, string[]>();
  for (const c of changes) {
    if (
      (c.kind === 'column-added' || c.kind === 'required-column-added') &&
      c.relation &&
      c.column
    ) {
      const key = `${c.relation.schema}.${c.relation.name}`;
      added.set(key, [...(added.get(key) ?? []), c.column]);
    }
  }
  return changes.map((change) => {
    const { hits, severity } = impactOf(change, index, base);
    const consumers = toConsumerRefs(hits);
    const statement = statements.locate(change);
    const location = statement ? statementLocation(statement) : undefined;
    const cause = describeChange(change);
    // The shadow has no rows: a column added NOT NULL without a default to a table that has
    // some fails there (the live table), whoever reads it.
    const needsRows = change.kind === 'required-column-added' && consumers.length === 0;
    const affected = consumers.length > 0 ? severity : needsRows ? 'warning' : 'info';
    const relKey = change.relation ? `${change.relation.schema}.${change.relation.name}` : '';
    const message =
      consumers.length > 0
        ? `${cause}; ${describeConsumers(hits, manifest)}`
        : needsRows
          ? `${cause}; on a table that has rows the statement fails (nothing fills the existing rows)`
          : severity === 'info'
            ? cause
            : `${cause}; no declared or observed consumer depends on it`;
    const suggestion =
      consumers.length > 0
        ? suggestFor(change, {
            consumers: consumers.map((c) => c.service),
            addedColumns: added.get(relKey) ?? [],
          })
        : needsRows
          ? 'give it a DEFAULT, or add it nullable, fill it, then SET NOT NULL (pgpact migrate: add_column with up and nullable: false)'
          : severity === 'info'
            ? 'nothing to do'
            : 'safe for other services as far as pgpact knows: no contract declares it and no service was observed using it';
    return {
      severity: affected,
      kind: change.kind,
      object: changeObject(change),
      consumers,
      ...(location ? { location } : {}),
      message,
      suggestion,
    };
  });
}
