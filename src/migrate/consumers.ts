import type { Contract, Manifest } from '../manifest/types.js';
import { ownerOfTable } from '../manifest/ownership.js';
import { serviceOfRole } from '../manifest/types.js';
import { formatRefPart, formatTableRef } from '../manifest/table-ref.js';
import type { CatalogSnapshot } from '../catalog-types.js';
import { tableKey, temporaryColumnName } from './names.js';
import type { OldShapeStatement } from './observed.js';
import { declaredRenameUses, renameChange } from './operations/rename-table.js';
import type { MigrationPlan, OldShapeColumn } from './plan-types.js';
import type { StatementCounter, TableName } from './types.js';

/** A consumer that still uses the old shape, how pgpact knows, and what it must change. */
export interface OldShapeUse {
  /** The manifest service, when known. */
  service?: string;
  /** The database role (observed uses). */
  role?: string;
  /** declared: a manifest contract; observed: pg_stat_statements; dependency: a view or foreign key in the catalog. */
  source: 'declared' | 'observed' | 'dependency';
  access: 'read' | 'write';
  /** `schema.table.column` of the old shape it uses. */
  columns: string[];
  /** Of `columns`, those its INSERT leaves out that complete makes NOT NULL (observed uses). */
  omitted?: string[];
  /** Whether this use stops `complete` (a type change under the same name only warns). */
  blocking: boolean;
  /** The change that ends this use: a manifest edit or a deployment. */
  change: string;
  /** Declared: where the contract is written (`file:line`). */
  location?: string;
  /** Dependency: the view that reads the old column (`schema.view`). */
  view?: string;
  /** Dependency: the foreign key that references the old column (`schema.table.constraint`). */
  foreignKey?: string;
  /** Dependency: another object that depends on the old shape (`policy p on table t`, a generated column...). */
  object?: string;
  /** Observed on a replica: its label (host:port or its name in the manifest). */
  server?: string;
  /** Observed live (move_table's old names): how, a lock on the view or a session's last statement. */
  seen?: ('lock' | 'last statement')[];
  /** Observed: pg_stat_statements on Postgres 18 cannot tell the old name's calls from the new one's. */
  ambiguous?: boolean;
  /** Observed: the statement and how recently its count changed. */
  statement?: {
    queryId: string;
    query: string;
    callsSinceStart: number;
    lastChangeSeenAt: string;
    quietUntil?: string;
  };
}

function columnKey(table: TableName, column: string): string {
  return `${tableKey(table)}.${column}`;
}

function list(columns: string[]): string {
  return `[${columns.map(formatRefPart).join(', ')}]`;
}

/** The columns a table has once the migration completes, in catalog order. */
function finalColumns(catalog: CatalogSnapshot, plan: MigrationPlan, table: TableName): string[] {
  const relation = catalog.relations.find(
    (r) => r.schema === table.schema && r.name === table.name,
  );
  const mine = plan.oldShape.filter((o) => tableKey(o.table) === tableKey(table));
  const dropped = new Set(mine.filter((o) => o.blocking).map((o) => o.column));
  // A type change under the same name lives in a temporary column until complete renames it.
  const temporary = new Set(
    mine.filter((o) => !o.blocking).map((o) => temporaryColumnName(o.column)),
  );
  return (relation?.columns ?? [])
    .map((c) => c.name)
    .filter((name) => !dropped.has(name) && !temporary.has(name));
}

/** Uses declared in the manifest: contracts naming an old column, or `*` on a table whose shape changes. */
export function declaredUses(
  manifest: Manifest,
  plan: MigrationPlan,
  catalog: CatalogSnapshot,
): OldShapeUse[] {
  const uses: OldShapeUse[] = [];
  for (const service of manifest.services) {
    for (const contract of [...service.reads, ...service.writes]) {
      const table = { schema: contract.schema, name: contract.table };
      const ref = formatTableRef(contract.schema, contract.table);
      const verb = contract.access === 'read' ? 'reads' : 'writes';
      const location = `${contract.location.file}:${contract.location.line}`;
      if (plan.droppedTables.some((t) => tableKey(t) === tableKey(table))) {
        uses.push({
          service: service.name,
          source: 'declared',
          access: contract.access,
          columns: [`${tableKey(table)}.*`],
          blocking: true,
          change: `${service.name}: remove ${verb} ${ref} (the table is dropped)`,
          location,
        });
        continue;
      }
      const old = plan.oldShape.filter((o) => tableKey(o.table) === tableKey(table));
      const used =
        contract.columns === '*'
          ? old
          : old.filter((o) => (contract.columns as string[]).includes(o.column));
      if (used.length === 0) continue;
      uses.push({
        service: service.name,
        source: 'declared',
        access: contract.access,
        columns: used.map((o) => columnKey(o.table, o.column)),
        blocking: used.some((o) => o.blocking),
        change: `${service.name}: change ${verb} ${ref} from ${describeColumns(contract)} to ${list(newContractColumns(contract, used, catalog, plan, table))}`,
        location,
      });
    }
  }
  return [...uses, ...declaredRenameUses(manifest, plan)];
}

function describeColumns(contract: Contract): string {
  return contract.columns === '*' ? '"*"' : list(contract.columns);
}

/** The contract's columns with each old column replaced by what replaces it (`*` becomes the final column list). */
function newContractColumns(
  contract: Contract,
  used: OldShapeColumn[],
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  table: TableName,
): string[] {
  if (contract.columns === '*') return finalColumns(catalog, plan, table);
  const out: string[] = [];
  for (const column of contract.columns) {
    const old = used.find((o) => o.column === column);
    for (const name of old ? old.replacedBy : [column]) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Uses observed in pg_stat_statements since start. A statement blocks until its
 * call count has stayed the same for `quietForMs` between two checks; the
 * counts seen are returned so the caller can store them for the next check.
 */
export function observedUses(
  statements: OldShapeStatement[],
  plan: MigrationPlan,
  manifest: Manifest | undefined,
  previous: Record<string, StatementCounter>,
  quietForMs: number,
  now = new Date(),
): { uses: OldShapeUse[]; observations: Record<string, StatementCounter> } {
  const observations: Record<string, StatementCounter> = {};
  const uses: OldShapeUse[] = [];
  for (const s of statements) {
    // pgpact's own roles (the admin, a DBA's psql as the bootstrap superuser) are nobody's
    // consumers; a service of the manifest that logs in as one still is.
    if (s.own !== undefined && !(manifest && serviceOfRole(manifest, s.role))) continue;
    const prev = previous[s.key];
    const unchanged = prev !== undefined && prev.calls === s.calls;
    const seenAt = unchanged ? prev.seenAt : now.toISOString();
    observations[s.key] = { calls: s.calls, seenAt };
    const quietSince = new Date(seenAt).getTime();
    const quiet = unchanged && now.getTime() - quietSince >= quietForMs;
    const omits = s.omits ?? [];
    const columns = [...new Set([...s.reads, ...s.writes, ...omits])];
    const old = plan.oldShape.filter((o) => columns.includes(columnKey(o.table, o.column)));
    const blocking =
      !quiet && (old.length === 0 || old.some((o) => o.blocking) || omits.length > 0);
    const service = manifest ? serviceOfRole(manifest, s.role)?.name : undefined;
    const who = service ?? `role ${s.role}`;
    const replacements = [
      ...new Set(old.flatMap((o) => o.replacedBy.filter((r) => r !== o.column))),
    ];
    const oldNames = [...new Set(old.map((o) => o.column))];
    // An INSERT leaving out a column complete makes NOT NULL: the sync trigger fills it until
    // then; after complete the INSERT fails.
    const omitted =
      omits.length > 0 && old.length === 0
        ? `${who}: deploy a version whose INSERT gives ${omits.map((k) => k.slice(k.lastIndexOf('.') + 1)).join(', ')}: complete makes ${omits.length === 1 ? 'it' : 'them'} NOT NULL without a default, and the INSERT would fail`
        : undefined;
    const change =
      omitted ??
      renameChange(plan, who, s.relations ?? [], columns) ??
      (replacements.length > 0
        ? `${who}: deploy a version that uses ${replacements.join(', ')} instead of ${oldNames.join(', ')}`
        : `${who}: deploy a version that no longer uses ${oldNames.length > 0 ? oldNames.join(', ') : 'the dropped table'}`);
    uses.push({
      ...(service === undefined ? {} : { service }),
      role: s.role,
      source: 'observed',
      access: s.writes.length > 0 || omits.length > 0 ? 'write' : 'read',
      columns,
      ...(omits.length > 0 ? { omitted: omits } : {}),
      blocking,
      change,
      statement: {
        queryId: s.queryId,
        query: s.query,
        callsSinceStart: s.callsSinceStart,
        lastChangeSeenAt: seenAt,
        ...(blocking ? { quietUntil: new Date(quietSince + quietForMs).toISOString() } : {}),
      },
    });
  }
  return { uses, observations };
}

/**
 * What complete's DROP would fail on (pgpact never cascades), so it blocks even with
 * --force: views and materialized views that read an old column (or a dropped table),
 * and foreign keys that reference one.
 */
export function dependentObjects(
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  manifest: Manifest | undefined,
): OldShapeUse[] {
  return [
    ...dependentViews(catalog, plan, manifest),
    ...referencingForeignKeys(catalog, plan, manifest),
  ];
}

/** The old shape a dependent object uses on one table: the whole table when dropped, else the old columns it names. */
function oldShapeUsed(plan: MigrationPlan, table: TableName, columns: string[]): string[] {
  if (plan.droppedTables.some((t) => tableKey(t) === tableKey(table)))
    return [`${tableKey(table)}.*`];
  return plan.oldShape
    .filter(
      (o) => o.blocking && tableKey(o.table) === tableKey(table) && columns.includes(o.column),
    )
    .map((o) => columnKey(table, o.column));
}

/** A use by a catalog object of the relation `holder` (a view, or a table's foreign key): blocking, even with --force. */
function dependencyUse(
  holder: { schema: string; name: string; owner: string },
  manifest: Manifest | undefined,
  columns: string[],
  object: Pick<OldShapeUse, 'view' | 'foreignKey'>,
  todo: string,
): OldShapeUse {
  // The view's (or table's) own owner: in a shared schema, the service whose owns: pattern matches it.
  const owner = manifest ? ownerOfTable(manifest, holder.schema, holder.name) : undefined;
  return {
    ...(owner ? { service: owner.name } : {}),
    role: holder.owner,
    source: 'dependency',
    access: 'read',
    columns,
    blocking: true,
    ...object,
    change: `${owner?.name ?? `role ${holder.owner}`}: ${todo}, which ${object.view ? 'reads' : 'references'} ${columns.join(', ')} (complete would fail on it)`,
  };
}

/** Foreign keys of any table that reference an old column, or a table the migration drops. */
function referencingForeignKeys(
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  manifest: Manifest | undefined,
): OldShapeUse[] {
  const uses: OldShapeUse[] = [];
  for (const relation of catalog.relations) {
    const from = { schema: relation.schema, name: relation.name };
    for (const fk of relation.constraints) {
      if (fk.type !== 'f' || !fk.references) continue;
      const target = { schema: fk.references.schema, name: fk.references.name };
      // A key of a dropped table onto itself goes with it.
      if (
        tableKey(from) === tableKey(target) &&
        plan.droppedTables.some((t) => tableKey(t) === tableKey(target))
      )
        continue;
      const columns = oldShapeUsed(plan, target, fk.references.columns);
      if (columns.length === 0) continue;
      uses.push(
        dependencyUse(
          relation,
          manifest,
          columns,
          { foreignKey: `${tableKey(from)}.${fk.name}` },
          `drop or change foreign key ${fk.name} of ${tableKey(from)}`,
        ),
      );
    }
  }
  return uses;
}

/** Views and materialized views that read an old column (or a dropped table). */
function dependentViews(
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  manifest: Manifest | undefined,
): OldShapeUse[] {
  const uses: OldShapeUse[] = [];
  for (const view of catalog.relations) {
    if (view.kind !== 'view' && view.kind !== 'materialized_view') continue;
    const columns = (view.dependsOn ?? []).flatMap((dep) =>
      oldShapeUsed(plan, { schema: dep.schema, name: dep.name }, dep.columns),
    );
    if (columns.length === 0) continue;
    const name = `${view.schema}.${view.name}`;
    uses.push(
      dependencyUse(
        view,
        manifest,
        columns,
        { view: name },
        `redefine or drop ${view.kind === 'view' ? 'view' : 'materialized view'} ${name}`,
      ),
    );
  }
  return uses;
}
