import type { Queryable } from '../postgres/client.js';
import type { ActiveMigration } from './bookkeeping.js';
import { compatibilityViewDependents } from './move-table-consumers.js';
import { definitionOf } from './operations/registry.js';
import { renamedTables } from './operations/rename-table.js';
import { qualified } from './plan-sql.js';
import { MARKER } from './sql-run.js';
import type { TableName } from './types.js';

/**
 * What a DROP of pgpact's would fail on (pgpact never cascades): objects that depend, in
 * pg_depend, on a column or table it drops or an index it removes — a view, a foreign key,
 * a generated column, a policy, a trigger on a column... For a rollback: what depends on the
 * new shape; for complete: what depends on the old one. Checked before the first DROP, so the
 * command refuses instead of stopping half way.
 */

/** An object that would make a DROP fail, and what it depends on. */
export interface RollbackBlocker {
  /** e.g. `view public.v`, `constraint "fk" of shop.other`. */
  object: string;
  /** e.g. `column street of table users.account`. */
  uses: string;
}

/** The columns and tables the migration added: what its rollback drops. */
function addedShape(active: ActiveMigration): { table: TableName; column: string | null }[] {
  const out: { table: TableName; column: string | null }[] = [];
  const created = new Set<string>();
  const footprints = active.migration.operations.map((o) => definitionOf(o).footprint(o));
  for (const f of footprints) {
    if (!f.createsTable || !f.table) continue;
    created.add(qualified(f.table));
    out.push({ table: f.table, column: null });
  }
  // rename_table's view under the new name: what new code built on it goes first.
  for (const r of renamedTables(active.plan)) out.push({ table: r.to, column: null });
  for (const f of footprints) {
    if (!f.table || created.has(qualified(f.table))) continue;
    for (const column of [...(f.added ?? []), ...(f.replacements ?? [])])
      out.push({ table: f.table, column });
  }
  return out;
}

/** Objects outside the migration that depend on what its rollback drops. */
export async function rollbackBlockers(
  client: Queryable,
  active: ActiveMigration,
): Promise<RollbackBlocker[]> {
  const indexes = active.plan.rollback.flatMap((s) =>
    s.kind === 'drop-index' ? [qualified({ schema: s.schema, name: s.name })] : [],
  );
  const own = active.migration.operations.flatMap((o) => {
    const { table, constraints = [] } = definitionOf(o).footprint(o);
    return table ? constraints.map((name) => ({ table: qualified(table), name })) : [];
  });
  // A move's rollback drops its compatibility view: what is built on the view blocks it.
  const onViews = (await compatibilityViewDependents(client, active.plan)).map((u) => ({
    object: u.object!,
    uses: `the compatibility view ${u.columns[0]!.slice(0, -2)}`,
  }));
  return [...(await dependentsOf(client, addedShape(active), indexes, own, false)), ...onViews];
}

/**
 * Objects that depend on the old shape complete drops and that consumers.ts does not report
 * already (views and foreign keys it names with their own advice): a policy, a generated
 * column, a trigger on a column, a rule...
 */
export async function completeBlockers(
  client: Queryable,
  active: ActiveMigration,
): Promise<RollbackBlocker[]> {
  const shape = [
    ...active.plan.droppedTables.map((table) => ({ table, column: null })),
    ...active.plan.oldShape
      .filter((o) => o.blocking)
      .map((o) => ({ table: o.table, column: o.column as string | null })),
  ];
  // A type change under the same name drops the old column too, but its readers are not
  // reported elsewhere (they keep working): only what would stop the DROP counts here.
  const retyped = active.plan.oldShape
    .filter((o) => !o.blocking)
    .map((o) => ({ table: o.table, column: o.column as string | null }));
  // rename_table's view under the new name, while it is one (complete renames the table onto it).
  const views: { table: TableName; column: string | null }[] = [];
  for (const r of renamedTables(active.plan)) {
    const { rows } = await client.query<{ ok: boolean }>(
      `${MARKER} SELECT to_regclass($1) IS NOT NULL AS ok`,
      [qualified(r.from)],
    );
    if (rows[0]?.ok) views.push({ table: r.to, column: null });
  }
  return [
    ...(await dependentsOf(client, shape, [], [], true)),
    ...(retyped.length > 0 ? await dependentsOf(client, retyped, [], [], false) : []),
    ...(views.length > 0 ? await dependentsOf(client, views, [], [], false) : []),
  ];
}

async function dependentsOf(
  client: Queryable,
  shape: { table: TableName; column: string | null }[],
  indexes: string[],
  own: { table: string; name: string }[],
  reportedElsewhere: boolean,
): Promise<RollbackBlocker[]> {
  const targets = shape.map((t) => ({ table: qualified(t.table), column: t.column }));
  const { rows } = await client.query<{ object: string; uses: string }>(
    `${MARKER}
     WITH target AS (
       SELECT to_regclass(t->>'table') AS relid, t->>'column' AS col FROM jsonb_array_elements($1::jsonb) t
     ), tables AS (
       SELECT relid FROM target WHERE col IS NULL AND relid IS NOT NULL
     ), cols AS (
       SELECT a.attrelid AS relid, a.attnum FROM target t
       JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = t.col AND a.attnum > 0 AND NOT a.attisdropped
     ), indexes AS (
       SELECT to_regclass(x) AS relid FROM jsonb_array_elements_text($2::jsonb) x
     ), own AS (
       SELECT k.oid FROM jsonb_array_elements($3::jsonb) o
       JOIN pg_constraint k ON k.conrelid = to_regclass(o->>'table') AND k.conname = o->>'name'
     ), dependents AS (
       SELECT d.* FROM pg_depend d
       WHERE d.deptype = 'n' AND d.refclassid = 'pg_class'::regclass
         AND (EXISTS (SELECT 1 FROM cols c WHERE c.relid = d.refobjid AND c.attnum = d.refobjsubid)
           OR d.refobjid IN (SELECT relid FROM tables)
           OR d.refobjid IN (SELECT relid FROM indexes WHERE relid IS NOT NULL))
     )
     SELECT DISTINCT
       CASE
         WHEN d.classid = 'pg_rewrite'::regclass THEN (
           SELECT CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || r.ev_class::regclass::text
           FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
         WHEN d.classid = 'pg_constraint'::regclass THEN (
           SELECT format('constraint %I of %s', conname, conrelid::regclass) FROM pg_constraint WHERE oid = d.objid)
         ELSE pg_describe_object(d.classid, d.objid, d.objsubid)
       END AS object,
       pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS uses
     FROM dependents d
     WHERE NOT (d.classid = 'pg_constraint'::regclass AND (d.objid IN (SELECT oid FROM own) OR EXISTS (
         SELECT 1 FROM pg_constraint k WHERE k.oid = d.objid AND (k.conrelid IN (SELECT relid FROM tables)
           OR EXISTS (SELECT 1 FROM cols c WHERE c.relid = k.conrelid AND c.attnum = ANY (k.conkey))))))
       AND NOT (d.classid = 'pg_trigger'::regclass AND EXISTS (
         SELECT 1 FROM pg_trigger g WHERE g.oid = d.objid
           AND (g.tgrelid IN (SELECT relid FROM tables) OR g.tgname LIKE 'zz\\_pgpact\\_sync\\_%')))
       AND NOT (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT relid FROM tables))
       AND NOT (d.classid = 'pg_rewrite'::regclass AND EXISTS (
         SELECT 1 FROM pg_rewrite r WHERE r.oid = d.objid AND r.ev_class IN (SELECT relid FROM tables)))
       AND NOT (d.classid = 'pg_attrdef'::regclass AND EXISTS (
         SELECT 1 FROM pg_attrdef ad WHERE ad.oid = d.objid AND (ad.adrelid IN (SELECT relid FROM tables)
           OR EXISTS (SELECT 1 FROM cols c WHERE c.relid = ad.adrelid AND c.attnum = ad.adnum))))
       AND NOT ($4 AND (d.classid = 'pg_rewrite'::regclass OR (d.classid = 'pg_constraint'::regclass
         AND EXISTS (SELECT 1 FROM pg_constraint k WHERE k.oid = d.objid AND k.contype = 'f'))))
     ORDER BY 1, 2`,
    [JSON.stringify(targets), JSON.stringify(indexes), JSON.stringify(own), reportedElsewhere],
  );
  return rows;
}
