/** Reading a service's `reads:` / `writes:`: table references mapped to column lists or "*". */
import { isMap, isSeq } from 'yaml';
import { checkIdentifier, printable } from './names.js';
import { parseTableRef } from './table-ref.js';
import type { Contract, SourceLocation } from './types.js';
import { describe, type ManifestSource, scalarText, type YamlValue } from './yaml-source.js';

const REF_HINT =
  'write `schema.table`; quote a part that contains a dot or a double quote like SQL, e.g. \'"My Schema"."Tab.le"\': [id] (single quotes around the whole key, so YAML keeps the double quotes)';

/** Reads one service's reads or writes mapping into contracts, reporting every problem. */
export function readContracts(
  source: ManifestSource,
  service: string,
  access: 'read' | 'write',
  value: YamlValue | null,
): Contract[] {
  const key = access === 'read' ? 'reads' : 'writes';
  const context = `\`${key}\` of service \`${service}\``;
  if (value === null) return [];
  if (!isMap(value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `${context} is ${describe(value)}, not a mapping`,
      value,
      `write one \`schema.table: [column, ...]\` or \`schema.table: "*"\` per line`,
    );
    return [];
  }
  const contracts: Contract[] = [];
  const byTable = new Map<string, SourceLocation>();
  for (const entry of source.entries(value, context)) {
    const ref = parseTableRef(entry.key);
    if (!ref.ok) {
      source.report(
        'MANIFEST_BAD_TABLE_REF',
        `bad table reference \`${printable(entry.key)}\` in ${context}: ${ref.message}`,
        entry.keyNode,
        REF_HINT,
      );
      continue;
    }
    let namesOk = true;
    for (const [name, what] of [
      [ref.schema, 'schema'],
      [ref.table, 'table'],
    ] as const) {
      const issue = checkIdentifier(name, what);
      if (issue) {
        source.report(issue.code, issue.message, entry.keyNode, issue.hint);
        namesOk = false;
      }
    }
    const identity = JSON.stringify([ref.schema, ref.table]);
    const first = byTable.get(identity);
    if (first) {
      source.report(
        'MANIFEST_DUPLICATE_CONTRACT',
        `table \`${printable(ref.schema)}\`.\`${printable(ref.table)}\` is listed twice in ${context} (first at line ${first.line})`,
        entry.keyNode,
        'merge the two column lists into one entry',
      );
      continue;
    }
    byTable.set(identity, entry.location);
    const columns = readColumns(
      source,
      `${context}, table \`${printable(entry.key)}\``,
      entry.value,
      entry.value === null ? entry.keyNode : entry.valueNode,
    );
    // Kept even when its columns are wrong, so cross-checks still see the table.
    if (!namesOk) continue;
    contracts.push({
      service,
      access,
      schema: ref.schema,
      table: ref.table,
      columns: columns?.names ?? [],
      location: entry.location,
      columnLocations: columns?.locations ?? [],
    });
  }
  return contracts;
}

function readColumns(
  source: ManifestSource,
  context: string,
  value: YamlValue | null,
  valueNode: import('yaml').Node,
): { names: '*' | string[]; locations: SourceLocation[] } | undefined {
  const listHint = 'write a list of columns like [id, name], or "*" (quoted) for every column';
  if (value === null) {
    source.report(
      'MANIFEST_EMPTY_COLUMNS',
      `no columns listed for ${context}`,
      valueNode,
      listHint,
    );
    return undefined;
  }
  const text = scalarText(value);
  if (text !== undefined) {
    if (text === '*') return { names: '*', locations: [] };
    source.report(
      'MANIFEST_WRONG_TYPE',
      `columns of ${context} are ${describe(value)}, not a list`,
      value,
      listHint,
    );
    return undefined;
  }
  if (!isSeq(value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `columns of ${context} are ${describe(value)}, not a list`,
      value,
      listHint,
    );
    return undefined;
  }
  if (value.items.length === 0) {
    source.report(
      'MANIFEST_EMPTY_COLUMNS',
      `the column list of ${context} is empty`,
      value,
      'list at least one column, or remove the entry',
    );
    return undefined;
  }
  const names: string[] = [];
  const locations: SourceLocation[] = [];
  const seen = new Map<string, SourceLocation>();
  let ok = true;
  for (const item of value.items) {
    const column = source.resolve(item);
    const name = scalarText(column);
    const location = source.locate(item as import('yaml').Node);
    if (name === undefined || column === null) {
      source.report(
        'MANIFEST_WRONG_TYPE',
        `a column of ${context} is ${describe(column)}, not a column name`,
        location,
        listHint,
      );
      ok = false;
      continue;
    }
    if (name === '*') {
      source.report(
        'MANIFEST_STAR_IN_LIST',
        `"*" inside the column list of ${context}`,
        location,
        'write "*" instead of the list to declare every column',
      );
      ok = false;
      continue;
    }
    const issue = checkIdentifier(name, 'column');
    if (issue) {
      source.report(issue.code, issue.message, location, issue.hint);
      ok = false;
      continue;
    }
    const first = seen.get(name);
    if (first) {
      source.report(
        'MANIFEST_DUPLICATE_COLUMN',
        `column \`${printable(name)}\` is listed twice for ${context} (first at line ${first.line}, column ${first.column})`,
        location,
        'remove the repeated column',
      );
      continue;
    }
    seen.set(name, location);
    names.push(name);
    locations.push(location);
  }
  return ok ? { names, locations } : undefined;
}
