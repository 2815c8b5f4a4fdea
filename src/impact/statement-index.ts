import type { AppliedStatement } from './apply-migration.js';
import type { Change, ChangeKind } from './change.js';
import type { ActVerb } from '../sql/ddl-facts.js';

/** The verbs that can cause each kind of change, best first. */
const CAUSES: Record<ChangeKind, ActVerb[]> = {
  'schema-dropped': ['drop-schema'],
  'schema-renamed': ['rename-schema'],
  'table-dropped': ['drop-relation', 'drop-schema'],
  'table-renamed': ['rename-relation', 'set-schema'],
  'table-recreated': ['drop-relation', 'create-relation'],
  'column-dropped': ['drop-column', 'drop-relation'],
  'column-renamed': ['rename-column'],
  'column-recreated': ['drop-column', 'add-column'],
  'column-type-changed': ['alter-type'],
  'not-null-added': ['set-not-null', 'add-constraint', 'add-column'],
  'default-removed': ['drop-default'],
  'constraint-added': ['add-constraint', 'create-index'],
  'required-column-added': ['add-column'],
  'view-changed': ['replace-view', 'create-relation', 'drop-relation'],
  'view-dropped': ['drop-relation', 'drop-column', 'alter-type', 'drop-schema'],
  'view-renamed': ['rename-relation', 'set-schema'],
  'column-added': ['add-column', 'replace-view'],
  'table-added': ['create-relation'],
  'view-added': ['create-relation'],
};

/** Where a statement is written: `file:line`. */
export function statementLocation(s: AppliedStatement): string {
  return `${s.statement.file}:${s.statement.line}`;
}

/**
 * The new migration's statements, for pointing each change at the statement that
 * caused it. Relations are matched by the oid they had when the statement ran (so a
 * statement naming a table by its new name still matches), then by name.
 */
export class StatementIndex {
  private readonly oidByName = new Map<string, number>();

  constructor(
    readonly statements: AppliedStatement[],
    /** Oids of the base catalog's relations by `schema.name`. */
    baseOids: Map<string, number> = new Map(),
  ) {
    this.oidByName = baseOids;
  }

  /** Statements that ran (applied, possibly as the admin). */
  get ran(): AppliedStatement[] {
    return this.statements.filter((s) => s.status === 'applied' || s.status === 'applied-as-admin');
  }

  /** The statement that caused a change, when one can be told. */
  locate(change: Change): AppliedStatement | undefined {
    const verbs = CAUSES[change.kind];
    const rel = change.relation;
    const oid = rel ? this.oidByName.get(`${rel.schema}.${rel.name}`) : undefined;
    const newName = change.newName;
    const names = new Set<string>();
    if (rel) {
      names.add(`${rel.schema}.${rel.name}`);
      if (newName?.includes('.')) names.add(newName);
    }
    const relMatches = (s: AppliedStatement, i: number): boolean => {
      const t = s.targets[i];
      if (!t) return false;
      if (oid !== undefined && t.oid === oid) return true;
      return names.has(`${t.schema}.${t.name}`);
    };
    const columnMatches = (s: AppliedStatement, i: number): boolean => {
      const act = s.facts.acts[i]!;
      if (change.column === undefined) return true;
      if (change.kind === 'constraint-added' && change.constraint) {
        if (act.constraintName !== undefined) return act.constraintName === change.constraint.name;
        return act.column === undefined || change.constraint.columns.includes(act.column);
      }
      return act.column === change.column || (newName !== undefined && act.column === newName);
    };
    const schemaMatches = (s: AppliedStatement, i: number): boolean => {
      const act = s.facts.acts[i]!;
      const schema = change.schema ?? rel?.schema;
      return act.schema !== undefined && act.schema === schema;
    };
    const candidates = this.ran;
    const find = (pred: (s: AppliedStatement, i: number) => boolean) => {
      for (const verb of verbs) {
        for (const s of candidates) {
          for (let i = 0; i < s.facts.acts.length; i += 1) {
            if (s.facts.acts[i]!.verb === verb && pred(s, i)) return s;
          }
        }
      }
      return undefined;
    };
    if (!rel) return find(schemaMatches);
    const dependencies = new Set(change.dependsOn ?? []);
    const dependencyMatches = (s: AppliedStatement, i: number): boolean => {
      const t = s.targets[i];
      return (
        t !== undefined &&
        dependencies.has(`${t.schema}.${t.name}`) &&
        s.facts.acts[i]!.cascade === true
      );
    };
    return (
      find((s, i) => relMatches(s, i) && columnMatches(s, i)) ??
      find((s, i) => relMatches(s, i) || schemaMatches(s, i)) ??
      find(dependencyMatches) ??
      candidates.find((s) => s.facts.acts.some((_, i) => relMatches(s, i)))
    );
  }
}
