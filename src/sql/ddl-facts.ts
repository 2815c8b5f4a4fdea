/**
 * What a migration statement does to the schema, read from its parse tree:
 * the facts used to point a change at the statement that caused it, to check
 * ownership and to assess lock risks.
 */

/** A relation as written in SQL: schema only when qualified. */
export interface QualifiedName {
  schema?: string;
  name: string;
}

export type ActVerb =
  | 'add-column'
  | 'drop-column'
  | 'rename-column'
  | 'rename-relation'
  | 'set-schema'
  | 'alter-type'
  | 'set-not-null'
  | 'drop-not-null'
  | 'drop-default'
  | 'set-default'
  | 'add-constraint'
  | 'drop-constraint'
  | 'validate-constraint'
  | 'alter-table'
  | 'create-relation'
  | 'drop-relation'
  | 'replace-view'
  | 'create-index'
  | 'drop-index'
  | 'truncate'
  | 'grant'
  | 'create-schema'
  | 'drop-schema'
  | 'rename-schema'
  | 'schema-object';

export type ConstraintKind =
  | 'check'
  | 'unique'
  | 'primary'
  | 'foreign'
  | 'exclusion'
  | 'not-null'
  | 'other';

export interface Act {
  verb: ActVerb;
  rel?: QualifiedName;
  schema?: string;
  column?: string;
  newName?: string;
  constraintKind?: ConstraintKind;
  constraintName?: string;
  /** Referenced table of a foreign key (locked too). */
  references?: QualifiedName;
  notValid?: boolean;
  /** ADD CONSTRAINT ... USING INDEX: no index build. */
  usingIndex?: boolean;
  concurrently?: boolean;
  unique?: boolean;
  /** ADD COLUMN ... DEFAULT with a function call: may be volatile, which rewrites the table. */
  callsInDefault?: boolean;
  /** ADD COLUMN whose value Postgres must compute per row (volatile default, serial, stored generated): rewrites the table. */
  rewritesTable?: boolean;
  hasDefault?: boolean;
  notNull?: boolean;
  cascade?: boolean;
  /** For created or dropped relations: view or table. */
  relKind?: 'table' | 'view' | 'index' | 'other';
}

/** What one statement is, for the checks. */
export interface StatementFacts {
  acts: Act[];
  /** Whether the statement changes the schema (DDL). */
  ddl: boolean;
  /** A SET of a setting: name, value, LOCAL or not, RESET when value is undefined. */
  setting?: { name: string; value?: string; local: boolean };
  transaction?: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'other';
  /** Cannot run inside a transaction block (CONCURRENTLY, VACUUM...). */
  outsideTransaction: boolean;
  /** The table an INSERT, UPDATE, DELETE or MERGE writes (for naming it; not DDL). */
  dataTarget?: QualifiedName;
}

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The single key of a node wrapper such as `{ String: { sval } }`. */
function unwrap(node: unknown): [string, Obj] | undefined {
  const o = asObj(node);
  if (!o) return undefined;
  const [k] = Object.keys(o);
  const inner = k === undefined ? undefined : asObj(o[k]);
  return k === undefined || !inner ? undefined : [k, inner];
}

function stringOf(node: unknown): string | undefined {
  const u = unwrap(node);
  return u && u[0] === 'String' ? asStr(u[1].sval) : undefined;
}

function nameFromList(items: unknown[]): QualifiedName | undefined {
  const parts = items.map(stringOf).filter((s): s is string => s !== undefined);
  if (parts.length === 0) return undefined;
  const name = parts[parts.length - 1]!;
  const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  return schema === undefined ? { name } : { schema, name };
}

function rangeVar(v: unknown): QualifiedName | undefined {
  const o = asObj(v);
  const name = asStr(o?.relname);
  if (!o || name === undefined) return undefined;
  const schema = asStr(o.schemaname);
  return schema === undefined ? { name } : { schema, name };
}

function constraintKind(contype: string | undefined): ConstraintKind {
  switch (contype) {
    case 'CONSTR_CHECK':
      return 'check';
    case 'CONSTR_UNIQUE':
      return 'unique';
    case 'CONSTR_PRIMARY':
      return 'primary';
    case 'CONSTR_FOREIGN':
      return 'foreign';
    case 'CONSTR_EXCLUSION':
      return 'exclusion';
    case 'CONSTR_NOTNULL':
      return 'not-null';
    default:
      return 'other';
  }
}

function containsCall(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsCall);
  const o = asObj(node);
  if (!o) return false;
  if ('FuncCall' in o || 'SQLValueFunction' in o) return true;
  return Object.values(o).some(containsCall);
}

/** Functions whose default value differs per row: ADD COLUMN with one rewrites the table. */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'random_normal',
]);
const SERIAL_TYPES = new Set([
  'serial',
  'serial2',
  'serial4',
  'serial8',
  'smallserial',
  'bigserial',
]);

function callsVolatile(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(callsVolatile);
  const o = asObj(node);
  if (!o) return false;
  const call = asObj(o.FuncCall);
  if (call) {
    const names = asArr(call.funcname).map(stringOf);
    if (VOLATILE_FUNCTIONS.has(names[names.length - 1] ?? '')) return true;
  }
  return Object.values(o).some(callsVolatile);
}

function columnDefActs(rel: QualifiedName | undefined, def: Obj): Act {
  const colname = asStr(def.colname);
  const constraints = asArr(def.constraints).map((c) => asObj(asObj(c)?.Constraint) ?? {});
  const defaultExpr = constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
  return {
    verb: 'add-column',
    ...(rel ? { rel } : {}),
    ...(colname === undefined ? {} : { column: colname }),
    hasDefault:
      defaultExpr !== undefined || constraints.some((c) => c.contype === 'CONSTR_IDENTITY'),
    callsInDefault: defaultExpr !== undefined && containsCall(defaultExpr.raw_expr),
    rewritesTable:
      (defaultExpr !== undefined && callsVolatile(defaultExpr.raw_expr)) ||
      SERIAL_TYPES.has(
        String(asArr(asObj(def.typeName)?.names).map(stringOf).pop() ?? '').toLowerCase(),
      ) ||
      constraints.some((c) => c.contype === 'CONSTR_GENERATED'),
    notNull: constraints.some(
      (c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY',
    ),
  };
}

function constraintAct(rel: QualifiedName | undefined, c: Obj): Act {
  const keys = [...asArr(c.keys), ...asArr(c.fk_attrs)]
    .map(stringOf)
    .filter((s): s is string => s !== undefined);
  const references = rangeVar(c.pktable);
  const name = asStr(c.conname);
  return {
    verb: 'add-constraint',
    ...(rel ? { rel } : {}),
    ...(keys.length === 1 ? { column: keys[0] } : {}),
    constraintKind: constraintKind(asStr(c.contype)),
    ...(name === undefined ? {} : { constraintName: name }),
    ...(references ? { references } : {}),
    notValid: c.skip_validation === true,
    usingIndex: asStr(c.indexname) !== undefined,
  };
}

const ALTER_VERBS: Record<string, ActVerb> = {
  AT_DropColumn: 'drop-column',
  AT_AlterColumnType: 'alter-type',
  AT_SetNotNull: 'set-not-null',
  AT_DropNotNull: 'drop-not-null',
  AT_ValidateConstraint: 'validate-constraint',
  AT_DropConstraint: 'drop-constraint',
};

function alterTableActs(stmt: Obj): Act[] {
  const rel = rangeVar(stmt.relation);
  const acts: Act[] = [];
  for (const raw of asArr(stmt.cmds)) {
    const cmd = asObj(asObj(raw)?.AlterTableCmd);
    if (!cmd) continue;
    const subtype = asStr(cmd.subtype) ?? '';
    const name = asStr(cmd.name);
    const base = { ...(rel ? { rel } : {}), ...(name === undefined ? {} : { column: name }) };
    const def = unwrap(cmd.def);
    if (subtype === 'AT_AddColumn' && def?.[0] === 'ColumnDef') {
      acts.push(columnDefActs(rel, def[1]));
      // Inline constraints of the new column (CHECK, UNIQUE, REFERENCES) are constraints added too.
      for (const c of asArr(def[1].constraints)) {
        const k = asObj(asObj(c)?.Constraint);
        if (
          k &&
          ['CONSTR_CHECK', 'CONSTR_UNIQUE', 'CONSTR_FOREIGN', 'CONSTR_PRIMARY'].includes(
            asStr(k.contype) ?? '',
          )
        ) {
          acts.push({ ...constraintAct(rel, k), column: asStr(def[1].colname) ?? '' });
        }
      }
    } else if (subtype === 'AT_AddConstraint' && def?.[0] === 'Constraint') {
      acts.push(constraintAct(rel, def[1]));
    } else if (subtype === 'AT_ColumnDefault') {
      acts.push({ verb: def ? 'set-default' : 'drop-default', ...base });
    } else if (ALTER_VERBS[subtype]) {
      acts.push({
        verb: ALTER_VERBS[subtype]!,
        ...base,
        ...(subtype === 'AT_DropColumn' && cmd.behavior === 'DROP_CASCADE'
          ? { cascade: true }
          : {}),
        ...(subtype.endsWith('Constraint') && name !== undefined
          ? { constraintName: name, column: undefined }
          : {}),
      });
    } else {
      acts.push({ verb: 'alter-table', ...base });
    }
  }
  return acts;
}

const RELATION_OBJECTS: Record<string, Act['relKind']> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'view',
  OBJECT_INDEX: 'index',
  OBJECT_SEQUENCE: 'other',
};

function dropActs(stmt: Obj): Act[] {
  const type = asStr(stmt.removeType) ?? '';
  const cascade = stmt.behavior === 'DROP_CASCADE';
  const acts: Act[] = [];
  for (const o of asArr(stmt.objects)) {
    if (type === 'OBJECT_SCHEMA') {
      const schema = stringOf(o);
      if (schema !== undefined) acts.push({ verb: 'drop-schema', schema, cascade });
      continue;
    }
    const node = unwrap(o);
    // Relations are name lists; functions carry their name with the arguments, types a TypeName.
    const qn =
      node?.[0] === 'List'
        ? nameFromList(asArr(node[1].items))
        : node?.[0] === 'ObjectWithArgs'
          ? nameFromList(asArr(node[1].objname))
          : node?.[0] === 'TypeName'
            ? nameFromList(asArr(node[1].names))
            : undefined;
    if (!qn) {
      // DROP EXTENSION x CASCADE: what goes with it is found in the catalog diff.
      if (cascade) acts.push({ verb: 'schema-object', cascade });
      continue;
    }
    if (type in RELATION_OBJECTS) {
      const relKind = RELATION_OBJECTS[type];
      acts.push({
        verb: relKind === 'index' ? 'drop-index' : 'drop-relation',
        rel: qn,
        relKind,
        cascade,
      });
    } else if (qn.schema !== undefined || cascade) {
      // A function, type or other object: with CASCADE, it may take other services' defaults, columns or views.
      acts.push({
        verb: 'schema-object',
        ...(qn.schema === undefined ? {} : { schema: qn.schema }),
        ...(cascade ? { cascade } : {}),
      });
    }
  }
  return acts;
}

function renameActs(stmt: Obj): Act[] {
  const type = asStr(stmt.renameType);
  const rel = rangeVar(stmt.relation);
  const newName = asStr(stmt.newname);
  const sub = asStr(stmt.subname);
  const named = newName === undefined ? {} : { newName };
  if (type === 'OBJECT_SCHEMA')
    return sub === undefined ? [] : [{ verb: 'rename-schema', schema: sub, ...named }];
  if (type === 'OBJECT_COLUMN' || type === 'OBJECT_ATTRIBUTE') {
    return [
      {
        verb: 'rename-column',
        ...(rel ? { rel } : {}),
        ...(sub === undefined ? {} : { column: sub }),
        ...named,
      },
    ];
  }
  if (type === 'OBJECT_TABCONSTRAINT') return [{ verb: 'alter-table', ...(rel ? { rel } : {}) }];
  if (rel)
    return [
      { verb: 'rename-relation', rel, relKind: RELATION_OBJECTS[type ?? ''] ?? 'other', ...named },
    ];
  const objectName = unwrap(stmt.object);
  const qn = objectName?.[0] === 'List' ? nameFromList(asArr(objectName[1].items)) : undefined;
  return qn?.schema !== undefined ? [{ verb: 'schema-object', schema: qn.schema }] : [];
}

function qualifiedFromNames(names: unknown): QualifiedName | undefined {
  return nameFromList(asArr(names));
}

/** Reads the facts of one parsed statement. */
export function statementFacts(node: Record<string, unknown>): StatementFacts {
  const [type, stmt] = unwrap(node) ?? ['Unknown', {}];
  const facts: StatementFacts = { acts: [], ddl: true, outsideTransaction: false };
  const rel = (v: unknown) => rangeVar(v);
  switch (type) {
    case 'AlterTableStmt':
      facts.acts = alterTableActs(stmt);
      break;
    case 'RenameStmt':
      facts.acts = renameActs(stmt);
      break;
    case 'DropStmt':
      facts.acts = dropActs(stmt);
      facts.outsideTransaction = stmt.concurrent === true;
      break;
    case 'AlterObjectSchemaStmt': {
      const r = rel(stmt.relation);
      const newschema = asStr(stmt.newschema);
      if (r)
        facts.acts = [
          {
            verb: 'set-schema',
            rel: r,
            ...(newschema === undefined ? {} : { newName: newschema }),
          },
        ];
      break;
    }
    case 'CreateStmt':
    case 'CreateForeignTableStmt': {
      const inner = type === 'CreateForeignTableStmt' ? (asObj(stmt.base) ?? {}) : stmt;
      const r = rel(inner.relation);
      if (r) facts.acts = [{ verb: 'create-relation', rel: r, relKind: 'table' }];
      break;
    }
    case 'ViewStmt': {
      const r = rel(stmt.view);
      if (r)
        facts.acts = [
          {
            verb: stmt.replace === true ? 'replace-view' : 'create-relation',
            rel: r,
            relKind: 'view',
          },
        ];
      break;
    }
    case 'CreateTableAsStmt': {
      const r = rel(asObj(stmt.into)?.rel);
      const relKind = stmt.objtype === 'OBJECT_MATVIEW' ? 'view' : 'table';
      if (r) facts.acts = [{ verb: 'create-relation', rel: r, relKind }];
      break;
    }
    case 'IndexStmt': {
      const r = rel(stmt.relation);
      const concurrently = stmt.concurrent === true;
      if (r)
        facts.acts = [{ verb: 'create-index', rel: r, concurrently, unique: stmt.unique === true }];
      facts.outsideTransaction = concurrently;
      break;
    }
    case 'TruncateStmt':
      facts.acts = asArr(stmt.relations).flatMap((r) => {
        const q = rel(asObj(r)?.RangeVar);
        return q ? [{ verb: 'truncate' as const, rel: q }] : [];
      });
      facts.ddl = false;
      break;
    case 'GrantStmt':
      facts.acts = asArr(stmt.objects).flatMap((o) => {
        const q = rel(asObj(o)?.RangeVar);
        return q ? [{ verb: 'grant' as const, rel: q }] : [];
      });
      break;
    case 'CreateSchemaStmt': {
      const name = asStr(stmt.schemaname);
      if (name !== undefined) facts.acts = [{ verb: 'create-schema', schema: name }];
      break;
    }
    case 'CreateTrigStmt':
    case 'RuleStmt':
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
    case 'CommentStmt':
    case 'CreateStatsStmt':
    case 'ClusterStmt': {
      const r = rel(stmt.relation ?? stmt.table);
      if (r) facts.acts = [{ verb: 'alter-table', rel: r }];
      else if (type === 'CommentStmt') {
        const o = unwrap(stmt.object);
        const qn = o?.[0] === 'List' ? nameFromList(asArr(o[1].items)) : undefined;
        if (qn && stmt.objtype && String(stmt.objtype) in RELATION_OBJECTS)
          facts.acts = [{ verb: 'alter-table', rel: qn }];
      }
      break;
    }
    case 'CreateFunctionStmt':
    case 'DefineStmt':
    case 'CompositeTypeStmt':
    case 'CreateEnumStmt':
    case 'CreateDomainStmt':
    case 'CreateSeqStmt':
    case 'AlterSeqStmt': {
      const qn =
        qualifiedFromNames(stmt.funcname ?? stmt.defnames ?? stmt.typeName ?? stmt.domainname) ??
        rel(stmt.typevar ?? stmt.sequence);
      if (qn?.schema !== undefined) facts.acts = [{ verb: 'schema-object', schema: qn.schema }];
      break;
    }
    case 'VariableSetStmt': {
      facts.ddl = false;
      const name = asStr(stmt.name);
      if (name !== undefined) {
        const values = asArr(stmt.args).map((a) => {
          const c = asObj(asObj(a)?.A_Const);
          const s = asObj(c?.sval)?.sval ?? asObj(c?.ival)?.ival ?? asObj(c?.fval)?.fval;
          return s === undefined ? '0' : String(s);
        });
        const reset = stmt.kind === 'VAR_RESET' || stmt.kind === 'VAR_SET_DEFAULT';
        facts.setting = {
          name,
          ...(reset ? {} : { value: values.join(', ') }),
          local: stmt.is_local === true,
        };
      }
      break;
    }
    case 'TransactionStmt': {
      facts.ddl = false;
      const kind = asStr(stmt.kind) ?? '';
      facts.transaction = /BEGIN|START/.test(kind)
        ? 'begin'
        : /COMMIT|PREPARE/.test(kind)
          ? 'commit'
          : /ROLLBACK_TO|SAVEPOINT|RELEASE/.test(kind)
            ? 'savepoint'
            : /ROLLBACK/.test(kind)
              ? 'rollback'
              : 'other';
      break;
    }
    case 'VacuumStmt':
      facts.ddl = false;
      facts.outsideTransaction = stmt.is_vacuumcmd !== false;
      break;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt': {
      facts.ddl = false;
      const target = rel(stmt.relation);
      if (target) facts.dataTarget = target;
      break;
    }
    case 'SelectStmt':
    case 'DoStmt':
    case 'CallStmt':
    case 'VariableShowStmt':
    case 'NotifyStmt':
    case 'LockStmt':
    case 'ExplainStmt':
    case 'CopyStmt':
      facts.ddl = false;
      break;
    default:
      break;
  }
  return facts;
}
