import type { CatalogSnapshot } from '../catalog-types.js';
import { formatTableRef } from '../manifest/table-ref.js';
import { formatOwnedSchema } from '../manifest/table-pattern.js';
import { type Manifest, serviceOfRole } from '../manifest/types.js';
import type { Queryable } from '../postgres/client.js';
import { readOwnRoles } from '../postgres/own-roles.js';
import { analyzeStatement } from '../sql/analyze.js';
import { createCatalogIndex } from '../sql/catalog-index.js';
import { loadParser } from '../sql/parse.js';
import type { OldShapeUse } from './consumers.js';
import type { MovedTable } from './operations/move-table.js';
import { tableKey } from './names.js';
import type { MigrationPlan } from './plan-types.js';
import { isMarked, MARKER } from './sql-run.js';

/**
 * Old-name use of a moved table seen live, unambiguous on every Postgres version (on 18,
 * pg_stat_statements counts a statement through the view and the same one through the table
 * as one entry, see statementsGroupByName): a session holding a lock on a compatibility view
 * (only statements naming the view lock it), and a session whose current or last statement
 * (pg_stat_activity.query: an idle pooled connection keeps showing its last one) resolves to
 * the view in the catalog after the move.
 */

/** How a live use was seen. */
export type LiveHow = 'lock' | 'last statement';

/** One session seen using a compatibility view. */
export interface LiveMoveUse {
  pid: number;
  role: string;
  application: string;
  how: LiveHow;
  /** `schema.name` of the old name (the view). */
  view: string;
  access: 'read' | 'write';
  query?: string;
}

/** Whether pg_stat_statements identifies relations by name (Postgres 18 and later) rather than by oid. */
export async function statementsGroupByName(client: Queryable): Promise<boolean> {
  const { rows } = await client.query<{ v: number }>(
    `${MARKER} SELECT current_setting('server_version_num')::int AS v`,
  );
  return (rows[0]?.v ?? 0) >= 180000;
}

function moved(plan: MigrationPlan): MovedTable[] {
  return plan.movedTables ?? [];
}

const WRITE_LOCKS = new Set(['RowExclusiveLock']);

/** One look at pg_locks and pg_stat_activity for sessions (other than this one and pgpact's) using a compatibility view. */
export async function sampleLiveMoveUses(
  client: Queryable,
  plan: MigrationPlan,
  catalog: CatalogSnapshot,
  manifest: Manifest | undefined,
): Promise<LiveMoveUse[]> {
  const list = moved(plan);
  if (list.length === 0) return [];
  const own = await readOwnRoles(client);
  const isOwn = (role: string) => own.has(role) && !(manifest && serviceOfRole(manifest, role));
  const views = list.map((m) => tableKey(m.from));
  const { rows: locks } = await client.query<{
    pid: number;
    role: string | null;
    app: string | null;
    mode: string;
    view: string;
    query: string | null;
  }>(
    `${MARKER}
     WITH v AS (
       SELECT c.oid, format('%s.%s', n.nspname, c.relname) AS view
       FROM jsonb_array_elements($1::jsonb) m
       JOIN pg_namespace n ON n.nspname = m->>'schema'
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = m->>'name' AND c.relkind = 'v'
     )
     SELECT l.pid, a.usename::text AS role, a.application_name AS app, l.mode, v.view, a.query
     FROM pg_locks l
     JOIN v ON l.locktype = 'relation' AND l.relation = v.oid
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.pid <> pg_backend_pid()`,
    [JSON.stringify(list.map((m) => ({ schema: m.from.schema, name: m.from.name })))],
  );
  const out: LiveMoveUse[] = [];
  for (const l of locks) {
    if (l.role === null || isOwn(l.role) || (l.query !== null && isMarked(l.query))) continue;
    out.push({
      pid: l.pid,
      role: l.role,
      application: l.app ?? '',
      how: 'lock',
      view: l.view,
      access: WRITE_LOCKS.has(l.mode) ? 'write' : 'read',
      ...(l.query ? { query: l.query } : {}),
    });
  }
  const { rows: sessions } = await client.query<{
    pid: number;
    role: string | null;
    app: string | null;
    query: string;
  }>(
    `${MARKER}
     SELECT pid, usename::text AS role, application_name AS app, query
     FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type = 'client backend' AND coalesce(query, '') <> ''`,
  );
  if (sessions.length > 0) await loadParser();
  const index = sessions.length > 0 ? createCatalogIndex(catalog) : undefined;
  for (const s of sessions) {
    if (s.role === null || isOwn(s.role) || isMarked(s.query) || index === undefined) continue;
    // A cheap filter first: the statement must mention one of the old names.
    if (!list.some((m) => s.query.includes(m.from.name))) continue;
    let read: string[] = [];
    let write: string[] = [];
    try {
      const analysis = analyzeStatement(s.query, index, { role: s.role });
      read = analysis.relations.read;
      write = analysis.relations.write;
    } catch {
      continue;
    }
    for (const view of views) {
      if (!read.includes(view) && !write.includes(view)) continue;
      out.push({
        pid: s.pid,
        role: s.role,
        application: s.app ?? '',
        how: 'last statement',
        view,
        access: write.includes(view) ? 'write' : 'read',
        query: s.query,
      });
    }
  }
  return out;
}

function liveKey(u: LiveMoveUse): string {
  return `${u.pid}:${u.how}:${u.view}`;
}

/**
 * Samples every `intervalMs` for `windowMs` (one look when 0), merging what each look saw;
 * a session's last statement counts as it was at its latest look (it may have moved on).
 */
export async function watchLiveMoveUses(
  client: Queryable,
  plan: MigrationPlan,
  catalog: CatalogSnapshot,
  manifest: Manifest | undefined,
  windowMs: number,
  intervalMs = 200,
): Promise<LiveMoveUse[]> {
  if (moved(plan).length === 0) return [];
  const locks = new Map<string, LiveMoveUse>();
  let last: LiveMoveUse[] = [];
  const until = Date.now() + windowMs;
  for (;;) {
    const seen = await sampleLiveMoveUses(client, plan, catalog, manifest);
    for (const u of seen) if (u.how === 'lock') locks.set(liveKey(u), u);
    last = seen.filter((u) => u.how === 'last statement');
    if (Date.now() + intervalMs > until) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return [...locks.values(), ...last];
}

/** Blocking uses, one per role (or service) and old name, saying how each was seen. */
export function liveMoveUses(
  live: LiveMoveUse[],
  plan: MigrationPlan,
  manifest: Manifest | undefined,
): OldShapeUse[] {
  const byWho = new Map<string, { role: string; m: MovedTable; list: LiveMoveUse[] }>();
  for (const u of live) {
    const m = moved(plan).find((x) => tableKey(x.from) === u.view);
    if (!m) continue;
    const key = `${u.role}\u0000${u.view}`;
    const entry = byWho.get(key) ?? { role: u.role, m, list: [] };
    entry.list.push(u);
    byWho.set(key, entry);
  }
  const uses: OldShapeUse[] = [];
  for (const { role, m, list } of byWho.values()) {
    const service = manifest ? serviceOfRole(manifest, role)?.name : undefined;
    const who = service ?? `role ${role}`;
    const how = [
      ...new Set(
        list.map(
          (u) =>
            `${u.how === 'lock' ? 'a lock on the view' : 'its last statement'} (pid ${u.pid}${u.application ? `, application ${u.application}` : ''})`,
        ),
      ),
    ].join(', ');
    const oldRef = formatTableRef(m.from.schema, m.from.name);
    const newRef = formatTableRef(m.to.schema, m.to.name);
    uses.push({
      ...(service === undefined ? {} : { service }),
      role,
      source: 'observed',
      access: list.some((u) => u.access === 'write') ? 'write' : 'read',
      columns: [`${tableKey(m.from)}.*`],
      blocking: true,
      change: `${who}: deploy a version that names ${newRef} instead of ${oldRef} (qualified, or with ${formatOwnedSchema(m.to.schema)} first in search_path); seen now through ${how}`,
      seen: [...new Set(list.map((u) => u.how))],
    });
  }
  return uses;
}
