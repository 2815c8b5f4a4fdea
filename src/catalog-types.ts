/** A point-in-time picture of what the database holds, read by readCatalog(). */

/** One privilege held by a grantee ('PUBLIC' for everyone). */
export interface Grant {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export interface SchemaInfo {
  name: string;
  owner: string;
  grants: Grant[];
}

export interface ColumnInfo {
  name: string;
  position: number;
  /** format_type() of the column, e.g. `character varying(200)`. */
  type: string;
  notNull: boolean;
  /** Default expression as Postgres prints it, if any. */
  default?: string;
  identity?: 'always' | 'by default';
  generated?: boolean;
  /** Column-level grants only (table-level grants are on the relation). */
  grants: Grant[];
}

export type RelationKind =
  | 'table'
  | 'partitioned_table'
  | 'view'
  | 'materialized_view'
  | 'foreign_table'
  | 'sequence';

export interface ConstraintInfo {
  name: string;
  /** p primary key, u unique, f foreign key, c check, x exclusion (PG 18's not-null constraints are left out: see ColumnInfo.notNull). */
  type: string;
  definition: string;
  validated: boolean;
  columns: string[];
  /** Foreign keys: the table and columns they reference. */
  references?: { schema: string; name: string; columns: string[] };
}

export interface IndexInfo {
  name: string;
  definition: string;
  unique: boolean;
  valid: boolean;
}

/** A relation a view reads: the view depends on these columns of it. */
export interface ViewDependency {
  schema: string;
  name: string;
  columns: string[];
}

export interface RelationInfo {
  oid: number;
  schema: string;
  name: string;
  kind: RelationKind;
  owner: string;
  columns: ColumnInfo[];
  grants: Grant[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
  /** Estimated row count (reltuples; -1 when never analyzed). */
  estimatedRows: number;
  sizeBytes: number;
  /** For views and materialized views: pg_get_viewdef(). */
  viewDefinition?: string;
  /** For views: the relations and columns they read. */
  dependsOn?: ViewDependency[];
  /** For sequences: the column owning it, if any. */
  ownedBy?: { schema: string; table: string; column: string };
  /** Set when row-level security is enabled; `forced` when it applies to the owner too. */
  rowSecurity?: { forced: boolean };
}

export interface RoleInfo {
  oid: number;
  name: string;
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  canLogin: boolean;
  replication: boolean;
  bypassRls: boolean;
  /** -1 for no limit. */
  connectionLimit: number;
  /** Roles this role is a member of. */
  memberOf: string[];
  /** Each membership with the role that granted it (Postgres 16+ keeps one per grantor). */
  memberships?: { role: string; grantor: string }[];
  /** ALTER ROLE ... SET values that apply in every database (name → value as stored). */
  settings: Record<string, string>;
  /** ALTER ROLE ... IN DATABASE d SET values, per database name (name → value as stored). */
  settingsByDatabase?: Record<string, Record<string, string>>;
  /** COMMENT ON ROLE (shared by every database of the server). */
  comment?: string;
}

export interface DefaultPrivilege {
  /** The role whose future objects these defaults apply to. */
  role: string;
  /** Schema, or undefined for database-wide defaults. */
  schema?: string;
  /** r tables, S sequences, f functions, T types, n schemas. */
  objectType: string;
  grants: Grant[];
}

export interface FunctionInfo {
  schema: string;
  name: string;
  owner: string;
  arguments: string;
  /** f function, p procedure, a aggregate, w window function. */
  kind?: 'f' | 'p' | 'a' | 'w';
  /** The input argument types alone (oidvectortypes), usable in GRANT/ALTER ... name(types). */
  argumentTypes?: string;
  /** EXECUTE grants (the defaults expanded: owner and PUBLIC when never changed). */
  grants?: Grant[];
  /**
   * What calls it when others run statements: column defaults and generated columns, views,
   * triggers, checks, policies (`what` as pg_describe_object says it; `schema` of the relation).
   */
  usedBy?: { what: string; schema?: string }[];
}

/** A user-defined type (enum, composite, domain, range, base), not a table's row type or an array. */
export interface TypeInfo {
  schema: string;
  name: string;
  owner: string;
  /** e enum, c composite, d domain, r range, b base. */
  kind: string;
  /** Set when a column of a relation in another schema, or a domain there, has this type. */
  usedOutside?: boolean;
}

export interface CatalogSnapshot {
  /** server_version_num, e.g. 180004. */
  serverVersion: number;
  database: string;
  /** The role owning the database (usually its administrator). */
  databaseOwner?: string;
  /** Every database of the server but templates (role settings and limits span them). */
  databases?: string[];
  /** User schemas (system schemas pg_catalog, information_schema, pg_toast... excluded). */
  schemas: SchemaInfo[];
  relations: RelationInfo[];
  roles: RoleInfo[];
  defaultPrivileges: DefaultPrivilege[];
  functions: FunctionInfo[];
  /** Database-level grants (CONNECT, TEMPORARY, CREATE). */
  databaseGrants: Grant[];
  /** Extensions installed in this database. */
  extensions: string[];
  /** Schemas holding an extension's types or operators (citext's), which statements use without naming them. */
  extensionSchemas?: string[];
  /** Schemas extensions are installed in (CREATE EXTENSION … SCHEMA), whatever they hold. */
  extensionHomes?: string[];
  /** The role that read the snapshot (current_user). */
  currentUser?: string;
  /** User-defined types in user schemas (extension members excluded). */
  types?: TypeInfo[];
}
