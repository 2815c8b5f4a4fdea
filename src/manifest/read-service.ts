/** Reading one entry of `services:` into a Service, with the locations cross-checks need. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isMap, isSeq } from 'yaml';
import { closestName } from './closest.js';
import {
  checkIdentifier,
  checkOwnedSchemaName,
  checkRoleName,
  checkText,
  printable,
} from './names.js';
import { readContracts } from './read-contracts.js';
import { readLimits } from './read-limits.js';
import { readOwnsEntry, type TablePattern } from './table-pattern.js';
import type { Enforcement, Service, SourceLocation } from './types.js';
import {
  describe,
  type ManifestSource,
  type MapEntry,
  scalarText,
  type YamlValue,
} from './yaml-source.js';

/** The keys a service accepts. */
export const SERVICE_KEYS = [
  'role',
  'team',
  'contact',
  'enforcement',
  'owns',
  'reads',
  'writes',
  'limits',
  'migrations',
];

/** The enforcement modes. */
export const ENFORCEMENTS: Enforcement[] = ['enforce', 'audit'];

/** A service as read, plus where its role and owned schemas are written (for cross-checks). */
export interface ServiceDraft {
  service: Service;
  roleLocation: SourceLocation;
  ownsLocations: SourceLocation[];
}

/** Reads an enforcement value; undefined (after reporting) when it is not a mode. */
export function readEnforcement(
  source: ManifestSource,
  value: YamlValue | null,
  context: string,
): Enforcement | undefined {
  const text = scalarText(value);
  if (text !== undefined && value !== null && (ENFORCEMENTS as string[]).includes(text))
    return text as Enforcement;
  const suggestion = text === undefined ? undefined : closestName(text, ENFORCEMENTS);
  source.report(
    'MANIFEST_BAD_VALUE',
    `\`enforcement\` ${context} is ${describe(value)}, not \`enforce\` or \`audit\``,
    value,
    suggestion
      ? `did you mean \`${suggestion}\`?`
      : '`enforce` grants exactly what is declared; `audit` grants broadly and reports violations',
  );
  return undefined;
}

function readText(source: ManifestSource, entry: MapEntry, context: string): string | undefined {
  if (entry.value === null) return undefined;
  const text = scalarText(entry.value);
  if (text === undefined) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `\`${entry.key}\` ${context} is ${describe(entry.value)}, not text`,
      entry.value,
      `write \`${entry.key}: some text\``,
    );
  }
  return text;
}

function readOwns(
  source: ManifestSource,
  entry: MapEntry,
  context: string,
): { names: string[]; locations: SourceLocation[]; tables: TablePattern[] } {
  const names: string[] = [];
  const locations: SourceLocation[] = [];
  const tables: TablePattern[] = [];
  if (entry.value === null) return { names, locations, tables };
  if (!isSeq(entry.value)) {
    const text = scalarText(entry.value);
    source.report(
      'MANIFEST_WRONG_TYPE',
      `\`owns\` ${context} is ${describe(entry.value)}, not a list of schemas`,
      entry.value,
      text === undefined ? 'write `owns: [schema, ...]`' : `write \`owns: [${printable(text)}]\``,
    );
    return { names, locations, tables };
  }
  for (const item of entry.value.items) {
    const value = source.resolve(item);
    const name = scalarText(value);
    const location = source.locate(item as import('yaml').Node);
    if (name === undefined || value === null) {
      source.report(
        'MANIFEST_WRONG_TYPE',
        `an entry of \`owns\` ${context} is ${describe(value)}, not a schema name`,
        location,
        'write `owns: [schema, ...]`',
      );
      continue;
    }
    const read = readOwnsEntry(name);
    if (read.kind === 'invalid') {
      source.report(
        'MANIFEST_BAD_TABLE_REF',
        `\`${printable(name)}\` in \`owns\` ${context} is neither a schema nor a table pattern: ${read.message}`,
        location,
        'write a schema (`users`) or `schema.table`, where the table part may use `*` (`public.batch_*`); double-quote a part holding a dot or a quote (`"Public"."Weird.Name"`)',
      );
      continue;
    }
    const issue =
      read.kind === 'schema'
        ? checkOwnedSchemaName(read.name)
        : (checkOwnedSchemaName(read.schema) ?? checkIdentifier(read.table, 'table'));
    if (issue) {
      source.report(issue.code, issue.message, location, issue.hint);
      continue;
    }
    if (read.kind === 'table') {
      tables.push({
        schema: read.schema,
        table: read.table,
        literal: read.literal,
        text: name,
        location,
      });
      continue;
    }
    names.push(read.name);
    locations.push(location);
  }
  return { names, locations, tables };
}

function readMigrations(
  source: ManifestSource,
  entry: MapEntry,
  context: string,
  dir: string,
): string | undefined {
  const text = readText(source, entry, context);
  if (text === undefined) return undefined;
  const issue = checkText(text, `migrations folder ${context}`);
  if (issue) {
    source.report(issue.code, issue.message, entry.value, issue.hint);
    return undefined;
  }
  const path = isAbsolute(text) ? text : resolve(dir, text);
  let problem: string | undefined;
  try {
    if (!existsSync(path)) problem = 'does not exist';
    else if (!statSync(path).isDirectory()) problem = 'is not a folder';
  } catch {
    problem = 'cannot be read';
  }
  if (problem) {
    source.report(
      'MANIFEST_MIGRATIONS_NOT_FOUND',
      `migrations folder \`${printable(text)}\` ${context} ${problem} (looked at ${printable(path)})`,
      entry.value,
      'paths are relative to the manifest; create the folder (it holds ordered .sql files) or fix the path',
    );
    return undefined;
  }
  return path;
}

/** Reads one service; `dir` resolves relative paths, `enforcement` is the manifest-wide default. */
export function readService(
  source: ManifestSource,
  entry: MapEntry,
  dir: string,
  enforcement: Enforcement,
): ServiceDraft {
  const name = entry.key;
  const nameIssue = checkIdentifier(name, 'service');
  if (nameIssue) source.report(nameIssue.code, nameIssue.message, entry.keyNode, nameIssue.hint);
  const service: Service = {
    name,
    role: name,
    enforcement,
    owns: [],
    ownsTables: [],
    reads: [],
    writes: [],
    limits: {},
    location: entry.location,
  };
  const draft: ServiceDraft = { service, roleLocation: entry.location, ownsLocations: [] };
  const roleWritten = readServiceKeys(source, entry, dir, draft);
  // The service name doubles as the role: it must then be a role Postgres can create.
  if (!roleWritten && !nameIssue) {
    const issue = checkRoleName(name);
    if (issue)
      source.report(
        issue.code,
        `${issue.message} (the service name is its default role)`,
        entry.keyNode,
        issue.hint,
      );
  }
  return draft;
}

/** Reads the keys of a service into the draft; returns whether a role was written. */
function readServiceKeys(
  source: ManifestSource,
  entry: MapEntry,
  dir: string,
  draft: ServiceDraft,
): boolean {
  const { service } = draft;
  const name = entry.key;
  const context = `of service \`${printable(name)}\``;
  if (entry.value === null) return false;
  if (!isMap(entry.value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `service \`${printable(name)}\` is ${describe(entry.value)}, not a mapping`,
      entry.value,
      SERVICE_KEYS.includes(name)
        ? `\`${name}\` is a key of a service: indent it under the service's name`
        : "write the service's keys (role, owns, reads, writes, limits, migrations...) indented under its name",
    );
    return false;
  }
  let roleWritten = false;
  for (const item of source.entries(entry.value, `service \`${printable(name)}\``)) {
    switch (item.key) {
      case 'role': {
        const role = readText(source, item, context);
        if (role === undefined) break;
        roleWritten = true;
        const issue = checkRoleName(role);
        if (issue) source.report(issue.code, issue.message, item.value, issue.hint);
        service.role = role;
        draft.roleLocation = source.locate(item.value);
        break;
      }
      case 'team':
      case 'contact': {
        const text = readText(source, item, context);
        if (text === undefined) break;
        const issue = checkText(text, `${item.key} ${context}`);
        if (issue) source.report(issue.code, issue.message, item.value, issue.hint);
        service[item.key] = text;
        break;
      }
      case 'enforcement': {
        const mode = readEnforcement(source, item.value, context);
        if (mode) service.enforcement = mode;
        break;
      }
      case 'owns': {
        const owns = readOwns(source, item, context);
        service.owns = owns.names;
        service.ownsTables = owns.tables;
        draft.ownsLocations = owns.locations;
        break;
      }
      case 'reads':
        service.reads = readContracts(source, name, 'read', item.value);
        break;
      case 'writes':
        service.writes = readContracts(source, name, 'write', item.value);
        break;
      case 'limits':
        service.limits = readLimits(source, name, item.value);
        break;
      case 'migrations': {
        const path = readMigrations(source, item, context, dir);
        if (path !== undefined) service.migrations = path;
        break;
      }
      default:
        source.unknownKey(item, SERVICE_KEYS, `service \`${printable(name)}\``);
    }
  }
  return roleWritten;
}
