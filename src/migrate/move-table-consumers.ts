import type { CatalogSnapshot } from '../catalog-types.js';
import { formatTableRef } from '../manifest/table-ref.js';
import { formatOwnedSchema } from '../manifest/table-pattern.js';
import { ownerOfSchema, ownerOfTable } from '../manifest/ownership.js';
import { type Manifest, serviceOfRole } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { analyzeStatement } from '../sql/analyze.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import type { OldShapeUse } from './consumers.js';
import type { MovedTable } from './operations/move-table.js';
import { tableKey } from './names.js';
import type { StatementCount } from './observed.js';
import { isMarked, MARKER } from './sql-run.js';
import type { MigrationPlan } from './plan-types.js';
import type { StatementCounter } from './types.js';

/**
 * Who still uses the old name of a table move_table moved: contracts naming it, statements
 * run through the compatibility view since start, and catalog objects built on the view.
 */

function moved(plan: MigrationPlan): MovedTable[] {
  return plan.movedTables ?? [];
}

/** Contracts naming the old name (blocking), and the owns: entry the owner should add (advice). */
export function declaredMoveUses(manifest: Manifest, plan: MigrationPlan): OldShapeUse[] {
  const uses: OldShapeUse[] = [];
  for (const m of moved(plan)) {
    const oldRef = formatTableRef(m.from.schema, m.from.name);
    const newRef = formatTableRef(m.to.schema, m.to.name);
    for (const service of manifest.services) {
      for (const contract of [...service.reads, ...service.writes]) {
        if (contract.schema !== m.from.schema || contract.table !== m.from.name) continue;
        const verb = contract.access === 'read' ? 'reads' : 'writes';
        uses.push({
          service: service.name,
          source: 'declared',
          access: contract.access,
          columns: [`${tableKey(m.from)}.*`],
          blocking: true,
          change: `${service.name}: in pgpact.yaml, change ${verb} ${oldRef} to ${verb} ${newRef} (same columns)`,
          location: `${contract.location.file}:${contract.location.line}`,
        });
      }
    }
    const owner = ownerOfTable(manifest, m.from.schema, m.from.name);
    const newOwner = ownerOfSchema(manifest, m.to.schema);
    if (owner && newOwner?.name !== owner.name)
      uses.push({
        service: owner.name,
        source: 'declared',
        access: 'write',
        columns: [`${tableKey(m.from)}.*`],
        blocking: false,
        change: newOwner
          ? `${owner.name} owns ${oldRef}, but schema ${m.to.schema} is owned by ${newOwner.name}: decide who owns ${newRef} in pgpact.yaml`
          : `${owner.name}: in pgpact.yaml, add ${formatOwnedSchema(m.to.schema)} to owns (the table is ${newRef} now); the entry for ${oldRef} can go after complete`,
      });
  }
  return uses;
}

/**
 * Views and other objects built on a compatibility view: complete's DROP VIEW (never
 * CASCADE) would fail on them, so they block even --force, and they block rollback too.
 */
export async function compatibilityViewDependents(
  client: Queryable,
  plan: MigrationPlan,
): Promise<OldShapeUse[]> {
  const list = moved(plan);
  if (list.length === 0) return [];
  const { rows } = await client.query<{ object: string; view: string }>(
    `${MARKER}
     WITH moved AS (
       SELECT m->>'from_schema' AS from_schema, m->>'name' AS name, m->>'to_schema' AS to_schema
       FROM jsonb_array_elements($1::jsonb) m
     ), compat AS (
       SELECT c.oid, format('%s.%s', mv.from_schema, mv.name) AS view
       FROM moved mv
       JOIN pg_namespace n ON n.nspname = mv.from_schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = mv.name AND c.relkind = 'v'
       JOIN pg_namespace tn ON tn.nspname = mv.to_schema
       JOIN pg_class t ON t.relnamespace = tn.oid AND t.relname = mv.name AND t.relkind = 'r'
       WHERE EXISTS (SELECT 1 FROM pg_rewrite rw JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
         WHERE rw.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid)
     )
     SELECT DISTINCT
       CASE WHEN d.classid = 'pg_rewrite'::regclass THEN (
         SELECT CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || r.ev_class::regclass::text
         FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
       ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END AS object,
       compat.view
     FROM compat JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = compat.oid AND d.deptype = 'n'
     -- Before Postgres 16 a view's own rule names the view (its OLD and NEW entries).
     WHERE NOT (d.classid = 'pg_rewrite'::regclass
       AND EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.oid = d.objid AND r.ev_class = compat.oid))
     ORDER BY 1, 2`,
    [
      JSON.stringify(
        list.map((m) => ({
          from_schema: m.from.schema,
          name: m.from.name,
          to_schema: m.to.schema,
        })),
      ),
    ],
  );
  return rows.map((r) => ({
    object: r.object,
    source: 'dependency',
    access: 'read',
    columns: [`${r.view}.*`],
    blocking: true,
    ...(r.object.startsWith('view ') ? { view: r.object.slice(5) } : {}),
    change: `redefine ${r.object} on the new name (or drop it): it is built on the compatibility view ${r.view}, which complete drops (pgpact never cascades)`,
  }));
}

/** Views and foreign keys on the moved table: they hold its oid and follow it, so they are named, not blocking. */
export function objectsFollowingMove(catalog: CatalogSnapshot, plan: MigrationPlan): OldShapeUse[] {
  const uses: OldShapeUse[] = [];
  for (const m of moved(plan)) {
    const newKey = tableKey(m.to);
    for (const r of catalog.relations) {
      const follows =
        (r.kind === 'view' || r.kind === 'materialized_view') &&
        (r.dependsOn ?? []).some((d) => tableKey({ schema: d.schema, name: d.name }) === newKey) &&
        tableKey(r) !== tableKey(m.from);
      const keys = r.constraints.filter(
        (c) =>
          c.type === 'f' &&
          c.references &&
          tableKey({ schema: c.references.schema, name: c.references.name }) === newKey &&
          tableKey(r) !== newKey,
      );
      if (follows)
        uses.push({
          object: `${r.kind === 'view' ? 'view' : 'materialized view'} ${tableKey(r)}`,
          view: tableKey(r),
          source: 'dependency',
          access: 'read',
          columns: [`${newKey}.*`],
          blocking: false,
          change: `nothing to change: ${tableKey(r)} reads the table itself and follows it to ${newKey}`,
        });
      for (const k of keys)
        uses.push({
          object: `foreign key ${k.name} of ${tableKey(r)}`,
          foreignKey: `${tableKey(r)}.${k.name}`,
          source: 'dependency',
          access: 'read',
          columns: [`${newKey}.*`],
          blocking: false,
          change: `nothing to change: foreign key ${k.name} of ${tableKey(r)} references the table itself and follows it to ${newKey}`,
        });
    }
  }
  return uses;
}

/**
 * Statements run through the old name since start. Only entries new since the baseline count:
 * up to Postgres 17, pg_stat_statements identifies a statement by the relation it resolves to,
 * so an entry that existed before the move is the table's (new code naming the new name adds to
 * it, its text still naming the old one), while a statement through the view is a new entry.
 * Postgres 18 identifies it by the relation's name (not its schema): the view's and the table's
 * statements are one entry, so a baseline entry whose count rose is ambiguous (`groupsByName`):
 * named, not blocking; live signals (live-move-use.ts) and contracts block instead.
 */
export async function observedMoveUses(
  counts: StatementCount[],
  baseline: Record<string, number>,
  catalog: CatalogSnapshot,
  plan: MigrationPlan,
  manifest: Manifest | undefined,
  previous: Record<string, StatementCounter>,
  quietForMs: number,
  now = new Date(),
  groupsByName = false,
): Promise<{ uses: OldShapeUse[]; observations: Record<string, StatementCounter> }> {
  const list = moved(plan);
  const uses: OldShapeUse[] = [];
  const observations: Record<string, StatementCounter> = {};
  if (list.length === 0) return { uses, observations };
  await loadParser();
  const index = createCatalogIndex(catalog);
  for (const c of counts) {
    const before = baseline[c.key];
    const ambiguous = groupsByName && before !== undefined && c.calls > before;
    // In the baseline and not reset since: the table's own statement (see above).
    if (before !== undefined && c.calls >= before && !ambiguous) continue;
    if (c.calls <= 0 || isMarked(c.query)) continue;
    // pgpact's own roles (the admin, a DBA's psql) are nobody's consumers, unless a service logs in as one.
    if (c.own !== undefined && !(manifest && serviceOfRole(manifest, c.role))) continue;
    const analysis = analyzeStatement(c.query, index, { role: c.role });
    const touched = [...analysis.relations.read, ...analysis.relations.write];
    const hits = list.filter((m) => touched.includes(tableKey(m.from)));
    if (hits.length === 0) continue;
    const service0 = manifest ? serviceOfRole(manifest, c.role)?.name : undefined;
    if (ambiguous && before !== undefined) {
      uses.push({
        ...(service0 === undefined ? {} : { service: service0 }),
        role: c.role,
        source: 'observed',
        access: analysis.relations.write.length > 0 ? 'write' : 'read',
        columns: hits.map((m) => `${tableKey(m.from)}.*`),
        blocking: false,
        ambiguous: true,
        change: `${service0 ?? `role ${c.role}`}: ambiguous, pg_stat_statements on PostgreSQL 18 counts statements through the old name and the new one as one entry (its text names ${hits.map((m) => formatTableRef(m.from.schema, m.from.name)).join(', ')}); locks on the view and sessions' last statements decide`,
        statement: {
          queryId: c.queryId,
          query: c.query,
          callsSinceStart: c.calls - before,
          lastChangeSeenAt: now.toISOString(),
        },
      });
      continue;
    }
    const prev = previous[c.key];
    const unchanged = prev !== undefined && prev.calls === c.calls;
    const seenAt = unchanged ? prev.seenAt : now.toISOString();
    observations[c.key] = { calls: c.calls, seenAt };
    const quietSince = new Date(seenAt).getTime();
    const blocking = !(unchanged && now.getTime() - quietSince >= quietForMs);
    const service = manifest ? serviceOfRole(manifest, c.role)?.name : undefined;
    const who = service ?? `role ${c.role}`;
    uses.push({
      ...(service === undefined ? {} : { service }),
      role: c.role,
      source: 'observed',
      access: analysis.relations.write.length > 0 ? 'write' : 'read',
      columns: hits.map((m) => `${tableKey(m.from)}.*`),
      blocking,
      change: `${who}: deploy a version that names ${hits.map((m) => formatTableRef(m.to.schema, m.to.name)).join(', ')} instead of ${hits.map((m) => formatTableRef(m.from.schema, m.from.name)).join(', ')} (qualified, or with ${[...new Set(hits.map((m) => formatOwnedSchema(m.to.schema)))].join(', ')} first in search_path)`,
      statement: {
        queryId: c.queryId,
        query: c.query,
        callsSinceStart: c.calls,
        lastChangeSeenAt: seenAt,
        ...(blocking ? { quietUntil: new Date(quietSince + quietForMs).toISOString() } : {}),
      },
    });
  }
  return { uses, observations };
}
