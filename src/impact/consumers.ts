import type { ConsumerRef } from '../findings.js';
import { ownerResolver } from '../manifest/ownership.js';
import { type Contract, type Manifest, serviceOfRole } from '../manifest/types.js';
import type { AccessCount, UsageSnapshot } from '../usage/types.js';

/** One service that depends on an object, and how pgpact knows. */
export interface ConsumerHit {
  /** The service name (or the role name, for a role no service uses). */
  service: string;
  source: 'declared' | 'observed';
  access: 'read' | 'write';
  /** Observed calls, when observed. */
  calls?: number;
  /** Set when the service depends on the object through a view. */
  via?: string;
  /** Whether the role is unknown to the manifest (a backup job, a report, a new team). */
  unknownRole?: boolean;
}

interface Observed {
  service: string;
  access: 'read' | 'write';
  calls: number;
  unknownRole: boolean;
}

const tableKey = (schema: string, table: string) => `${schema}.${table}`;

/**
 * Who depends on what: declared contracts and observed usage indexed by table and
 * column, so each change is matched in constant time. The owner of a table (its
 * schema whole, or a table pattern) is never its own consumer.
 */
export class ConsumerIndex {
  private readonly contracts = new Map<string, Contract[]>();
  private readonly observedColumns = new Map<string, Observed[]>();
  private readonly observedTables = new Map<string, Observed[]>();
  private readonly observedTableWrites = new Map<string, Observed[]>();
  private readonly owners: ReturnType<typeof ownerResolver>;

  constructor(manifest: Manifest, usage?: UsageSnapshot) {
    this.owners = ownerResolver(manifest);
    for (const service of manifest.services) {
      for (const c of [...service.reads, ...service.writes]) {
        const key = tableKey(c.schema, c.table);
        this.contracts.set(key, [...(this.contracts.get(key) ?? []), c]);
      }
    }
    for (const role of usage?.roles ?? []) {
      // pgpact's own roles and the admin's (migrations, backfills) are nobody's consumers.
      if (role.pgpactRole !== undefined) continue;
      const known = role.service ?? serviceOfRole(manifest, role.role)?.name;
      const service = known ?? role.role;
      const add = (
        map: Map<string, Observed[]>,
        key: string,
        access: 'read' | 'write',
        count: AccessCount,
      ) => {
        const list = map.get(key) ?? [];
        const existing = list.find((o) => o.service === service && o.access === access);
        if (existing) existing.calls += count.calls;
        else list.push({ service, access, calls: count.calls, unknownRole: known === undefined });
        map.set(key, list);
      };
      for (const [access, entries] of [
        ['read', role.reads],
        ['write', role.writes],
      ] as const) {
        for (const [column, count] of Object.entries(entries ?? {})) {
          add(this.observedColumns, column, access, count);
          const dot = column.lastIndexOf('.');
          if (dot > 0) add(this.observedTables, column.slice(0, dot), access, count);
          if (dot > 0 && access === 'write')
            add(this.observedTableWrites, column.slice(0, dot), access, count);
        }
      }
      for (const [table, count] of Object.entries(role.relationsRead ?? {}))
        add(this.observedTables, table, 'read', count);
      for (const [table, count] of Object.entries(role.relationsWritten ?? {})) {
        add(this.observedTables, table, 'write', count);
        add(this.observedTableWrites, table, 'write', count);
      }
    }
  }

  /** The service owning a table (its schema whole, or a table pattern): never its own consumer. */
  private ownerOf(schema: string, table: string): string | undefined {
    return this.owners(schema, table)?.name;
  }

  private declared(
    schema: string,
    table: string,
    access: 'read' | 'write' | 'any',
    columns?: string[],
  ): ConsumerHit[] {
    const owner = this.ownerOf(schema, table);
    return (this.contracts.get(tableKey(schema, table)) ?? [])
      .filter((c) => c.service !== owner && (access === 'any' || c.access === access))
      .filter(
        (c) =>
          columns === undefined ||
          c.columns === '*' ||
          columns.length === 0 ||
          columns.some((col) => (c.columns as string[]).includes(col)),
      )
      .map((c) => ({ service: c.service, source: 'declared' as const, access: c.access }));
  }

  private observed(
    list: Observed[] | undefined,
    schema: string,
    table: string,
    access: 'read' | 'write' | 'any',
  ): ConsumerHit[] {
    const owner = this.ownerOf(schema, table);
    return (list ?? [])
      .filter((o) => o.service !== owner && (access === 'any' || o.access === access))
      .map((o) => ({
        service: o.service,
        source: 'observed' as const,
        access: o.access,
        calls: o.calls,
        ...(o.unknownRole ? { unknownRole: true } : {}),
      }));
  }

  /** Everyone who reads or writes the table (any column), declared or observed. */
  usersOfTable(schema: string, table: string): ConsumerHit[] {
    return [
      ...this.declared(schema, table, 'any'),
      ...this.observed(this.observedTables.get(tableKey(schema, table)), schema, table, 'any'),
    ];
  }

  /** Everyone who reads or writes the column (a `*` contract counts). */
  usersOfColumn(schema: string, table: string, column: string): ConsumerHit[] {
    return [
      ...this.declared(schema, table, 'any', [column]),
      ...this.observed(
        this.observedColumns.get(`${tableKey(schema, table)}.${column}`),
        schema,
        table,
        'any',
      ),
    ];
  }

  /** Everyone who writes any of the columns; with no columns, everyone who writes the table. */
  writersOf(schema: string, table: string, columns: string[] = []): ConsumerHit[] {
    const observed =
      columns.length === 0
        ? this.observedTableWrites.get(tableKey(schema, table))
        : columns.flatMap((c) => this.observedColumns.get(`${tableKey(schema, table)}.${c}`) ?? []);
    return [
      ...this.declared(schema, table, 'write', columns),
      ...this.observed(observed, schema, table, 'write'),
    ];
  }

  /** The services using any relation of a schema. */
  usersOfSchema(schema: string, tables: string[]): ConsumerHit[] {
    const hits: ConsumerHit[] = [];
    const names = new Set(tables);
    for (const list of this.contracts.values()) {
      if (list[0]?.schema === schema) names.add(list[0].table);
    }
    for (const key of this.observedTables.keys()) {
      if (key.startsWith(`${schema}.`)) names.add(key.slice(schema.length + 1));
    }
    for (const t of names) hits.push(...this.usersOfTable(schema, t));
    return hits;
  }
}

/** One reference per service: declared wins over observed (the message keeps both). */
export function toConsumerRefs(hits: ConsumerHit[]): ConsumerRef[] {
  const byService = new Map<string, ConsumerRef>();
  for (const h of hits) {
    const prev = byService.get(h.service);
    if (!prev || (prev.source === 'observed' && h.source === 'declared'))
      byService.set(h.service, { service: h.service, source: h.source });
  }
  return [...byService.values()].sort((a, b) => a.service.localeCompare(b.service));
}
