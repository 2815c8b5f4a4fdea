import fc from 'fast-check';
import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir } from './fixtures.js';
import { changedOutcomes, denied, outcomesAs } from './invariant-helpers.js';

/** The column kinds a generated table may have, each with the value a statement compares it to. */
const KINDS = {
  citext: { type: 'citext', value: "'ALICE'", stored: "'alice'" },
  mood: { type: 'public.mood', value: "'sad'", stored: "'sad'" },
  positive: { type: 'public.positive', value: '3', stored: '3' },
  text: { type: 'text', value: "'a'", stored: "'a'" },
} as const;
type Kind = keyof typeof KINDS;

interface TableModel {
  /** 0: a schema of service s0, ... or -1: public, shared. */
  schema: number;
  owner: number;
  kinds: Kind[];
  generated: boolean;
}

interface Model {
  services: number;
  tables: TableModel[];
  contracts: [number, number, boolean][];
  enforcement: 'enforce' | 'audit';
  publicWhole: boolean;
}

const model: fc.Arbitrary<Model> = fc.record({
  services: fc.integer({ min: 2, max: 3 }),
  tables: fc.array(
    fc.record({
      schema: fc.integer({ min: -1, max: 2 }),
      owner: fc.integer({ min: 0, max: 2 }),
      kinds: fc.uniqueArray(fc.constantFrom<Kind>('citext', 'mood', 'positive', 'text'), {
        minLength: 1,
        maxLength: 3,
      }),
      generated: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  /** Contracts: [reader, table index, read (true) or write]. */
  contracts: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(3), fc.boolean()), {
    maxLength: 4,
  }),
  enforcement: fc.constantFrom<'enforce' | 'audit'>('enforce', 'audit'),
  /** s0 owns public whole (where citext, the enum, the domain and the function live). */
  publicWhole: fc.boolean(),
});

function build(m: Model, prefix: string) {
  const services = [...Array(m.services)].map((_, i) => `${prefix}s${i}`);
  const tables = m.tables.map((t: TableModel, i) => {
    const owner = t.owner % m.services;
    // A table in a service's schema belongs to that service; in public, to its pattern's.
    const schema = t.schema === -1 ? 'public' : `${prefix}s${t.schema % m.services}`;
    return {
      ...t,
      owner: t.schema === -1 ? (m.publicWhole ? 0 : owner) : t.schema % m.services,
      schema,
      name: `t${i}`,
    };
  });
  const setup = [
    'CREATE EXTENSION IF NOT EXISTS citext',
    "DO $$ BEGIN CREATE TYPE public.mood AS ENUM ('happy', 'sad'); EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    'DO $$ BEGIN CREATE DOMAIN public.positive AS int CHECK (VALUE > 0); EXCEPTION WHEN duplicate_object THEN NULL; END $$',
    "CREATE OR REPLACE FUNCTION public.tag(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$SELECT 'tag-' || $1$$",
    ...services.map((s) => `CREATE SCHEMA ${s}`),
    ...services.map((s) => `CREATE ROLE ${s}`),
    ...tables.map(
      (t) =>
        `CREATE TABLE ${t.schema}.${t.name} (id serial PRIMARY KEY, ${t.kinds.map((k) => `c_${k} ${KINDS[k].type}`).join(', ')}${t.generated ? ', g text GENERATED ALWAYS AS (public.tag(id::text)) STORED' : ''})`,
    ),
    ...tables.map(
      (t) =>
        `INSERT INTO ${t.schema}.${t.name} (${t.kinds.map((k) => `c_${k}`).join(', ')}) VALUES (${t.kinds.map((k) => KINDS[k].stored).join(', ')})`,
    ),
    // The monolith: everyone may do everything.
    `GRANT USAGE ON SCHEMA ${services.join(', ')} TO ${services.join(', ')}`,
    `GRANT ALL ON ALL TABLES IN SCHEMA public, ${services.join(', ')} TO ${services.join(', ')}`,
    `GRANT ALL ON ALL SEQUENCES IN SCHEMA public, ${services.join(', ')} TO ${services.join(', ')}`,
  ];
  const contracts = new Map<string, Map<string, { read: boolean; columns: string[] }>>();
  for (const [reader, index, read] of m.contracts) {
    const table = tables[index % tables.length]!;
    const service = reader % m.services;
    if (service === table.owner) continue;
    const key = `${table.schema}.${table.name}`;
    const own = contracts.get(services[service]!) ?? new Map();
    if (!own.has(key)) own.set(key, { read, columns: table.kinds.map((k) => `c_${k}`) });
    contracts.set(services[service]!, own);
  }
  const yaml = [
    'version: 1',
    `enforcement: ${m.enforcement}`,
    'services:',
    ...services.flatMap((s, i) => {
      const owned = m.publicWhole
        ? []
        : tables.filter((t) => t.schema === 'public' && t.owner === i);
      const whole = m.publicWhole && i === 0 ? ['public'] : [];
      const entries = contracts.get(s) ?? new Map();
      const section = (read: boolean) =>
        [...entries]
          .filter(([, c]) => c.read === read)
          .map(([k, c]) => `      ${k}: [${c.columns.join(', ')}]`);
      const reads = section(true);
      const writes = section(false);
      return [
        `  ${s}:`,
        `    owns: [${[s, ...whole, ...owned.map((t) => `public.${t.name}`)].join(', ')}]`,
        ...(reads.length > 0 ? ['    reads:', ...reads] : []),
        ...(writes.length > 0 ? ['    writes:', ...writes] : []),
      ];
    }),
    '',
  ].join('\n');
  const statements = tables.flatMap((t) => {
    const ref = `${t.schema}.${t.name}`;
    return [
      ...t.kinds.map((k) => `SELECT count(*) FROM ${ref} WHERE c_${k} = ${KINDS[k].value}`),
      `INSERT INTO ${ref} (${t.kinds.map((k) => `c_${k}`).join(', ')}) VALUES (${t.kinds.map((k) => KINDS[k].value).join(', ')}) RETURNING id > 0 AS ok`,
      `UPDATE ${ref} SET c_${t.kinds[0]} = ${KINDS[t.kinds[0]!].value} WHERE id = 1 RETURNING id`,
      `DELETE FROM ${ref} WHERE id = 1 RETURNING id`,
    ];
  });
  return { services, setup, yaml, statements };
}

describeEachServer('the apply invariant over generated schemas and roles', (server) => {
  it('every statement a role may run before and after apply returns the same', async () => {
    let run = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(model, async (m) => {
        run++;
        const url = await server().createDatabase();
        const { services, setup, yaml, statements } = build(m, `p${run}_`);
        await withClient(url, async (c) => {
          for (const sql of setup) await c.query(sql);
        });
        const manifest = parseManifest(yaml, `${tempDir()}/pgpact.yaml`);
        const before = await Promise.all(services.map((s) => outcomesAs(url, s, statements)));
        await applyProvisioning(url, manifest, { stateDir: tempDir(), allowRevoke: true });
        const after = await Promise.all(services.map((s) => outcomesAs(url, s, statements)));
        const changed = services.flatMap((s, i) =>
          changedOutcomes(s, statements, before[i]!, after[i]!),
        );
        compared += services.reduce(
          (n, _, i) =>
            n +
            statements.filter((_, j) => !denied(before[i]![j]!) && !denied(after[i]![j]!)).length,
          0,
        );
        expect(changed, yaml).toEqual([]);
      }),
      { numRuns: 12 },
    );
    console.log(
      `apply invariant [${server().label}]: ${run} generated databases, ${compared} statements compared`,
    );
    expect(compared).toBeGreaterThan(0);
  });
});
