import { type Problem, PgpactError } from '../errors.js';
import { findRelation } from '../postgres/catalog.js';
import type { CatalogSnapshot, RelationInfo } from '../postgres/catalog-types.js';
import { quoteIdent } from '../postgres/quote.js';
import { parseExpression } from './expressions.js';
import {
  notNullCheckName,
  syncFunctionName,
  syncTriggerName,
  tableKey,
  temporaryColumnName,
} from './names.js';
import {
  columnDefinition,
  commentSql,
  defaultConstraintName,
  isOnDeleteAction,
  qualified,
  referencesSql,
} from './plan-sql.js';
import type {
  BackfillPlan,
  ExpressionInput,
  GuardedStatement,
  MigrationPlan,
  Step,
  SyncRule,
} from './plan-types.js';
import { dropSyncSql, syncFunctionSql, syncTriggerSql } from './sync-trigger.js';
import type { ColumnSpec, Migration, Operation, TableName } from './types.js';

/** Everything one existing table gets from the migration, gathered before the steps are written. */
interface TableWork {
  table: TableName;
  relation: RelationInfo;
  addColumns: GuardedStatement[];
  afterAdd: GuardedStatement[];
  constraints: GuardedStatement[];
  rules: SyncRule[];
  backfill: { assignments: { column: string; expression: string }[]; condition: string }[];
  complete: GuardedStatement[];
  rollback: GuardedStatement[];
  /** Columns the migration adds, for checking expressions. */
  newColumns: string[];
}

/** Plans a migration against the live catalog; throws MIGRATION_INVALID with every problem found. */
export function planMigration(migration: Migration, catalog: CatalogSnapshot): MigrationPlan {
  return new Planner(migration, catalog).build();
}

class Planner {
  private readonly problems: Problem[] = [];
  private readonly work = new Map<string, TableWork>();
  /** Rollback runs raw SQL downs first (a view on a new column must go before it), then indexes, tables, created tables. */
  private readonly undo = {
    sql: [] as Step[],
    indexes: [] as Step[],
    tables: [] as Step[],
    created: [] as Step[],
  };
  private readonly created = new Map<string, number>();
  private readonly plan: MigrationPlan = {
    version: 1,
    expand: [],
    syncs: [],
    backfills: [],
    validate: [],
    complete: [],
    rollback: [],
    oldShape: [],
    droppedTables: [],
    notes: [],
  };

  constructor(
    private readonly migration: Migration,
    private readonly catalog: CatalogSnapshot,
  ) {}

  private problem(index: number, message: string, hint?: string): void {
    this.problems.push({
      code: 'MIGRATION_PLAN',
      message: `operation ${index + 1}: ${message}`,
      file: this.migration.file,
      ...(hint ? { hint } : {}),
    });
  }

  build(): MigrationPlan {
    const ops = this.migration.operations;
    // Which tables this migration creates, by position.
    ops.forEach((o, i) => {
      if (o.op === 'create_table') this.created.set(tableKey(o.table), i);
    });
    const emitted = new Set<string>();
    ops.forEach((o, i) => {
      const before = this.plan.expand.length;
      this.operation(o, i);
      if (o.op !== 'sql' && o.op !== 'create_table' && !this.created.has(tableKey(o.table))) {
        const key = tableKey(o.table);
        // The table's one expand step goes where its first operation is.
        if (!emitted.has(key) && this.work.has(key)) {
          emitted.add(key);
          this.plan.expand.splice(before, 0, {
            kind: 'ddl',
            id: `expand:${key}`,
            description: `expand ${key}`,
            statements: [],
          });
        }
      }
    });
    const completes: Step[] = [];
    for (const w of this.work.values()) this.finishTable(w, completes);
    this.plan.complete.unshift(...completes);
    this.plan.expand = this.plan.expand.filter((s) => s.kind !== 'ddl' || s.statements.length > 0);
    this.plan.rollback = [
      ...this.undo.sql.reverse(),
      ...this.undo.indexes.reverse(),
      ...this.undo.tables,
      ...this.undo.created.reverse(),
    ];
    if (this.problems.length > 0) {
      throw new PgpactError(
        'MIGRATION_INVALID',
        `the migration ${this.migration.name} does not fit the database (${this.problems.length} problem(s))`,
        {
          problems: this.problems,
        },
      );
    }
    return this.plan;
  }

  /** The work of an existing table, checking it exists. */
  private table(table: TableName, index: number): TableWork | undefined {
    const key = tableKey(table);
    const existing = this.work.get(key);
    if (existing) return existing;
    const relation = findRelation(this.catalog, table.schema, table.name);
    if (!relation || (relation.kind !== 'table' && relation.kind !== 'partitioned_table')) {
      this.problem(
        index,
        `table ${key} does not exist`,
        relation
          ? `${key} is a ${relation.kind}`
          : 'check the schema and the exact spelling (names are case-sensitive)',
      );
      return undefined;
    }
    const w: TableWork = {
      table,
      relation,
      addColumns: [],
      afterAdd: [],
      constraints: [],
      rules: [],
      backfill: [],
      complete: [],
      rollback: [],
      newColumns: [],
    };
    this.work.set(key, w);
    return w;
  }

  private column(w: TableWork, name: string, index: number) {
    const column = w.relation.columns.find((c) => c.name === name);
    if (!column) this.problem(index, `column ${tableKey(w.table)}.${name} does not exist`);
    return column;
  }

  private absent(w: TableWork, name: string, index: number): boolean {
    if (w.relation.columns.some((c) => c.name === name)) {
      this.problem(index, `column ${tableKey(w.table)}.${name} already exists`);
      return false;
    }
    w.newColumns.push(name);
    return true;
  }

  private notInKey(w: TableWork, name: string, index: number, what: string): void {
    const pk = w.relation.constraints.find((c) => c.type === 'p');
    if (pk?.columns.includes(name))
      this.problem(
        index,
        `${what} ${tableKey(w.table)}.${name}, a primary key column, is not supported`,
      );
  }

  /** The inputs of an expression, checked against the table's columns; `alias` maps a name to another column. */
  private inputs(
    w: TableWork,
    expression: string,
    index: number,
    alias: Record<string, string> = {},
  ): ExpressionInput[] {
    const parsed = parseExpression(expression);
    if (!parsed.ok) return [];
    const known = new Set([...w.relation.columns.map((c) => c.name), ...w.newColumns]);
    const out: ExpressionInput[] = [];
    for (const name of parsed.columns) {
      if (!known.has(name) && alias[name] === undefined) {
        this.problem(
          index,
          `\`${expression}\` names \`${name}\`, which is not a column of ${tableKey(w.table)}`,
          'expressions are SQL over the row: quote names with capitals or spaces ("Street")',
        );
        continue;
      }
      out.push({ name, column: alias[name] ?? name });
    }
    return out;
  }

  private notNullCheck(w: TableWork, column: string): string {
    const name = notNullCheckName(this.migration.name, w.table, column);
    const t = qualified(w.table);
    w.constraints.push({
      sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`,
      guard: { kind: 'constraint-missing', table: w.table, name },
    });
    this.plan.validate.push({
      kind: 'ddl',
      id: `validate:${tableKey(w.table)}:${name}`,
      description: `validate NOT NULL of ${tableKey(w.table)}.${column}`,
      statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
    });
    return name;
  }

  private setNotNullAtComplete(w: TableWork, column: string, check: string): void {
    const t = qualified(w.table);
    w.complete.push(
      { sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL` },
      { sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(check)}` },
    );
    w.rollback.push({ sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(check)}` });
  }

  private addNewColumn(w: TableWork, name: string, type: string): void {
    w.addColumns.push({
      sql: `ALTER TABLE ${qualified(w.table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`,
    });
    w.rollback.push({
      sql: `ALTER TABLE ${qualified(w.table)} DROP COLUMN IF EXISTS ${quoteIdent(name)}`,
    });
  }

  private noteCarried(w: TableWork, column: string, what: string): void {
    // pg_get_indexdef prints a column bare or quoted; either form between delimiters means the index uses it.
    const forms = [column, quoteIdent(column)].map(escapeRegExp).join('|');
    const uses = new RegExp(`[(, ](?:${forms})[,) ]`);
    const indexes = w.relation.indexes.filter((ix) => uses.test(ix.definition));
    const constraints = w.relation.constraints.filter(
      (c) => c.columns.includes(column) && c.type !== 'p',
    );
    if (indexes.length + constraints.length > 0) {
      const objects = [
        ...indexes.map((x) => `index ${x.name}`),
        ...constraints.map((c) => `constraint ${c.name}`),
      ].join(', ');
      this.plan.notes.push(
        `${tableKey(w.table)}.${column}: ${objects} ${what}; add them for the new column with add_index / add_constraint`,
      );
    }
  }

  private operation(o: Operation, i: number): void {
    if (o.op === 'sql') {
      const id = `sql:${i}`;
      if (o.onComplete)
        this.plan.complete.push({
          kind: 'once',
          id,
          description: `raw sql (operation ${i + 1})`,
          sql: o.up,
        });
      else {
        this.plan.expand.push({
          kind: 'once',
          id,
          description: `raw sql (operation ${i + 1})`,
          sql: o.up,
        });
        if (o.down !== undefined)
          this.undo.sql.push({
            kind: 'once',
            id: `${id}:down`,
            description: `raw sql down (operation ${i + 1})`,
            sql: o.down,
            onlyIfDone: id,
          });
      }
      return;
    }
    const key = tableKey(o.table);
    if (o.op === 'create_table') {
      this.createTable(o, i);
      return;
    }
    if (this.created.has(key)) {
      this.onCreatedTable(o, i);
      return;
    }
    if (o.op === 'add_index') {
      this.addIndex(o, i);
      return;
    }
    const w = this.table(o.table, i);
    if (!w) return;
    const t = qualified(w.table);
    switch (o.op) {
      case 'drop_table':
        this.work.delete(key);
        this.plan.droppedTables.push(o.table);
        for (const c of w.relation.columns)
          this.plan.oldShape.push({
            table: o.table,
            column: c.name,
            replacedBy: [],
            operation: `drop_table ${key}`,
            blocking: true,
          });
        this.plan.complete.push({
          kind: 'ddl',
          id: `drop-table:${key}`,
          description: `drop table ${key}`,
          statements: [{ sql: `DROP TABLE IF EXISTS ${t}` }],
        });
        return;
      case 'add_column': {
        const c = o.column;
        if (!this.absent(w, c.name, i)) return;
        if (c.primaryKey)
          this.problem(i, `add_column ${key}.${c.name}: pk is only read by create_table`);
        if (o.up === undefined) {
          if (!c.nullable && c.default === undefined)
            this.problem(
              i,
              `add_column ${key}.${c.name} is NOT NULL without a default or up`,
              'give `up` (an expression filling existing and old-code rows) or a default, or nullable: true',
            );
          w.addColumns.push({
            sql: `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${c.type}${c.default === undefined ? '' : ` DEFAULT ${c.default}`}${c.nullable ? '' : ' NOT NULL'}`,
          });
          if (c.default !== undefined)
            this.plan.notes.push(
              `${key}.${c.name}: a volatile default (random(), clock_timestamp()...) rewrites the table under an exclusive lock; write it as \`up\` instead`,
            );
          w.rollback.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(c.name)}` });
        } else {
          this.addNewColumn(w, c.name, c.type);
          if (c.default !== undefined)
            w.afterAdd.push({
              sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default}`,
            });
          const inputs = this.inputs(w, o.up, i).filter((x) => x.name !== c.name);
          w.rules.push({
            kind: 'fill-null',
            operation: `add_column ${c.name}`,
            column: c.name,
            expression: o.up,
            inputs,
          });
          w.backfill.push({
            assignments: [{ column: c.name, expression: o.up }],
            condition: `${quoteIdent(c.name)} IS NULL`,
          });
          if (!c.nullable) this.setNotNullAtComplete(w, c.name, this.notNullCheck(w, c.name));
        }
        this.columnExtras(w, c, i);
        return;
      }
      case 'drop_column': {
        const column = this.column(w, o.column, i);
        if (!column) return;
        this.notInKey(w, o.column, i, 'dropping');
        if (o.down !== undefined) {
          const inputs = this.inputs(w, o.down, i).filter((x) => x.name !== o.column);
          w.rules.push({
            kind: 'fill-null',
            operation: `drop_column ${o.column}`,
            column: o.column,
            expression: o.down,
            inputs,
          });
        } else if (column.notNull && column.default === undefined) {
          this.plan.notes.push(
            `${key}.${o.column} is NOT NULL without a default: code that stops writing it fails until complete; give \`down\``,
          );
        }
        w.complete.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(o.column)}` });
        this.plan.oldShape.push({
          table: o.table,
          column: o.column,
          replacedBy: [],
          operation: `drop_column ${o.column}`,
          blocking: true,
        });
        return;
      }
      case 'rename_column':
      case 'split_column':
      case 'merge_columns':
      case 'change_type':
        this.twoWay(w, o, i);
        return;
      case 'set_not_null': {
        const column = this.column(w, o.column, i);
        if (!column) return;
        if (column.notNull) {
          this.plan.notes.push(`${key}.${o.column} is already NOT NULL`);
          return;
        }
        if (o.up !== undefined) {
          const inputs = this.inputs(w, o.up, i).filter((x) => x.name !== o.column);
          w.rules.push({
            kind: 'fill-null',
            operation: `set_not_null ${o.column}`,
            column: o.column,
            expression: o.up,
            inputs,
          });
          w.backfill.push({
            assignments: [{ column: o.column, expression: o.up }],
            condition: `${quoteIdent(o.column)} IS NULL`,
          });
        }
        this.setNotNullAtComplete(w, o.column, this.notNullCheck(w, o.column));
        return;
      }
      case 'add_constraint':
        this.addConstraint(w, o, i);
        return;
    }
  }

  private columnExtras(w: TableWork, c: ColumnSpec, i: number): void {
    const t = qualified(w.table);
    if (c.comment !== undefined) w.afterAdd.push({ sql: commentSql(w.table, c.name, c.comment) });
    if (c.check) {
      const name = c.check.name ?? defaultConstraintName(w.table, [c.name], 'check');
      this.inputs(w, c.check.expression, i);
      w.constraints.push({
        sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} CHECK (${c.check.expression}) NOT VALID`,
        guard: { kind: 'constraint-missing', table: w.table, name },
      });
      this.plan.validate.push({
        kind: 'ddl',
        id: `validate:${tableKey(w.table)}:${name}`,
        description: `validate ${name}`,
        statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
      });
    }
    if (c.references) {
      if (c.references.onDelete && !isOnDeleteAction(c.references.onDelete))
        this.problem(i, `unknown on_delete \`${c.references.onDelete}\``);
      else {
        const name = c.references.name ?? defaultConstraintName(w.table, [c.name], 'fkey');
        w.constraints.push({
          sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${quoteIdent(c.name)}) ${referencesSql(c.references)} NOT VALID`,
          guard: { kind: 'constraint-missing', table: w.table, name },
        });
        this.plan.validate.push({
          kind: 'ddl',
          id: `validate:${tableKey(w.table)}:${name}`,
          description: `validate ${name}`,
          statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(name)}` }],
        });
      }
    }
    if (c.unique) {
      const name = defaultConstraintName(w.table, [c.name], 'key');
      this.uniqueIndexConstraint(w.table, name, [c.name], `unique ${tableKey(w.table)}.${c.name}`);
    }
  }

  private uniqueIndexConstraint(
    table: TableName,
    name: string,
    columns: string[],
    description: string,
  ): void {
    const t = qualified(table);
    this.plan.validate.push({
      kind: 'create-index',
      id: `index:${table.schema}.${name}`,
      description,
      schema: table.schema,
      name,
      sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(name)} ON ${t} (${columns.map(quoteIdent).join(', ')})`,
      afterwards: [
        {
          sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(name)} UNIQUE USING INDEX ${quoteIdent(name)}`,
          guard: { kind: 'constraint-missing', table, name },
        },
      ],
    });
    // Reversed at the end: the constraint (which owns the index) is dropped first.
    this.undo.indexes.push({
      kind: 'drop-index',
      id: `rollback:index:${table.schema}.${name}`,
      description: `drop index ${name}`,
      schema: table.schema,
      name,
    });
    this.undo.indexes.push({
      kind: 'ddl',
      id: `rollback:constraint:${tableKey(table)}:${name}`,
      description: `drop ${name}`,
      statements: [
        {
          sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)}`,
          guard: { kind: 'table-exists', table },
        },
      ],
    });
  }

  private twoWay(
    w: TableWork,
    o: Extract<
      Operation,
      { op: 'rename_column' | 'split_column' | 'merge_columns' | 'change_type' }
    >,
    i: number,
  ): void {
    const key = tableKey(w.table);
    const t = qualified(w.table);
    const olds = o.op === 'merge_columns' ? o.from : [o.op === 'change_type' ? o.column : o.from];
    const oldInfos = olds.map((name) => this.column(w, name, i));
    if (oldInfos.some((c) => c === undefined)) return;
    for (const name of olds) this.notInKey(w, name, i, `${o.op} of`);
    for (const c of oldInfos) {
      if (c!.identity || c!.generated)
        this.problem(
          i,
          `${o.op} of ${key}.${c!.name}, an identity or generated column, is not supported`,
        );
    }
    let news: { name: string; type: string; up: string; nullable: boolean }[];
    let downs: { column: string; expression: string }[];
    let alias: Record<string, string> = {};
    let finalNames: string[];
    if (o.op === 'split_column') {
      news = o.to;
      downs = [{ column: o.from, expression: o.down }];
      finalNames = o.to.map((c) => c.name);
    } else if (o.op === 'merge_columns') {
      news = [o.to];
      downs = o.from.map((c) => ({ column: c, expression: o.down[c]! }));
      finalNames = [o.to.name];
    } else if (o.op === 'rename_column') {
      const from = oldInfos[0]!;
      if (from.default?.includes('nextval('))
        this.problem(
          i,
          `renaming ${key}.${o.from}, which takes its default from a sequence, is not supported`,
        );
      news = [{ name: o.to, type: from.type, up: quoteIdent(o.from), nullable: !from.notNull }];
      downs = [{ column: o.from, expression: quoteIdent(o.to) }];
      finalNames = [o.to];
      if (from.default !== undefined && !from.default.includes('nextval(')) {
        w.complete.push({
          sql: `ALTER TABLE ${t} ALTER COLUMN ${quoteIdent(o.to)} SET DEFAULT ${from.default}`,
        });
      }
    } else {
      const target = o.rename ?? temporaryColumnName(o.column);
      news = [{ name: target, type: o.type, up: o.up, nullable: !oldInfos[0]!.notNull }];
      downs = [{ column: o.column, expression: o.down }];
      // Without a rename, `down` names the new value by the column's own name.
      if (o.rename === undefined) alias = { [o.column]: target };
      finalNames = [o.rename ?? o.column];
    }
    for (const n of news) if (!this.absent(w, n.name, i)) return;
    for (const old of olds) this.noteCarried(w, old, 'are dropped with the old column at complete');
    const upInputs = uniqueInputs(news.flatMap((n) => this.inputs(w, n.up, i)));
    const downInputs = uniqueInputs(downs.flatMap((d) => this.inputs(w, d.expression, i, alias)));
    for (const n of news) this.addNewColumn(w, n.name, n.type);
    w.rules.push({
      kind: 'two-way',
      operation: `${o.op} ${olds.join(', ')} -> ${finalNames.join(', ')}`,
      up: news.map((n) => ({ column: n.name, expression: n.up })),
      down: downs,
      upInputs,
      downInputs,
    });
    w.backfill.push({
      assignments: news.map((n) => ({ column: n.name, expression: n.up })),
      condition: news.map((n) => `${quoteIdent(n.name)} IS NULL`).join(' AND '),
    });
    for (const old of olds)
      w.complete.push({ sql: `ALTER TABLE ${t} DROP COLUMN IF EXISTS ${quoteIdent(old)}` });
    if (o.op === 'change_type' && o.rename === undefined) {
      const target = news[0]!.name;
      w.complete.push({
        sql: `ALTER TABLE ${t} RENAME COLUMN ${quoteIdent(target)} TO ${quoteIdent(o.column)}`,
        guard: { kind: 'column-exists', table: w.table, column: target },
      });
    }
    news.forEach((n, k) => {
      if (!n.nullable) this.setNotNullAtComplete(w, finalNames[k]!, this.notNullCheck(w, n.name));
    });
    const sameName = o.op === 'change_type' && o.rename === undefined;
    for (const old of olds) {
      this.plan.oldShape.push({
        table: w.table,
        column: old,
        replacedBy: sameName ? [old] : finalNames,
        operation: `${o.op} ${olds.join(', ')} -> ${finalNames.join(', ')}`,
        blocking: !sameName,
      });
    }
  }

  private addConstraint(
    w: TableWork,
    o: Extract<Operation, { op: 'add_constraint' }>,
    i: number,
  ): void {
    const t = qualified(w.table);
    for (const c of o.columns)
      if (!w.relation.columns.some((x) => x.name === c) && !w.newColumns.includes(c))
        this.problem(i, `column ${tableKey(w.table)}.${c} does not exist`);
    if (w.relation.constraints.some((c) => c.name === o.name))
      this.problem(i, `constraint ${o.name} already exists on ${tableKey(w.table)}`);
    if (o.type === 'unique') {
      this.uniqueIndexConstraint(w.table, o.name, o.columns, `unique ${o.name}`);
      return;
    }
    let body: string;
    if (o.type === 'check') {
      this.inputs(w, o.check ?? 'true', i);
      body = `CHECK (${o.check})`;
    } else {
      if (o.references?.onDelete && !isOnDeleteAction(o.references.onDelete)) {
        this.problem(i, `unknown on_delete \`${o.references.onDelete}\``);
        return;
      }
      body = `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) ${referencesSql(o.references!)}`;
    }
    w.constraints.push({
      sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(o.name)} ${body} NOT VALID`,
      guard: { kind: 'constraint-missing', table: w.table, name: o.name },
    });
    w.rollback.push({ sql: `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}` });
    this.plan.validate.push({
      kind: 'ddl',
      id: `validate:${tableKey(w.table)}:${o.name}`,
      description: `validate ${o.name}`,
      statements: [{ sql: `ALTER TABLE ${t} VALIDATE CONSTRAINT ${quoteIdent(o.name)}` }],
    });
  }

  private addIndex(o: Extract<Operation, { op: 'add_index' }>, i: number): void {
    const key = tableKey(o.table);
    const relation = findRelation(this.catalog, o.table.schema, o.table.name);
    if (!relation && !this.created.has(key)) {
      this.problem(i, `table ${key} does not exist`);
      return;
    }
    const taken = this.catalog.relations.some(
      (r) =>
        r.schema === o.table.schema &&
        (r.name === o.name || r.indexes.some((x) => x.name === o.name)),
    );
    if (taken)
      this.problem(i, `a relation or index named ${o.table.schema}.${o.name} already exists`);
    const using = o.method === undefined ? '' : ` USING ${o.method}`;
    const where = o.where === undefined ? '' : ` WHERE ${o.where}`;
    this.plan.validate.push({
      kind: 'create-index',
      id: `index:${o.table.schema}.${o.name}`,
      description: `index ${o.name} on ${key}`,
      schema: o.table.schema,
      name: o.name,
      sql: `CREATE ${o.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(o.name)} ON ${qualified(o.table)}${using} (${o.columns.map(quoteIdent).join(', ')})${where}`,
    });
    this.undo.indexes.push({
      kind: 'drop-index',
      id: `rollback:index:${o.table.schema}.${o.name}`,
      description: `drop index ${o.name}`,
      schema: o.table.schema,
      name: o.name,
    });
  }

  private createTable(o: Extract<Operation, { op: 'create_table' }>, i: number): void {
    const key = tableKey(o.table);
    if (findRelation(this.catalog, o.table.schema, o.table.name))
      this.problem(i, `table ${key} already exists`);
    if (!this.catalog.schemas.some((s) => s.name === o.table.schema))
      this.problem(
        i,
        `schema ${o.table.schema} does not exist`,
        'create it first (pgpact apply provisions owned schemas)',
      );
    const pk = o.columns.filter((c) => c.primaryKey).map((c) => c.name);
    const defs = o.columns.map((c) => columnDefinition(o.table, c, pk.length === 1));
    if (pk.length > 1) defs.push(`PRIMARY KEY (${pk.map(quoteIdent).join(', ')})`);
    const statements: GuardedStatement[] = [
      { sql: `CREATE TABLE IF NOT EXISTS ${qualified(o.table)} (\n  ${defs.join(',\n  ')}\n)` },
    ];
    for (const c of o.columns)
      if (c.comment !== undefined) statements.push({ sql: commentSql(o.table, c.name, c.comment) });
    this.plan.expand.push({
      kind: 'ddl',
      id: `create-table:${key}`,
      description: `create table ${key}`,
      statements,
    });
    this.undo.created.push({
      kind: 'ddl',
      id: `rollback:create-table:${key}`,
      description: `drop table ${key}`,
      statements: [{ sql: `DROP TABLE IF EXISTS ${qualified(o.table)}` }],
    });
  }

  /** Operations on a table this migration creates: nobody reads it yet, so they apply directly. */
  private onCreatedTable(o: Operation, i: number): void {
    if (o.op === 'add_column') {
      this.plan.expand.push({
        kind: 'ddl',
        id: `add-column:${i}`,
        description: `add ${o.column.name}`,
        statements: [
          {
            sql: `ALTER TABLE ${qualified(o.table)} ADD COLUMN IF NOT EXISTS ${columnDefinition(o.table, o.column, true)}`,
          },
        ],
      });
    } else if (o.op === 'add_index') {
      this.addIndex(o, i);
    } else if (o.op === 'add_constraint') {
      const t = qualified(o.table);
      const body =
        o.type === 'check'
          ? `CHECK (${o.check})`
          : o.type === 'unique'
            ? `UNIQUE (${o.columns.map(quoteIdent).join(', ')})`
            : `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) ${referencesSql(o.references!)}`;
      this.plan.expand.push({
        kind: 'ddl',
        id: `add-constraint:${i}`,
        description: `add ${o.name}`,
        statements: [
          {
            sql: `ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(o.name)} ${body}`,
            guard: { kind: 'constraint-missing', table: o.table, name: o.name },
          },
        ],
      });
    } else if (o.op !== 'sql' && o.op !== 'create_table') {
      this.problem(
        i,
        `${o.op} on ${tableKey(o.table)}, a table this migration creates`,
        'write the final shape in create_table',
      );
    }
  }

  /** Writes the table's expand step, sync trigger, backfill and complete/rollback steps. */
  private finishTable(w: TableWork, completes: Step[]): void {
    const key = tableKey(w.table);
    const step = this.plan.expand.find((s) => s.id === `expand:${key}`);
    const statements: GuardedStatement[] = [...w.addColumns, ...w.afterAdd];
    const complete: GuardedStatement[] = [];
    const rollback: GuardedStatement[] = [];
    if (w.rules.length > 0) {
      const sync = {
        table: w.table,
        functionName: syncFunctionName(this.migration.name, w.table),
        triggerName: syncTriggerName(this.migration.name),
        rules: w.rules,
      };
      this.plan.syncs.push(sync);
      statements.push(
        { sql: 'CREATE SCHEMA IF NOT EXISTS pgpact' },
        { sql: syncFunctionSql(sync) },
        { sql: syncTriggerSql(sync) },
      );
      complete.push(...dropSyncSql(sync).map((sql) => ({ sql })));
      rollback.push(
        ...dropSyncSql(sync).map((sql) => ({
          sql,
          guard: { kind: 'table-exists' as const, table: w.table },
        })),
      );
    }
    statements.push(...w.constraints);
    if (step && step.kind === 'ddl') step.statements = statements;
    if (w.backfill.length > 0) this.plan.backfills.push(this.backfillPlan(w));
    complete.push(...w.complete);
    rollback.push(
      ...w.rollback.map((s) => ({
        ...s,
        guard: { kind: 'table-exists' as const, table: w.table },
      })),
    );
    if (complete.length > 0)
      completes.push({
        kind: 'ddl',
        id: `complete:${key}`,
        description: `contract ${key}`,
        statements: complete,
      });
    if (rollback.length > 0)
      this.undo.tables.push({
        kind: 'ddl',
        id: `rollback:${key}`,
        description: `undo expand of ${key}`,
        statements: rollback,
      });
  }

  private backfillPlan(w: TableWork): BackfillPlan {
    const pk = w.relation.constraints.find((c) => c.type === 'p');
    const key = (pk?.columns ?? []).map((name) => ({
      name,
      type: w.relation.columns.find((c) => c.name === name)!.type,
    }));
    const parts = w.backfill;
    // One rule: plain assignments. Several: each only where its own rule has not synced the row.
    const assignments = parts
      .flatMap((p) =>
        p.assignments.map(({ column, expression }) =>
          parts.length === 1
            ? `${quoteIdent(column)} = (${expression})`
            : `${quoteIdent(column)} = CASE WHEN ${p.condition} THEN (${expression}) ELSE ${quoteIdent(column)} END`,
        ),
      )
      .join(', ');
    const condition = parts.map((p) => `(${p.condition})`).join(' OR ');
    if (key.length === 0 && w.relation.kind === 'partitioned_table') {
      this.problems.push({
        code: 'MIGRATION_PLAN',
        message: `${tableKey(w.table)} is partitioned and has no primary key: the backfill cannot walk it`,
        file: this.migration.file,
      });
    }
    return {
      table: w.table,
      strategy: key.length > 0 ? 'primary-key' : 'ctid',
      key,
      assignments,
      condition,
    };
  }
}

function uniqueInputs(inputs: ExpressionInput[]): ExpressionInput[] {
  const seen = new Map<string, ExpressionInput>();
  for (const input of inputs) if (!seen.has(input.name)) seen.set(input.name, input);
  return [...seen.values()];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
