/**
 * The first manifest of an existing database: one service per login role that owns or writes
 * tables, `owns:` covering exactly its tables, `reads:`/`writes:` from observed use of other
 * services' tables, `enforcement: audit`, and comments naming what needs a human decision.
 */
import { Document, isSeq, visit } from 'yaml';
import { formatTableRef } from '../manifest/table-ref.js';
import type { PartitionRoot } from '../postgres/catalog.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { describeOwnRole, type OwnRoles } from '../postgres/own-roles.js';
import type { RoleUsage, UsageSnapshot } from '../usage/types.js';
import {
  type OwnershipProposal,
  proposeOwnership,
  TABLE_KINDS,
  type TableName,
  tableKey,
} from './propose-ownership.js';
import { ownsEntries, type SchemaTables } from './table-patterns.js';

/** What a first manifest is made from. */
export interface FirstManifestInput {
  catalog: CatalogSnapshot;
  own: OwnRoles;
  /** Observed use since the last pg_stat_statements reset; undefined when it could not be read. */
  usage?: UsageSnapshot;
  /** Why usage is missing (shown in the file). */
  usageUnavailable?: string;
  /** Partitions and their root tables (readPartitionRoots): a partition follows its root. */
  partitions?: readonly PartitionRoot[];
  /** The time written in the header. */
  now?: Date;
  /** pg_stat_statements dropped entries since its reset (readStatementEvictions): writers may be missing. */
  evicted?: { evictions: number; max?: number };
}

/** The manifest text and what it was decided from. */
export interface FirstManifest {
  text: string;
  proposal: OwnershipProposal;
  /** service name → owns entries. */
  owns: Map<string, string[]>;
  /** Login roles that only read: not services (observe reports them). */
  readersOnly: string[];
  /** The warning written when pg_stat_statements dropped entries, if it did. */
  incompleteUse?: string;
}

/** Relations that block a pattern: everything in the schema a service does not keep. */
const PATTERN_KINDS = new Set([...TABLE_KINDS, 'view', 'materialized_view']);

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function relationParts(usage: UsageSnapshot, key: string): TableName {
  const known = usage.relations?.[key];
  if (known) return { schema: known.schema, table: known.table };
  const dot = key.indexOf('.');
  return { schema: key.slice(0, dot), table: key.slice(dot + 1) };
}

/** tableKey → the roles that wrote it, from the observed usage (pgpact's own roles left out). */
function writersOf(usage: UsageSnapshot | undefined): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  for (const role of usage?.roles ?? []) {
    if (role.pgpactRole !== undefined) continue;
    for (const key of Object.keys(role.relationsWritten)) {
      const { schema, table } = relationParts(usage!, key);
      const k = tableKey(schema, table);
      if (!writers.has(k)) writers.set(k, new Set());
      writers.get(k)!.add(role.role);
    }
  }
  return writers;
}

/** The columns a role read or wrote per relation key ('schema.table' → columns). */
function columnsByRelation(
  relations: Record<string, unknown>,
  columns: Record<string, unknown>,
): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const key of Object.keys(relations)) result.set(key, new Set());
  const keys = [...result.keys()].sort((a, b) => b.length - a.length);
  for (const column of Object.keys(columns)) {
    const key = keys.find((k) => column.startsWith(`${k}.`));
    if (key) result.get(key)!.add(column.slice(key.length + 1));
  }
  return result;
}

function ownsOf(
  role: string,
  proposal: OwnershipProposal,
  catalog: CatalogSnapshot,
  mineKeys: ReadonlySet<string>,
): string[] {
  const schemas = new Set<string>([
    ...(proposal.tables.get(role) ?? []).map((t) => t.schema),
    ...(proposal.schemas.get(role) ?? []),
  ]);
  const list: SchemaTables[] = [];
  for (const schema of schemas) {
    const mine: string[] = [];
    const others: string[] = [];
    for (const rel of catalog.relations) {
      if (rel.schema !== schema || !PATTERN_KINDS.has(rel.kind)) continue;
      if (mineKeys.has(tableKey(rel.schema, rel.name))) mine.push(rel.name);
      else if (TABLE_KINDS.has(rel.kind) || rel.owner !== role) others.push(rel.name);
    }
    list.push({ schema, mine, others });
  }
  return ownsEntries(list);
}

/** The contracts a role's observed use of other services' tables needs. */
function contractsOf(
  role: RoleUsage,
  usage: UsageSnapshot,
  ownerOf: ReadonlyMap<string, string>,
  unowned: ReadonlySet<string>,
  catalog: CatalogSnapshot,
  notes: string[],
): { reads: Record<string, string[]>; writes: Record<string, string[]> } {
  const result = { reads: {} as Record<string, string[]>, writes: {} as Record<string, string[]> };
  for (const [kind, relations, columns] of [
    ['reads', role.relationsRead, role.reads],
    ['writes', role.relationsWritten, role.writes],
  ] as const) {
    for (const [key, used] of [...columnsByRelation(relations, columns)].sort(([a], [b]) =>
      byName(a, b),
    )) {
      const { schema, table } = relationParts(usage, key);
      const owner = ownerOf.get(tableKey(schema, table));
      if (owner === undefined && kind === 'reads' && unowned.has(tableKey(schema, table)))
        notes.push(
          `${role.role} read ${formatTableRef(schema, table)}, which nobody owns: no contract until it has an owner`,
        );
      if (owner === undefined || owner === role.role) continue;
      let names = [...used].sort(byName);
      if (names.length === 0) {
        const first = catalog.relations.find((r) => r.schema === schema && r.name === table)
          ?.columns[0]?.name;
        if (first === undefined) continue;
        names = [first];
        notes.push(
          `${role.role} ${kind === 'reads' ? 'read' : 'wrote'} ${formatTableRef(schema, table)} without naming a column (count(*), DELETE, TRUNCATE): one column declares the table`,
        );
      }
      result[kind][formatTableRef(schema, table)] = names;
    }
  }
  return result;
}

function ref(t: TableName): string {
  return formatTableRef(t.schema, t.table);
}

/** Builds the first manifest (text with comments) from the catalog and the observed use. */
export function buildFirstManifest(input: FirstManifestInput): FirstManifest {
  const { catalog, own, usage } = input;
  const roots = new Map(
    (input.partitions ?? []).map((p) => [
      tableKey(p.schema, p.name),
      tableKey(p.rootSchema, p.rootName),
    ]),
  );
  const proposal = proposeOwnership(catalog, own, writersOf(usage), roots);
  const ownerOf = new Map<string, string>();
  for (const [role, tables] of proposal.tables)
    for (const t of tables) ownerOf.set(tableKey(t.schema, t.table), role);
  const unownedKeys = new Set(proposal.unowned.map((u) => tableKey(u.schema, u.table)));
  const roles = [...new Set([...proposal.tables.keys(), ...proposal.schemas.keys()])].sort(byName);
  const notes: string[] = [];
  const services: Record<string, Record<string, unknown>> = {};
  const owns = new Map<string, string[]>();
  for (const role of roles) {
    const mineKeys = new Set(
      (proposal.tables.get(role) ?? []).map((t) => tableKey(t.schema, t.table)),
    );
    const entry: Record<string, unknown> = {};
    const list = ownsOf(role, proposal, catalog, mineKeys);
    owns.set(role, list);
    if (list.length > 0) entry.owns = list;
    const used = usage?.roles.find((r) => r.role === role);
    if (used && usage) {
      const { reads, writes } = contractsOf(used, usage, ownerOf, unownedKeys, catalog, notes);
      if (Object.keys(reads).length > 0) entry.reads = reads;
      if (Object.keys(writes).length > 0) entry.writes = writes;
    }
    services[role] = entry;
  }
  const login = new Set(catalog.roles.filter((r) => r.canLogin).map((r) => r.name));
  const readersOnly = (usage?.roles ?? [])
    .filter(
      (r) =>
        r.pgpactRole === undefined &&
        !own.has(r.role) &&
        login.has(r.role) &&
        services[r.role] === undefined &&
        Object.keys(r.relationsRead).length > 0,
    )
    .map((r) => r.role)
    .sort(byName);

  const header: string[] = [
    `First manifest of database ${catalog.database}, written by pgpact init${input.now ? ` at ${input.now.toISOString()}` : ''}.`,
    'enforcement: audit grants broadly and only reports: apply with it changes no query result.',
    'Review it, commit it, then run pgpact observe and declare what the findings name.',
  ];
  if (input.usageUnavailable !== undefined)
    header.push(
      `No observed use (${input.usageUnavailable}): services and owners come from table owners alone, no reads:.`,
    );
  else if (usage) header.push(`Observed use: pg_stat_statements until ${usage.takenAt}.`);
  const incompleteUse = input.evicted
    ? `pg_stat_statements dropped its least-used statements ${input.evicted.evictions} time${input.evicted.evictions === 1 ? '' : 's'} since its last reset to make room${input.evicted.max === undefined ? '' : ` (pg_stat_statements.max = ${input.evicted.max})`}: some writes may be missing, so a table "written by no service role" may have one. Raise pg_stat_statements.max, reset it (SELECT pg_stat_statements_reset()) and run init again after a full cycle of traffic.`
    : undefined;
  if (incompleteUse && usage) header.push(`Warning: ${incompleteUse}`);
  if (proposal.adminOwnsAll)
    header.push(
      `Every table is owned by ${proposal.tableOwners.join(', ')}, which is no service: owners are proposed from writers (a table written by exactly one service role is that service's).`,
    );
  const ownList = [...own].map(([role, kind]) => describeOwnRole(role, kind));
  header.push(`Never services, pgpact's own roles: ${ownList.sort(byName).join(', ')}.`);
  const disagreements = proposal.disagreements.filter((d) => d.owner !== undefined);
  if (disagreements.length > 0) {
    header.push('Tables written by roles other than their owner (declared under writes:):');
    for (const d of disagreements)
      header.push(`  ${ref(d)}: owned by ${d.owner}, written by ${d.writers.join(', ')}`);
  }
  if (proposal.unowned.length > 0) {
    header.push('Tables nobody owns (no service role owns them, and not exactly one writes them):');
    for (const u of proposal.unowned)
      header.push(
        `  ${ref(u)}: owned by ${u.dbOwner}, ${u.writers.length === 0 ? 'written by no service role' : `written by ${u.writers.join(', ')}`}`,
      );
  }
  // Views the admin owns in a schema some service owns tables of: plan reports each of them.
  const claimed = new Set([...proposal.tables.values()].flat().map((t) => t.schema));
  const views = proposal.unownedViews.filter((v) => claimed.has(v.schema));
  if (views.length > 0)
    header.push(
      `Views nobody owns (apply grants nothing on them and leaves them as they are; add each to the owns: of the service whose data it shows): ${views.map(ref).join(', ')}.`,
    );
  if (readersOnly.length > 0)
    header.push(
      `Login roles that only read (not services; pgpact observe reports them as unknown roles): ${readersOnly.join(', ')}.`,
    );
  for (const n of notes) header.push(n);

  const doc = new Document({
    version: 1,
    enforcement: 'audit',
    services,
  });
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.length <= 8) node.flow = true;
    },
  });
  // Names from the database may hold line breaks: escaped, so a comment stays a comment.
  doc.commentBefore = header
    .map(
      (line) =>
        ` ${line.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`,
    )
    .join('\n');
  const body =
    roles.length === 0
      ? `${doc.commentBefore
          .split('\n')
          .map((l) => `#${l}`)
          .join('\n')}\nversion: 1\nenforcement: audit\nservices: {}\n`
      : doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  return {
    text: body,
    proposal,
    owns,
    readersOnly,
    ...(incompleteUse && usage ? { incompleteUse } : {}),
  };
}
