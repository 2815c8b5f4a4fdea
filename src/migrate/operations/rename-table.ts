import type { Manifest } from '../../manifest/types.js';
import { formatTableRef } from '../../manifest/table-ref.js';
import { findRelation } from '../../postgres/catalog.js';
import { quoteIdent, quoteLiteral } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import { doBlock, qualified } from '../plan-sql.js';
import { otherOperationsOn, type PlanState, problem } from '../plan-state.js';
import type { MigrationPlan } from '../plan-types.js';
import type { ReadContext } from '../read-column.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/**
 * pgroll's rename_table: old code keeps the table under its old name until complete, new code
 * reads and writes it under the new name from start. pgroll serves the new name through its
 * versioned schema's view and renames the table at complete; pgpact does the same in the
 * table's own schema: start adds an auto-updatable view under the new name (security_invoker,
 * the table's owner and privileges), complete drops it and renames the table in one
 * transaction, rollback drops the view. Readers of the old name block complete.
 */

export interface RenameTable {
  op: 'rename_table';
  /** The table as it is named now. */
  table: TableName;
  /** Its new name, in the same schema. */
  to: string;
}

/** A table renamed by the migration in progress: `from` until complete, `to` afterwards. */
export interface RenamedTable {
  from: TableName;
  to: TableName;
}

/** Reads `rename_table: { from, to }` (pgroll's fields; pgpact writes them the same way). */
function readRenameTable(f: Fields, ctx: ReadContext): RenameTable | undefined {
  const table = f.table('from', ctx.defaultSchema);
  const to = f.table('to', table?.schema ?? ctx.defaultSchema);
  f.reportUnknown();
  if (!table || !to) return undefined;
  if (to.schema !== table.schema) {
    f.report(
      'to',
      `rename_table renames a table within its schema (${table.schema}), not into ${to.schema}`,
      'write the new name alone',
    );
    return undefined;
  }
  return { op: 'rename_table', table, to: to.name };
}

/** The tables a plan renames (plans stored before rename_table have none). */
export function renamedTables(plan: MigrationPlan): RenamedTable[] {
  return plan.renamedTables ?? [];
}

/** Relations whose use by name is old shape: the tables complete drops or renames (`schema.table`). */
export function oldNameRelations(plan: MigrationPlan): Set<string> {
  return new Set([
    ...plan.droppedTables.map(tableKey),
    ...renamedTables(plan).map((r) => tableKey(r.from)),
  ]);
}

/** What a consumer using `relations` / `columns` by the old name must change, when it does. */
export function renameChange(
  plan: MigrationPlan,
  who: string,
  relations: string[],
  columns: string[],
): string | undefined {
  const used = renamedTables(plan).filter((r) => {
    const from = tableKey(r.from);
    return relations.includes(from) || columns.some((c) => c.startsWith(`${from}.`));
  });
  if (used.length === 0) return undefined;
  return `${who}: deploy a version that uses ${used.map((r) => `${tableKey(r.to)} instead of ${tableKey(r.from)}`).join(', ')}`;
}

/** Contracts of the manifest naming a renamed table by its old name: they block complete. */
export function declaredRenameUses(manifest: Manifest, plan: MigrationPlan) {
  const renamed = renamedTables(plan);
  return manifest.services.flatMap((service) =>
    [...service.reads, ...service.writes].flatMap((contract) => {
      const r = renamed.find(
        (x) => x.from.schema === contract.schema && x.from.name === contract.table,
      );
      if (!r) return [];
      const verb = contract.access === 'read' ? 'reads' : 'writes';
      return [
        {
          service: service.name,
          source: 'declared' as const,
          access: contract.access,
          columns: [`${tableKey(r.from)}.*`],
          blocking: true,
          change: `${service.name}: change ${verb} ${formatTableRef(r.from.schema, r.from.name)} to ${formatTableRef(r.to.schema, r.to.name)} (the table is renamed)`,
          location: `${contract.location.file}:${contract.location.line}`,
        },
      ];
    }),
  );
}

export const renameTable: OperationDefinition<RenameTable> = {
  kind: 'rename_table',
  spellings: [{ key: 'rename_table', format: 'pgpact', read: readRenameTable }],
  footprint: (o) => ({ table: o.table }),
  plan: planRenameTable,
};

/** Plans the view under the new name at start, the rename at complete, the view's drop at rollback. */
function planRenameTable(ctx: PlanState, o: RenameTable, i: number): void {
  const key = tableKey(o.table);
  const to: TableName = { schema: o.table.schema, name: o.to };
  const relation = findRelation(ctx.catalog, o.table.schema, o.table.name);
  if (!relation || (relation.kind !== 'table' && relation.kind !== 'partitioned_table')) {
    problem(ctx, i, `table ${key} does not exist`);
    return;
  }
  const taken = ctx.catalog.relations.some(
    (r) =>
      r.schema === to.schema && (r.name === to.name || r.indexes.some((x) => x.name === to.name)),
  );
  if (taken) problem(ctx, i, `a relation named ${tableKey(to)} already exists`);
  // Both names stand for one table until complete: another change to it waits for the next migration.
  const others = otherOperationsOn(ctx, i, [o.table, to]);
  if (others.length > 0)
    problem(
      ctx,
      i,
      `rename_table ${key} -> ${to.name} must be the only operation on the table in its migration`,
      'put the other changes in the next migration, naming the table by its new name',
    );
  const t = qualified(o.table);
  const view = qualified(to);
  ctx.plan.expand.push({
    kind: 'ddl',
    id: `rename-table:${key}`,
    description: `view ${tableKey(to)} on ${key}`,
    statements: [
      {
        // Simple enough to be auto-updatable: new code writes through it; the caller's own
        // privileges on the table apply (security_invoker), as they will once it is renamed.
        sql: `CREATE VIEW ${view} WITH (security_invoker = true) AS SELECT * FROM ${t}`,
        guard: { kind: 'table-exists', table: o.table },
      },
      { sql: copyOwnerAndPrivilegesSql(t, view), guard: { kind: 'table-exists', table: o.table } },
    ],
  });
  ctx.plan.complete.push({
    kind: 'ddl',
    id: `rename-table:complete:${key}`,
    description: `rename ${key} to ${to.name}`,
    statements: [
      { sql: `DROP VIEW IF EXISTS ${view}`, guard: { kind: 'table-exists', table: o.table } },
      {
        sql: `ALTER TABLE ${t} RENAME TO ${quoteIdent(to.name)}`,
        guard: { kind: 'table-exists', table: o.table },
      },
    ],
  });
  ctx.undo.tables.push({
    kind: 'ddl',
    id: `rollback:rename-table:${key}`,
    description: `drop view ${tableKey(to)}`,
    statements: [
      { sql: `DROP VIEW IF EXISTS ${view}`, guard: { kind: 'table-exists', table: o.table } },
    ],
  });
  ctx.plan.renamedTables = [...(ctx.plan.renamedTables ?? []), { from: o.table, to }];
}

/** The view gets the table's owner and its table and column privileges, read from the catalog when it runs. */
function copyOwnerAndPrivilegesSql(table: string, view: string): string {
  const t = quoteLiteral(table);
  const v = quoteLiteral(view);
  const grantee = `CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END`;
  return doBlock(
    `DECLARE table_owner name := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = ${t}::regclass); r record;
     BEGIN
       IF table_owner <> current_user AND pg_has_role(current_user, table_owner, 'MEMBER') THEN
         EXECUTE format('ALTER VIEW %s OWNER TO %I', ${v}, table_owner);
       END IF;
       FOR r IN SELECT a.privilege_type AS p, ${grantee} AS g FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.oid = ${t}::regclass AND a.grantee <> c.relowner LOOP
         EXECUTE format('GRANT %s ON %s TO %s', r.p, ${v}, r.g);
       END LOOP;
       FOR r IN SELECT x.attname AS col, a.privilege_type AS p, ${grantee} AS g
                 FROM pg_attribute x, aclexplode(x.attacl) a
                 WHERE x.attrelid = ${t}::regclass AND x.attnum > 0 AND NOT x.attisdropped LOOP
         EXECUTE format('GRANT %s (%I) ON %s TO %s', r.p, r.col, ${v}, r.g);
       END LOOP;
     END;`,
  );
}
