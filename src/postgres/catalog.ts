import type { Queryable } from './client.js';
import type {
  CatalogSnapshot,
  ColumnInfo,
  Grant,
  RelationInfo,
  RelationKind,
  RoleInfo,
} from '../catalog-types.js';

/**
 * The one module that reads Postgres's catalog. Every other part of pgpact works
 * on the CatalogSnapshot it returns, so an engine's differences stay here.
 */

const USER_SCHEMA_FILTER = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;
const NOT_EXTENSION_MEMBER = (classTable: string, oidExpr: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${classTable}'::regclass AND e.objid = ${oidExpr} AND e.deptype = 'e')`;

const KIND: Record<string, RelationKind> = {
  r: 'table',
  p: 'partitioned_table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
  S: 'sequence',
};

const PRIVILEGE_GRANTS = (aclExpr: string) => `
  COALESCE((
    SELECT json_agg(json_build_object(
      'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
      'privilege', a.privilege_type,
      'grantable', a.is_grantable) ORDER BY a.grantee, a.privilege_type)
    FROM aclexplode(${aclExpr}) a), '[]'::json)`;

function sortGrants(grants: Grant[]): Grant[] {
  return grants.sort(
    (a, b) => a.grantee.localeCompare(b.grantee) || a.privilege.localeCompare(b.privilege),
  );
}

/** Reads a consistent snapshot of schemas, relations, columns, grants, roles and settings. */
export async function readCatalog(client: Queryable): Promise<CatalogSnapshot> {
  const meta = await client.query<{
    version: string;
    database: string;
    current_user: string;
    owner: string;
    grants: Grant[];
    extensions: string[];
    extension_schemas: string[];
    extension_homes: string[];
  }>(`
    SELECT current_setting('server_version_num') AS version,
           current_database() AS database, current_user::text AS current_user,
           pg_get_userbyid(d.datdba) AS owner,
           ${PRIVILEGE_GRANTS(`COALESCE(d.datacl, acldefault('d'::"char", d.datdba))`)} AS grants,
           COALESCE((SELECT json_agg(extname ORDER BY extname) FROM pg_extension), '[]'::json) AS extensions,
           COALESCE((SELECT json_agg(DISTINCT en.nspname) FROM pg_namespace en
                      WHERE en.oid IN (
                        SELECT t.typnamespace FROM pg_type t JOIN pg_depend ed
                          ON ed.classid = 'pg_type'::regclass AND ed.objid = t.oid AND ed.deptype = 'e'
                         WHERE t.typrelid = 0 AND t.typcategory <> 'A'
                        UNION
                        SELECT o.oprnamespace FROM pg_operator o JOIN pg_depend ed
                          ON ed.classid = 'pg_operator'::regclass AND ed.objid = o.oid AND ed.deptype = 'e')),
                    '[]'::json) AS extension_schemas,
           COALESCE((SELECT json_agg(DISTINCT hn.nspname) FROM pg_extension e
                       JOIN pg_namespace hn ON hn.oid = e.extnamespace), '[]'::json) AS extension_homes
    FROM pg_database d WHERE d.datname = current_database()`);

  const schemas = await client.query<{ name: string; owner: string; grants: Grant[] }>(`
    SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner,
           ${PRIVILEGE_GRANTS(`COALESCE(n.nspacl, acldefault('n'::"char", n.nspowner))`)} AS grants
    FROM pg_namespace n
    WHERE ${USER_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('pg_namespace', 'n.oid')}
    ORDER BY n.nspname`);

  const relations = await client.query<{
    oid: number;
    schema: string;
    name: string;
    relkind: string;
    owner: string;
    grants: Grant[];
    estimated_rows: string;
    size_bytes: string;
    view_definition: string | null;
    row_security: boolean;
    force_row_security: boolean;
  }>(`
    SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
           pg_get_userbyid(c.relowner) AS owner,
           ${PRIVILEGE_GRANTS(`COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner))`)} AS grants,
           c.reltuples::bigint::text AS estimated_rows,
           pg_total_relation_size(c.oid)::text AS size_bytes,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
           c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${USER_SCHEMA_FILTER}
      AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
    ORDER BY n.nspname, c.relname`);

  const columns = await client.query<{
    relid: number;
    name: string;
    position: number;
    type: string;
    not_null: boolean;
    default: string | null;
    identity: string;
    generated: string;
    grants: Grant[];
  }>(`
    SELECT a.attrelid::int AS relid, a.attname AS name, a.attnum::int AS position,
           format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
           pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
           a.attgenerated::text AS generated,
           ${PRIVILEGE_GRANTS('a.attacl')} AS grants
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND ${USER_SCHEMA_FILTER}
    ORDER BY a.attrelid, a.attnum`);

  const constraints = await client.query<{
    relid: number;
    name: string;
    type: string;
    definition: string;
    validated: boolean;
    columns: string[] | null;
    ref_schema: string | null;
    ref_name: string | null;
    ref_columns: string[] | null;
  }>(`
    SELECT c.conrelid::int AS relid, c.conname AS name, c.contype::text AS type,
           pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
           fn.nspname::text AS ref_schema, fc.relname::text AS ref_name,
           (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS ref_columns
    FROM pg_constraint c
    LEFT JOIN pg_class fc ON c.contype = 'f' AND fc.oid = c.confrelid
    LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE c.conrelid <> 0 AND c.contype <> 'n' AND ${USER_SCHEMA_FILTER}
    ORDER BY c.conrelid, c.conname`);

  const indexes = await client.query<{
    relid: number;
    name: string;
    definition: string;
    unique: boolean;
    valid: boolean;
  }>(`
    SELECT i.indrelid::int AS relid, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
           i.indisunique AS unique, i.indisvalid AS valid
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
    WHERE ${USER_SCHEMA_FILTER}
    ORDER BY i.indrelid, ic.relname`);

  const viewDeps = await client.query<{
    view_oid: number;
    schema: string;
    name: string;
    columns: string[] | null;
  }>(`
    SELECT v.oid::int AS view_oid, rn.nspname AS schema, rc.relname AS name,
           array_agg(DISTINCT a.attname::text ORDER BY a.attname::text) FILTER (WHERE a.attname IS NOT NULL) AS columns
    FROM pg_depend d
    JOIN pg_rewrite r ON r.oid = d.objid
    JOIN pg_class v ON v.oid = r.ev_class
    JOIN pg_class rc ON rc.oid = d.refobjid
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid <> v.oid AND v.relkind IN ('v', 'm')
    GROUP BY v.oid, rn.nspname, rc.relname
    ORDER BY v.oid, rn.nspname, rc.relname`);

  const sequenceOwners = await client.query<{
    seq_oid: number;
    schema: string;
    table: string;
    column: string;
  }>(`
    SELECT d.objid::int AS seq_oid, tn.nspname AS schema, t.relname AS table, a.attname AS column
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')`);

  const databases = await client.query<{ name: string }>(
    `SELECT datname AS name FROM pg_database WHERE NOT datistemplate ORDER BY 1`,
  );

  const roles = await client.query<{
    oid: number;
    name: string;
    superuser: boolean;
    createdb: boolean;
    createrole: boolean;
    can_login: boolean;
    replication: boolean;
    bypass_rls: boolean;
    connection_limit: number;
    member_of: string[] | null;
    memberships: { role: string; grantor: string }[] | null;
    settings: string[] | null;
    database_settings: Record<string, string[]> | null;
    comment: string | null;
  }>(`
    SELECT r.oid::int AS oid, r.rolname AS name, r.rolsuper AS superuser, r.rolcreatedb AS createdb,
           r.rolcreaterole AS createrole, r.rolcanlogin AS can_login, r.rolreplication AS replication,
           r.rolbypassrls AS bypass_rls, r.rolconnlimit AS connection_limit,
           (SELECT array_agg(g.rolname::text ORDER BY g.rolname::text) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid) AS member_of,
           (SELECT json_agg(json_build_object('role', g.rolname, 'grantor', pg_get_userbyid(m.grantor))
                            ORDER BY g.rolname, pg_get_userbyid(m.grantor))
              FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS memberships,
           (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0) AS settings,
           (SELECT json_object_agg(d.datname, s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
             WHERE s.setrole = r.oid) AS database_settings,
           shobj_description(r.oid, 'pg_authid') AS comment
    FROM pg_roles r
    WHERE r.rolname !~ '^pg_'
    ORDER BY r.rolname`);

  const defaults = await client.query<{
    role: string;
    schema: string | null;
    object_type: string;
    grants: Grant[];
  }>(`
    SELECT pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype::text AS object_type,
           ${PRIVILEGE_GRANTS('d.defaclacl')} AS grants
    FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    ORDER BY 1, 2, 3`);

  const functions = await client.query<{
    schema: string;
    name: string;
    owner: string;
    arguments: string;
    kind: 'f' | 'p' | 'a' | 'w';
    argument_types: string;
    grants: Grant[];
    used_by: { what: string; schema: string | null }[] | null;
  }>(`
    SELECT n.nspname AS schema, p.proname AS name, pg_get_userbyid(p.proowner) AS owner,
           pg_get_function_identity_arguments(p.oid) AS arguments, p.prokind::text AS kind,
           oidvectortypes(p.proargtypes) AS argument_types,
           ${PRIVILEGE_GRANTS(`COALESCE(p.proacl, acldefault('f'::"char", p.proowner))`)} AS grants,
           (SELECT json_agg(json_build_object('what', u.what, 'schema', u.schema) ORDER BY u.what)
              FROM (SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) AS what,
                           (SELECT rn.nspname::text FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                             WHERE rc.oid = COALESCE(
                               (SELECT adrelid FROM pg_attrdef WHERE d.classid = 'pg_attrdef'::regclass AND oid = d.objid),
                               (SELECT ev_class FROM pg_rewrite WHERE d.classid = 'pg_rewrite'::regclass AND oid = d.objid),
                               (SELECT tgrelid FROM pg_trigger WHERE d.classid = 'pg_trigger'::regclass AND oid = d.objid),
                               (SELECT conrelid FROM pg_constraint WHERE d.classid = 'pg_constraint'::regclass AND oid = d.objid),
                               (SELECT polrelid FROM pg_policy WHERE d.classid = 'pg_policy'::regclass AND oid = d.objid))) AS schema
                      FROM pg_depend d
                     WHERE d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
                       AND d.classid IN ('pg_attrdef'::regclass, 'pg_rewrite'::regclass, 'pg_trigger'::regclass,
                                         'pg_constraint'::regclass, 'pg_policy'::regclass)) u) AS used_by
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}
    ORDER BY 1, 2, 4`);

  const types = await client.query<{
    schema: string;
    name: string;
    owner: string;
    kind: string;
    used_outside: boolean;
  }>(`
    SELECT n.nspname AS schema, t.typname AS name, pg_get_userbyid(t.typowner) AS owner, t.typtype::text AS kind,
           EXISTS (SELECT 1 FROM pg_attribute ua JOIN pg_class uc ON uc.oid = ua.attrelid
                    WHERE ua.atttypid IN (t.oid, t.typarray) AND NOT ua.attisdropped
                      AND uc.relkind IN ('r', 'p', 'v', 'm', 'f') AND uc.relnamespace <> t.typnamespace)
           OR EXISTS (SELECT 1 FROM pg_type ud WHERE ud.typbasetype = t.oid AND ud.typnamespace <> t.typnamespace)
             AS used_outside
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    LEFT JOIN pg_class c ON c.oid = t.typrelid
    WHERE ${USER_SCHEMA_FILTER} AND ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
      AND t.typtype IN ('b', 'c', 'd', 'e', 'r') AND (t.typrelid = 0 OR c.relkind = 'c')
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
    ORDER BY 1, 2`);

  const columnsByRel = new Map<number, ColumnInfo[]>();
  for (const c of columns.rows) {
    const list = columnsByRel.get(c.relid) ?? [];
    list.push({
      name: c.name,
      position: c.position,
      type: c.type,
      notNull: c.not_null,
      ...(c.default === null ? {} : { default: c.default }),
      ...(c.identity === 'a'
        ? { identity: 'always' as const }
        : c.identity === 'd'
          ? { identity: 'by default' as const }
          : {}),
      ...(c.generated !== '' ? { generated: true } : {}),
      grants: sortGrants(c.grants),
    });
    columnsByRel.set(c.relid, list);
  }
  const group = <T extends { relid: number }>(rows: T[]) => {
    const map = new Map<number, T[]>();
    for (const row of rows) map.set(row.relid, [...(map.get(row.relid) ?? []), row]);
    return map;
  };
  const constraintsByRel = group(constraints.rows);
  const indexesByRel = group(indexes.rows);
  const depsByView = new Map<number, { schema: string; name: string; columns: string[] }[]>();
  for (const d of viewDeps.rows) {
    depsByView.set(d.view_oid, [
      ...(depsByView.get(d.view_oid) ?? []),
      { schema: d.schema, name: d.name, columns: d.columns ?? [] },
    ]);
  }
  const ownerBySeq = new Map(sequenceOwners.rows.map((s) => [s.seq_oid, s]));

  const relationInfos: RelationInfo[] = relations.rows.map((r) => {
    const kind = KIND[r.relkind]!;
    const owned = ownerBySeq.get(r.oid);
    return {
      oid: r.oid,
      schema: r.schema,
      name: r.name,
      kind,
      owner: r.owner,
      columns: columnsByRel.get(r.oid) ?? [],
      grants: sortGrants(r.grants),
      constraints: (constraintsByRel.get(r.oid) ?? []).map((c) => ({
        name: c.name,
        type: c.type,
        definition: c.definition,
        validated: c.validated,
        columns: c.columns ?? [],
        ...(c.ref_schema !== null && c.ref_name !== null
          ? { references: { schema: c.ref_schema, name: c.ref_name, columns: c.ref_columns ?? [] } }
          : {}),
      })),
      indexes: (indexesByRel.get(r.oid) ?? []).map((i) => ({
        name: i.name,
        definition: i.definition,
        unique: i.unique,
        valid: i.valid,
      })),
      estimatedRows: Number(r.estimated_rows),
      sizeBytes: Number(r.size_bytes),
      ...(r.view_definition === null ? {} : { viewDefinition: r.view_definition }),
      ...(kind === 'view' || kind === 'materialized_view'
        ? { dependsOn: depsByView.get(r.oid) ?? [] }
        : {}),
      ...(owned
        ? { ownedBy: { schema: owned.schema, table: owned.table, column: owned.column } }
        : {}),
      ...(r.row_security ? { rowSecurity: { forced: r.force_row_security } } : {}),
    };
  });

  const roleInfos: RoleInfo[] = roles.rows.map((r) => ({
    oid: r.oid,
    name: r.name,
    superuser: r.superuser,
    createdb: r.createdb,
    createrole: r.createrole,
    canLogin: r.can_login,
    replication: r.replication,
    bypassRls: r.bypass_rls,
    connectionLimit: r.connection_limit,
    memberOf: r.member_of ?? [],
    memberships: r.memberships ?? [],
    settings: settingsOf(r.settings),
    settingsByDatabase: Object.fromEntries(
      Object.entries(r.database_settings ?? {}).map(([db, config]) => [db, settingsOf(config)]),
    ),
    ...(r.comment === null ? {} : { comment: r.comment }),
  }));

  const m = meta.rows[0]!;
  return {
    serverVersion: Number(m.version),
    database: m.database,
    databaseOwner: m.owner,
    databases: databases.rows.map((d) => d.name),
    schemas: schemas.rows.map((s) => ({
      name: s.name,
      owner: s.owner,
      grants: sortGrants(s.grants),
    })),
    relations: relationInfos,
    roles: roleInfos,
    defaultPrivileges: defaults.rows.map((d) => ({
      role: d.role,
      ...(d.schema === null ? {} : { schema: d.schema }),
      objectType: d.object_type,
      grants: sortGrants(d.grants),
    })),
    functions: functions.rows.map((f) => ({
      schema: f.schema,
      name: f.name,
      owner: f.owner,
      arguments: f.arguments,
      kind: f.kind,
      argumentTypes: f.argument_types,
      grants: sortGrants(f.grants),
      ...(f.used_by && f.used_by.length > 0
        ? {
            usedBy: f.used_by.map((u) => ({
              what: u.what,
              ...(u.schema === null ? {} : { schema: u.schema }),
            })),
          }
        : {}),
    })),
    databaseGrants: sortGrants(m.grants),
    extensions: m.extensions,
    extensionSchemas: [...m.extension_schemas].sort(),
    extensionHomes: [...m.extension_homes].sort(),
    currentUser: m.current_user,
    types: types.rows.map(({ used_outside, ...t }) =>
      used_outside ? { ...t, usedOutside: true } : t,
    ),
  };
}

/** `name=value` entries of a setconfig array as a map. */
function settingsOf(config: string[] | null): Record<string, string> {
  return Object.fromEntries(
    (config ?? []).map((s) => {
      const eq = s.indexOf('=');
      return [s.slice(0, eq), s.slice(eq + 1)];
    }),
  );
}

/** Finds a relation by schema and name. */
export function findRelation(
  catalog: CatalogSnapshot,
  schema: string,
  name: string,
): RelationInfo | undefined {
  return catalog.relations.find((r) => r.schema === schema && r.name === name);
}

/** Finds a role by name. */
export function findRole(catalog: CatalogSnapshot, name: string): RoleInfo | undefined {
  return catalog.roles.find((r) => r.name === name);
}

/** A partition and the partitioned table at the top of its tree. */
export type PartitionRoot = {
  schema: string;
  name: string;
  rootSchema: string;
  rootName: string;
};

/** Every partition of the database's user schemas with its root table, in one query. */
export async function readPartitionRoots(client: Queryable): Promise<PartitionRoot[]> {
  const { rows } = await client.query<PartitionRoot>(`
    WITH RECURSIVE up AS (
      SELECT i.inhrelid AS child, i.inhparent AS parent
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE c.relispartition
      UNION ALL
      SELECT up.child, i.inhparent
        FROM up JOIN pg_inherits i ON i.inhrelid = up.parent
        JOIN pg_class p ON p.oid = up.parent
       WHERE p.relispartition)
    SELECT cn.nspname AS schema, c.relname AS name, rn.nspname AS "rootSchema", r.relname AS "rootName"
      FROM up
      JOIN pg_class c ON c.oid = up.child JOIN pg_namespace cn ON cn.oid = c.relnamespace
      JOIN pg_class r ON r.oid = up.parent JOIN pg_namespace rn ON rn.oid = r.relnamespace
     WHERE NOT r.relispartition`);
  return rows;
}
