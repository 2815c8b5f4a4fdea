import { findRelation } from '../../postgres/catalog.js';
import { quoteLiteral } from '../../postgres/quote.js';
import type { Fields } from '../fields.js';
import { tableKey } from '../names.js';
import { otherOperationsOn, type PlanState, problem } from '../plan-state.js';
import type { ReadContext } from '../read-column.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/**
 * move_table: a table moves into another schema (`ALTER TABLE … SET SCHEMA`, which carries its
 * owned sequences, indexes, constraints, triggers, policies and grants) and an auto-updatable
 * view with the same columns and privileges keeps the old name working until complete drops
 * it. Every step is one transaction that looks at the catalog before it acts, so a killed run
 * resumes by running the same step again.
 */

export interface MoveTable {
  op: 'move_table';
  table: TableName;
  /** The schema the table moves into; it keeps its name. */
  schema: string;
}

/** A table a migration moves, kept with the plan for status and complete. */
export interface MovedTable {
  from: TableName;
  to: TableName;
  /** Whether start creates the schema (rollback then drops it when it is empty). */
  schemaCreated: boolean;
}

/** Reads `move_table: {table, schema}`. */
function readMoveTable(f: Fields, ctx: ReadContext): MoveTable | undefined {
  const table = f.table('table', ctx.defaultSchema);
  const schema = f.name('schema', true);
  f.reportUnknown();
  if (!table || schema === undefined) return undefined;
  if (schema === table.schema) {
    f.report(
      'schema',
      `move_table of ${tableKey(table)}: the table is in schema ${schema} already`,
    );
    return undefined;
  }
  if (schema === 'pgpact' || schema.startsWith('pg_') || schema === 'information_schema') {
    f.report('schema', `move_table of ${tableKey(table)}: schema ${schema} is reserved`);
    return undefined;
  }
  return { op: 'move_table', table, schema };
}

export const moveTable: OperationDefinition<MoveTable> = {
  kind: 'move_table',
  spellings: [{ key: 'move_table', format: 'pgpact', read: readMoveTable }],
  footprint: (o) => ({ table: o.table }),
  plan: planMoveTable,
};

/** Plans one move_table: its start, complete and rollback steps, checked against the live catalog. */
function planMoveTable(ctx: PlanState, o: MoveTable, i: number): void {
  const from = o.table;
  const to = { schema: o.schema, name: from.name };
  const key = tableKey(from);
  const relation = findRelation(ctx.catalog, from.schema, from.name);
  if (!relation) {
    problem(
      ctx,
      i,
      `table ${key} does not exist`,
      'check the schema and the exact spelling (names are case-sensitive)',
    );
    return;
  }
  if (relation.kind === 'partitioned_table') {
    problem(
      ctx,
      i,
      `move_table: ${key} is partitioned, which is not supported (ALTER TABLE … SET SCHEMA moves the parent alone, its partitions would stay behind)`,
      'move the partitioned table with raw sql operations, partition by partition',
    );
    return;
  }
  if (relation.kind !== 'table') {
    problem(ctx, i, `move_table: ${key} is a ${relation.kind}, not a table`);
    return;
  }
  const others = otherOperationsOn(ctx, i, [o.table, to]);
  if (others.length > 0)
    problem(
      ctx,
      i,
      `move_table: ${key} is also changed by ${others.map((x) => x.op).join(', ')} in this migration`,
      'move the table in a migration of its own',
    );
  const target = ctx.catalog.relations.filter((r) => r.schema === to.schema);
  const taken = new Set([
    ...target.map((r) => r.name),
    ...target.flatMap((r) => r.indexes.map((x) => x.name)),
  ]);
  const carried = [
    from.name,
    ...relation.indexes.map((x) => x.name),
    ...ctx.catalog.relations
      .filter(
        (r) =>
          r.kind === 'sequence' &&
          r.ownedBy?.schema === from.schema &&
          r.ownedBy.table === from.name,
      )
      .map((r) => r.name),
  ];
  const clashes = carried.filter((name) => taken.has(name));
  if (clashes.length > 0)
    problem(
      ctx,
      i,
      `move_table: schema ${to.schema} already holds ${clashes.join(', ')}, which the move of ${key} would bring along`,
      'rename one of them first',
    );
  const schemaCreated = !ctx.catalog.schemas.some((s) => s.name === to.schema);
  ctx.plan.movedTables = [...(ctx.plan.movedTables ?? []), { from, to, schemaCreated }];
  ctx.plan.expand.push({
    kind: 'ddl',
    id: `move:${key}`,
    description: `move ${key} to schema ${to.schema}, a view keeps the old name`,
    statements: [{ sql: moveSql(from, to.schema, ctx.migration.name, schemaCreated) }],
  });
  ctx.plan.complete.push({
    kind: 'ddl',
    id: `drop-compatibility-view:${key}`,
    description: `drop the compatibility view ${key}`,
    statements: [{ sql: dropViewSql(from, to.schema) }],
  });
  ctx.undo.tables.push({
    kind: 'ddl',
    id: `move-back:${key}`,
    description: `move ${tableKey(to)} back to schema ${from.schema}`,
    statements: [{ sql: moveBackSql(from, to.schema, schemaCreated) }],
  });
  if (relation.rowSecurity) {
    const partial = relation.columns.some((c) => c.grants.some((g) => g.privilege === 'SELECT'));
    ctx.plan.notes.push(
      `${key} has row-level security: its compatibility view is security_invoker (policies apply to whoever queries it)${partial ? '; a role with SELECT on some columns only cannot read through it (Postgres checks every column of an invoker view on the table): it reads the new name' : ''}`,
    );
  }
  const schema = ctx.catalog.schemas.find((s) => s.name === to.schema);
  if (schema) {
    const grantees = new Set(
      [...relation.grants, ...relation.columns.flatMap((c) => c.grants)]
        .map((g) => g.grantee)
        .filter((g) => g !== relation.owner),
    );
    const without = [...grantees].filter(
      (g) =>
        g !== schema.owner &&
        !schema.grants.some(
          (x) => x.privilege === 'USAGE' && (x.grantee === g || x.grantee === 'PUBLIC'),
        ),
    );
    if (without.length > 0)
      ctx.plan.notes.push(
        `${without.join(', ')} may use ${key} but have no USAGE on schema ${to.schema}: they keep the old name until pgpact apply (or a GRANT) lets them use ${tableKey(to)}`,
      );
  }
}

/** A DO block with declarations (`body` is `DECLARE … BEGIN … END;`), dollar-quoted with a tag not in it. */
function declaringBlock(body: string): string {
  let tag = '$pgpact_move$';
  for (let i = 0; body.includes(tag); i++) tag = `$pgpact_move${i}$`;
  return `DO ${tag} ${body} ${tag}`;
}

/** The catalog lookups the DO blocks share, with `search_path` pinned so printed names are qualified. */
function declarations(from: TableName, toSchema: string): string {
  return `from_schema text := ${quoteLiteral(from.schema)}; table_name text := ${quoteLiteral(from.name)}; to_schema text := ${quoteLiteral(toSchema)};`;
}

/** The relation at the old name and the moved table, read fresh (SQL shared by the DO blocks). */
const LOOKUP = `PERFORM set_config('search_path', 'pg_catalog', true);
  SELECT c.oid, c.relkind, c.relispartition INTO old_oid, old_kind, old_partition FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = from_schema AND c.relname = table_name;
  SELECT c.oid INTO moved FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = to_schema AND c.relname = table_name AND c.relkind = 'r';
  -- The view at the old name is ours when its rule reads the moved table.
  SELECT c.oid INTO compat FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = from_schema AND c.relname = table_name AND c.relkind = 'v' AND moved IS NOT NULL
      AND EXISTS (SELECT 1 FROM pg_rewrite rw JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
        WHERE rw.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid = moved);`;

const VARIABLES =
  'old_oid oid; old_kind "char"; old_partition boolean; moved oid; compat oid; r record; cols text; owner_name text; invoker boolean; source oid; view_name text;';

/** The grantee of an aclexplode row as GRANT spells it. */
const GRANTEE = `CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END`;

/**
 * Start: creates the schema when missing (owned by the table's owner, who `apply` makes the
 * owning service's role; USAGE for every role holding a privilege on the table), moves the
 * table and creates the view at the old name with the table's grants, all in one transaction.
 * Half of it cannot exist without the other, so a resumed run sees either the old state or
 * the finished one.
 */
function moveSql(from: TableName, toSchema: string, migration: string, created: boolean): string {
  const comment = `compatibility view of ${tableKey({ schema: toSchema, name: from.name })}, left at its old name by pgpact migration ${migration}; dropped by pgpact migrate complete`;
  return declaringBlock(`DECLARE ${declarations(from, toSchema)} ${VARIABLES}
BEGIN
  ${LOOKUP}
  -- Nothing locks writers out until the table moves: commit right after it (and without
  -- waiting for the WAL flush: a later step's commit flushes it; a server crash can only lose
  -- this step together with its record, and the resumed run does it again).
  PERFORM set_config('synchronous_commit', 'off', true);
  IF old_kind IN ('r', 'p') THEN
    IF old_kind = 'p' OR old_partition THEN
      RAISE EXCEPTION USING ERRCODE = 'wrong_object_type', MESSAGE = format('move_table: %I.%I is partitioned or a partition, which is not supported', from_schema, table_name);
    END IF;
    IF moved IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'duplicate_table', MESSAGE = format('move_table: %I.%I exists already', to_schema, table_name);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = to_schema) THEN
      EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', to_schema, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = old_oid));
    END IF;
    -- A schema of this migration's own: whoever may use the table may use its new name.
    IF ${created ? 'true' : 'false'} THEN
      FOR r IN SELECT a.grantee FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = old_oid AND a.grantee <> c.relowner
          UNION SELECT a.grantee FROM pg_attribute t, aclexplode(t.attacl) a WHERE t.attrelid = old_oid AND t.attnum > 0 AND NOT t.attisdropped LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', to_schema, ${GRANTEE});
      END LOOP;
    END IF;
    -- The view is built first under a name of its own (the table only share-locked), then the
    -- table moves and the view takes its old name: writers wait for those two catalog updates only.
    source := old_oid;
    view_name := format('_pgpact_move_%s', old_oid);
  ELSIF old_oid IS NULL THEN
    IF moved IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'undefined_table', MESSAGE = format('move_table: neither %I.%I nor %I.%I exists', from_schema, table_name, to_schema, table_name);
    END IF;
    source := moved;
    view_name := table_name;
  ELSIF compat IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'duplicate_table', MESSAGE = format('move_table: %I.%I is taken by another relation', from_schema, table_name);
  ELSE
    RETURN;
  END IF;
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols FROM pg_attribute WHERE attrelid = source AND attnum > 0 AND NOT attisdropped;
  SELECT relrowsecurity, pg_get_userbyid(relowner) INTO invoker, owner_name FROM pg_class WHERE oid = source;
  -- With row-level security the view must run as whoever queries it, so the policies apply to
  -- them (its owner would bypass them). Without, a plain view checks its own grants column by
  -- column, the same grants as the table's, where an invoker view would ask for every column.
  EXECUTE format('CREATE VIEW %I.%I%s AS SELECT %s FROM %s', from_schema, view_name,
    CASE WHEN invoker THEN ' WITH (security_invoker = true)' ELSE '' END, cols, source::regclass);
  EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', from_schema, view_name, owner_name);
  FOR r IN SELECT a.grantee, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = source AND a.grantee <> c.relowner LOOP
    EXECUTE format('GRANT %s ON %I.%I TO %s%s', r.privilege_type, from_schema, view_name, ${GRANTEE},
      CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  FOR r IN SELECT t.attname, a.grantee, a.privilege_type, a.is_grantable FROM pg_attribute t, aclexplode(t.attacl) a
      WHERE t.attrelid = source AND t.attnum > 0 AND NOT t.attisdropped LOOP
    EXECUTE format('GRANT %s (%I) ON %I.%I TO %s%s', r.privilege_type, r.attname, from_schema, view_name, ${GRANTEE},
      CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  EXECUTE format('COMMENT ON VIEW %I.%I IS %L', from_schema, view_name, ${quoteLiteral(comment)});
  IF source = old_oid THEN
    EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', from_schema, table_name, to_schema);
    EXECUTE format('ALTER VIEW %I.%I RENAME TO %I', from_schema, view_name, table_name);
  END IF;
END;`);
}

/** Complete: drops the view at the old name, if it is still the compatibility view. */
function dropViewSql(from: TableName, toSchema: string): string {
  return declaringBlock(`DECLARE ${declarations(from, toSchema)} ${VARIABLES}
BEGIN
  ${LOOKUP}
  PERFORM set_config('synchronous_commit', 'off', true);
  IF compat IS NOT NULL THEN
    EXECUTE format('DROP VIEW %I.%I', from_schema, table_name);
  END IF;
END;`);
}

/** Rollback: drops the view, moves the table back, drops the schema start created when nothing else is in it. */
function moveBackSql(from: TableName, toSchema: string, schemaCreated: boolean): string {
  return declaringBlock(`DECLARE ${declarations(from, toSchema)} ${VARIABLES}
BEGIN
  ${LOOKUP}
  PERFORM set_config('synchronous_commit', 'off', true);
  IF compat IS NOT NULL THEN
    EXECUTE format('DROP VIEW %I.%I', from_schema, table_name);
    old_oid := NULL;
  END IF;
  IF moved IS NOT NULL THEN
    IF old_oid IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'duplicate_table', MESSAGE = format('move_table rollback: %I.%I is taken by another relation', from_schema, table_name);
    END IF;
    EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', to_schema, table_name, from_schema);
  END IF;
  ${
    schemaCreated
      ? `IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = to_schema) THEN
    BEGIN
      EXECUTE format('DROP SCHEMA %I', to_schema);
    EXCEPTION WHEN dependent_objects_still_exist THEN NULL;
    END;
  END IF;`
      : ''
  }
END;`);
}
