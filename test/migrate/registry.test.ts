import { expect, it } from 'vitest';
import type { CatalogSnapshot } from '../../src/catalog-types.js';
import { PgpactError, type Problem } from '../../src/errors.js';
import {
  definitionOf,
  OPERATION_DEFINITIONS,
  type OperationKind,
  spellingOf,
} from '../../src/migrate/operations/registry.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { planMigration } from '../../src/migrate/plan.js';
import type { Step } from '../../src/migrate/plan-types.js';
import type { Migration } from '../../src/migrate/types.js';
import { readCatalog } from '../../src/postgres/catalog.js';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { createPeople, createShop } from './helpers.js';

/**
 * The operation registry: every kind of the Operation union has its definition, every key a
 * migration file may use is read by one, refuses a malformed entry at its line and column, and
 * reads a representative entry into operations that plan into steps.
 */

/** Every kind of the Operation union: the compiler refuses this list when a kind is missing or unknown. */
const KINDS = {
  create_table: true,
  drop_table: true,
  add_column: true,
  drop_column: true,
  rename_column: true,
  split_column: true,
  merge_columns: true,
  change_type: true,
  set_not_null: true,
  add_index: true,
  add_constraint: true,
  sql: true,
  drop_index: true,
  drop_constraint: true,
  rename_constraint: true,
  set_replica_identity: true,
  set_default: true,
  set_comment: true,
  drop_not_null: true,
  move_table: true,
  rename_table: true,
} satisfies Record<OperationKind, true>;

/** A representative entry per file key: the kinds it reads into and SQL its plan must hold. */
const ENTRIES: { key: string; body: string; kinds: OperationKind[]; sql: string }[] = [
  {
    key: 'create_table',
    body: '{ name: shelves, comment: racks, columns: [{ name: id, type: bigint, pk: true }, { name: label, type: text, nullable: true }] }',
    kinds: ['create_table'],
    sql: 'CREATE TABLE IF NOT EXISTS "public"."shelves"',
  },
  {
    key: 'drop_table',
    body: '{ name: people }',
    kinds: ['drop_table'],
    sql: 'DROP TABLE IF EXISTS "public"."people"',
  },
  {
    key: 'add_column',
    body: '{ table: people, column: { name: shout, type: text, nullable: true }, up: upper(src) }',
    kinds: ['add_column'],
    sql: 'ADD COLUMN IF NOT EXISTS "shout" text',
  },
  {
    key: 'drop_column',
    body: `{ table: people, column: legacy, down: "'gone'" }`,
    kinds: ['drop_column'],
    sql: 'DROP COLUMN IF EXISTS "legacy"',
  },
  {
    key: 'rename_column',
    body: '{ table: people, column: handle, name: username }',
    kinds: ['rename_column'],
    sql: 'ADD COLUMN IF NOT EXISTS "username" text',
  },
  {
    key: 'split_column',
    body: '{ table: people, from: nick, to: [{ name: nick_a, type: text, up: "left(nick, 2)" }, { name: nick_b, type: text, up: "substr(nick, 3)" }], down: "nick_a || nick_b" }',
    kinds: ['split_column'],
    sql: 'ADD COLUMN IF NOT EXISTS "nick_b" text',
  },
  {
    key: 'merge_columns',
    body: `{ table: shop.customer, from: [first, last], to: { name: full_name, type: text, up: "first || ' ' || last" }, down: { first: "split_part(full_name, ' ', 1)", last: "split_part(full_name, ' ', 2)" } }`,
    kinds: ['merge_columns'],
    sql: 'ADD COLUMN IF NOT EXISTS "full_name" text',
  },
  {
    key: 'change_type',
    body: '{ table: people, column: age, type: integer, up: "age::integer", down: "age::text" }',
    kinds: ['change_type'],
    sql: 'RENAME COLUMN "_pgpact_new_age" TO "age"',
  },
  {
    key: 'alter_column',
    body: '{ table: people, column: age, type: integer, up: "CAST(age AS integer)", down: "CAST(age AS text)", nullable: true, comment: years, default: null }',
    kinds: ['change_type'],
    sql: 'ADD COLUMN IF NOT EXISTS "_pgpact_new_age" integer',
  },
  {
    key: 'alter_column',
    body: `{ table: people, column: legacy, nullable: true, default: "'old'", comment: kept, name: heritage }`,
    kinds: ['drop_not_null', 'set_default', 'set_comment', 'rename_column'],
    sql: `ALTER TABLE "public"."people" ALTER COLUMN "legacy" DROP NOT NULL`,
  },
  {
    key: 'set_not_null',
    body: `{ table: people, column: city, up: "'unknown'" }`,
    kinds: ['set_not_null'],
    sql: 'ALTER COLUMN "city" SET NOT NULL',
  },
  {
    key: 'add_index',
    body: '{ table: people, name: people_city_idx, columns: [city], where: city IS NOT NULL }',
    kinds: ['add_index'],
    sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "people_city_idx" ON "public"."people" ("city") WHERE (city IS NOT NULL)',
  },
  {
    key: 'create_index',
    body: '{ table: people, name: people_src_idx, columns: [{ column: src, opclass: { name: text_pattern_ops } }], storage_parameters: fillfactor=70 }',
    kinds: ['add_index'],
    sql: '("src" "text_pattern_ops") WITH (fillfactor = 70)',
  },
  {
    key: 'add_constraint',
    body: '{ table: people, name: people_age_short, type: check, check: "length(age) < 4" }',
    kinds: ['add_constraint'],
    sql: 'ADD CONSTRAINT "people_age_short" CHECK (length(age) < 4) NOT VALID',
  },
  {
    key: 'create_constraint',
    body: '{ table: people, name: people_src_key, type: unique, columns: [src], up: { src: src }, down: { src: src } }',
    kinds: ['add_constraint'],
    sql: 'ADD CONSTRAINT "people_src_key" UNIQUE USING INDEX "people_src_key"',
  },
  {
    key: 'sql',
    body: '{ up: "CREATE VIEW people_v AS SELECT id FROM people", down: "DROP VIEW people_v" }',
    kinds: ['sql'],
    sql: 'DROP VIEW people_v',
  },
  {
    key: 'drop_index',
    body: '{ name: people_nick_idx }',
    kinds: ['drop_index'],
    sql: 'drop-index public.people_nick_idx',
  },
  {
    key: 'drop_constraint',
    body: '{ table: people, name: people_age_check, up: age, down: age }',
    kinds: ['drop_constraint'],
    sql: 'DROP CONSTRAINT IF EXISTS "people_age_check"',
  },
  {
    key: 'drop_multicolumn_constraint',
    body: '{ table: people, name: people_age_check, up: { age: age }, down: { age: age } }',
    kinds: ['drop_constraint'],
    sql: 'DROP CONSTRAINT IF EXISTS "people_age_check"',
  },
  {
    key: 'rename_constraint',
    body: '{ table: people, from: people_age_check, to: people_age_nonempty }',
    kinds: ['rename_constraint'],
    sql: 'RENAME CONSTRAINT "people_age_check" TO "people_age_nonempty"',
  },
  {
    key: 'set_replica_identity',
    body: '{ table: people, identity: { type: index, index: people_nick_idx } }',
    kinds: ['set_replica_identity'],
    sql: 'REPLICA IDENTITY USING INDEX "people_nick_idx"',
  },
  {
    key: 'move_table',
    body: '{ table: public.people, schema: crm }',
    kinds: ['move_table'],
    sql: "to_schema text := 'crm';",
  },
  {
    key: 'rename_table',
    body: '{ from: people, to: persons }',
    kinds: ['rename_table'],
    sql: 'CREATE VIEW "public"."persons" WITH (security_invoker = true) AS SELECT * FROM "public"."people"',
  },
];

const fileKeys = () => OPERATION_DEFINITIONS.flatMap((d) => d.spellings.map((s) => s.key));

/** The SQL a step runs (a drop-index step: its target; steps.ts writes the DROP INDEX CONCURRENTLY). */
function stepSql(step: Step): string {
  switch (step.kind) {
    case 'ddl':
      return step.statements.map((s) => s.sql).join('\n');
    case 'once':
      return step.sql;
    case 'create-index':
      return [step.sql, ...(step.afterwards ?? []).map((s) => s.sql)].join('\n');
    case 'drop-index':
      return `drop-index ${step.schema}.${step.name}`;
  }
}

async function problemsOf(text: string): Promise<Problem[]> {
  try {
    await parseMigration(text, '/tmp/registry.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PgpactError);
    expect((error as PgpactError).code).toBe('MIGRATION_INVALID');
    return (error as PgpactError).problems;
  }
  throw new Error(`expected the migration to be refused:\n${text}`);
}

it('has one definition per kind of the Operation union, and one reader per file key', () => {
  expect(OPERATION_DEFINITIONS.map((d) => d.kind).sort()).toEqual(Object.keys(KINDS).sort());
  for (const d of OPERATION_DEFINITIONS) {
    // Planned either on its table's work or on the plan as a whole, never both.
    expect(
      [d.plan, d.planOnTable].filter((f) => f !== undefined),
      d.kind,
    ).toHaveLength(1);
    for (const s of d.spellings) expect(spellingOf(s.key)).toBe(s);
  }
  const keys = fileKeys();
  expect(new Set(keys).size).toBe(keys.length);
  expect(spellingOf('alter_column')?.format).toBe('pgroll');
  expect(spellingOf('rename_column')?.format).toBe('pgpact');
  expect(spellingOf('rename_table')?.format).toBe('pgpact');
});

it('every file key refuses a malformed entry at the line and column of the fault', async () => {
  for (const key of fileKeys()) {
    const text = `operations:\n  - sql:\n      up: SELECT 1\n  - ${key}:\n      bogus_field: 1\n`;
    const problems = await problemsOf(text);
    expect(
      problems.find((p) => p.message.includes('bogus_field')),
      `${key}: ${JSON.stringify(problems)}`,
    ).toMatchObject({ line: 5, column: 7, file: '/tmp/registry.yaml' });
    // Every problem of the entry is located in the file (missing fields at the entry's key).
    for (const p of problems) {
      expect(p.line, `${key}: ${p.message}`).toBeGreaterThanOrEqual(4);
      expect(p.column, `${key}: ${p.message}`).toBeGreaterThan(0);
    }
  }
});

describeEachServer('the registry against a real catalog', (server) => {
  it('reads a representative entry of every key and plans it into steps, also from its stored JSON', async () => {
    const url = await server().createDatabase();
    const catalog: CatalogSnapshot = await withClient(url, async (c) => {
      await createShop(c, 5);
      await createPeople(c, 5);
      await c.query(`CREATE INDEX people_nick_idx ON people (nick) WHERE nick IS NOT NULL;
        ALTER TABLE people ALTER COLUMN nick SET NOT NULL;
        DROP INDEX people_nick_idx; CREATE UNIQUE INDEX people_nick_idx ON people (nick);
        ALTER TABLE people ADD CONSTRAINT people_age_check CHECK (age <> '')`);
      return readCatalog(c);
    });
    const kindsSeen = new Set<string>();
    for (const entry of ENTRIES) {
      const label = `${entry.key} ${entry.body}`;
      const migration = await parseMigration(
        `operations:\n  - ${entry.key}: ${entry.body}\n`,
        `/tmp/${entry.key}.yaml`,
      );
      expect(
        migration.operations.map((o) => o.op),
        label,
      ).toEqual(entry.kinds);
      for (const o of migration.operations) {
        kindsSeen.add(o.op);
        expect(definitionOf(o).kind).toBe(o.op);
      }
      const plan = planMigration(migration, catalog);
      const steps = [...plan.expand, ...plan.validate, ...plan.complete, ...plan.rollback];
      expect(steps.length, label).toBeGreaterThan(0);
      expect(steps.map(stepSql).join('\n'), label).toContain(entry.sql);
      // The migration is stored as JSON and read back by complete, rollback and status.
      const stored = JSON.parse(JSON.stringify(migration)) as Migration;
      expect(stored.operations, label).toEqual(migration.operations);
      expect(planMigration(stored, catalog), label).toEqual(plan);
      for (const o of stored.operations) {
        const { table } = definitionOf(o).footprint(o);
        if (o.op === 'sql' || o.op === 'drop_index') expect(table).toBeUndefined();
        else expect(table, label).toMatchObject({ schema: expect.any(String) });
      }
    }
    expect([...kindsSeen].sort()).toEqual(Object.keys(KINDS).sort());
    expect([...new Set(ENTRIES.map((e) => e.key))].sort()).toEqual(fileKeys().sort());
  });

  it('refuses each planned kind on a table that does not exist, naming the operation', async () => {
    const url = await server().createDatabase();
    const catalog = await withClient(url, (c) => readCatalog(c));
    for (const entry of ENTRIES) {
      if (entry.key === 'create_table' || entry.key === 'sql' || entry.key === 'drop_index')
        continue;
      const migration = await parseMigration(
        `operations:\n  - ${entry.key}: ${entry.body}\n`,
        `/tmp/${entry.key}.yaml`,
      );
      let problems: Problem[] = [];
      try {
        planMigration(migration, catalog);
      } catch (error) {
        problems = (error as PgpactError).problems;
      }
      expect(problems[0]?.message, entry.key).toMatch(/^operation 1: table \S+ does not exist$/);
    }
  });
});
