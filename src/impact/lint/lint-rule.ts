import type { Finding, Severity } from '../../findings.js';
import type { CatalogSnapshot, RelationInfo } from '../../catalog-types.js';
import type { AppliedStatement } from '../apply-migration.js';
import { type ConsumerIndex, toConsumerRefs } from '../consumers.js';
import { sizeText } from '../lock-risks.js';
import type { QualifiedName } from '../../sql/ddl-facts.js';
import { statementLocation } from '../statement-index.js';

/** What a lint rule reads: every statement of the migration (run or not) and the schema before it. */
export interface LintContext {
  /** All statements in order, including those after a failure (status `not-run`). */
  statements: AppliedStatement[];
  base: CatalogSnapshot;
  /** Whether the base catalog's sizes describe real data (a live database). */
  sizesKnown: boolean;
  consumers: ConsumerIndex;
}

/** One lint rule: a finding kind read from the statements' parse trees. */
export interface LintRule {
  kind: string;
  /** The Squawk rules it stands for (README table). */
  squawk: string[];
  /** One line for SARIF and the docs. */
  description: string;
  check(ctx: LintContext): Finding[];
}

export type Node = Record<string, unknown>;

export const asObj = (v: unknown): Node | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined;
export const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The statement's node type and body, e.g. `['AlterTableStmt', {...}]`. */
export function statementBody(s: AppliedStatement): [string, Node] {
  return [s.statement.type, asObj(s.statement.node[s.statement.type]) ?? {}];
}

/** `{ relname, schemaname }` of a RangeVar. */
export function rangeVarName(v: unknown): QualifiedName | undefined {
  const o = asObj(v);
  const name = asStr(o?.relname);
  if (!o || name === undefined) return undefined;
  const schema = asStr(o.schemaname);
  return schema === undefined ? { name } : { schema, name };
}

/** The strings of a name list such as `[{String: {sval}}]`. */
export function nameParts(list: unknown): string[] {
  return asArr(list)
    .map((n) => asStr(asObj(asObj(n)?.String)?.sval))
    .filter((s): s is string => s !== undefined);
}

/** A relation of the base catalog a statement names: by its resolved target, else by name. */
export function findBaseRelation(
  ctx: LintContext,
  s: AppliedStatement,
  qn: QualifiedName,
): RelationInfo | undefined {
  const target = s.targets.find((t) => t?.name === qn.name && (qn.schema ?? t.schema) === t.schema);
  const schema = qn.schema ?? target?.schema ?? s.currentSchema;
  const candidates = ctx.base.relations.filter((r) => r.name === qn.name);
  if (schema !== undefined) return candidates.find((r) => r.schema === schema);
  return candidates.find((r) => r.schema === 'public') ?? candidates[0];
}

/** Whether a relation is created by an earlier statement of the same migration (not in the base). */
export function createdEarlier(ctx: LintContext, s: AppliedStatement, qn: QualifiedName): boolean {
  for (const other of ctx.statements) {
    if (other === s) return false;
    if (other.facts.acts.some((a) => a.verb === 'create-relation' && a.rel?.name === qn.name))
      return true;
  }
  return false;
}

export interface LintFindingSpec {
  kind: string;
  severity: Severity;
  /** The relation the statement names, when it names one. */
  rel?: QualifiedName;
  /** The object when it is not a relation (a database, a domain, a file). */
  object?: string;
  /** Appended with the table's size when the table exists before the migration. */
  message: string;
  suggestion: string;
  /** Add the table size to the message (locks and scans). */
  withSize?: boolean;
}

/** A finding at the statement, naming the table's readers and, for lock rules, its size. */
export function lintFinding(ctx: LintContext, s: AppliedStatement, spec: LintFindingSpec): Finding {
  const base = spec.rel ? findBaseRelation(ctx, s, spec.rel) : undefined;
  const schema = base?.schema ?? spec.rel?.schema ?? s.currentSchema;
  const object =
    spec.object ??
    (spec.rel ? (schema ? `${schema}.${spec.rel.name}` : spec.rel.name) : s.statement.file);
  const consumers =
    base !== undefined ? toConsumerRefs(ctx.consumers.usersOfTable(base.schema, base.name)) : [];
  const size = spec.withSize && base ? ` (${sizeText(base, ctx.sizesKnown)})` : '';
  return {
    severity: spec.severity,
    kind: spec.kind,
    object,
    consumers,
    location: statementLocation(s),
    message: `${spec.message}${size}`,
    suggestion: spec.suggestion,
  };
}

/** A column definition a statement writes: in CREATE TABLE, ADD COLUMN or ALTER COLUMN TYPE. */
export interface ColumnDefinition {
  rel?: QualifiedName;
  column: string;
  /** The type's last name, e.g. `int4`, `serial`, `varchar`, `timestamp`. */
  type: string;
  /** Type modifiers written, e.g. 1 for varchar(10). */
  typmods: number;
  constraints: Node[];
  /** From ALTER COLUMN ... TYPE. */
  alterType: boolean;
}

function definitionOf(
  rel: QualifiedName | undefined,
  def: Node,
  column: string,
  alterType: boolean,
): ColumnDefinition | undefined {
  const typeName = asObj(def.typeName);
  const names = nameParts(typeName?.names);
  const type = names[names.length - 1];
  if (type === undefined) return undefined;
  return {
    ...(rel ? { rel } : {}),
    column,
    type: type.toLowerCase(),
    typmods: asArr(typeName?.typmods).length,
    constraints: asArr(def.constraints)
      .map((c) => asObj(asObj(c)?.Constraint))
      .filter((c): c is Node => c !== undefined),
    alterType,
  };
}

/** Every column definition of a statement (CREATE TABLE, ALTER TABLE ADD COLUMN / ALTER COLUMN TYPE). */
export function columnDefinitions(s: AppliedStatement): ColumnDefinition[] {
  const [type, body] = statementBody(s);
  const defs: ColumnDefinition[] = [];
  if (type === 'CreateStmt') {
    const rel = rangeVarName(body.relation);
    for (const e of asArr(body.tableElts)) {
      const def = asObj(asObj(e)?.ColumnDef);
      const col = asStr(def?.colname);
      if (def && col !== undefined) {
        const d = definitionOf(rel, def, col, false);
        if (d) defs.push(d);
      }
    }
  } else if (type === 'AlterTableStmt') {
    const rel = rangeVarName(body.relation);
    for (const raw of asArr(body.cmds)) {
      const cmd = asObj(asObj(raw)?.AlterTableCmd);
      const def = asObj(asObj(cmd?.def)?.ColumnDef);
      if (!cmd || !def) continue;
      if (cmd.subtype === 'AT_AddColumn') {
        const d = definitionOf(rel, def, asStr(def.colname) ?? '', false);
        if (d) defs.push(d);
      } else if (cmd.subtype === 'AT_AlterColumnType') {
        const d = definitionOf(rel, def, asStr(cmd.name) ?? '', true);
        if (d) defs.push(d);
      }
    }
  }
  return defs;
}

/** The ALTER TABLE commands of a statement, with the table. */
export function alterTableCommands(s: AppliedStatement): { rel?: QualifiedName; cmd: Node }[] {
  const [type, body] = statementBody(s);
  if (type !== 'AlterTableStmt') return [];
  const rel = rangeVarName(body.relation);
  return asArr(body.cmds)
    .map((c) => asObj(asObj(c)?.AlterTableCmd))
    .filter((c): c is Node => c !== undefined)
    .map((cmd) => ({ ...(rel ? { rel } : {}), cmd }));
}
