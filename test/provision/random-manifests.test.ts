import { expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, snapshot, tempDir } from './fixtures.js';
import { type Before, runMatrix, tablesOf } from './matrix.js';

/** A small seeded PRNG (mulberry32), so a failing sequence can be replayed from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <T>(list: T[]) => list[Math.floor(next() * list.length)]!,
  };
}

const SERVICES = ['alpha', 'Beta Dienst', 'gamma', 'délta'];
const SCHEMAS = ['s_one', 'S Two', 'drei', 'quatre'];
const COLUMNS = ['id', 'a', 'B c', 'zähler'];

const yamlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ref = (schema: string) => yamlString(`${schema.includes('.') ? `"${schema}"` : schema}.t`);

/** A random manifest: every schema owned by some service, random modes, contracts, writes and limits. */
function randomManifest(seed: number): string {
  const r = random(seed);
  const owner = new Map(SCHEMAS.map((s) => [s, r.pick(SERVICES)]));
  const lines = ['version: 1', `enforcement: ${r.chance(0.3) ? 'audit' : 'enforce'}`, 'services:'];
  for (const service of SERVICES) {
    lines.push(`  ${yamlString(service)}:`, `    role: ${yamlString(`rnd ${service}`)}`);
    const owns = SCHEMAS.filter((s) => owner.get(s) === service);
    if (owns.length > 0) lines.push(`    owns: [${owns.map(yamlString).join(', ')}]`);
    if (r.chance(0.25)) lines.push(`    enforcement: ${r.pick(['enforce', 'audit'])}`);
    const others = SCHEMAS.filter((s) => owner.get(s) !== service);
    for (const access of ['reads', 'writes'] as const) {
      const targets = others.filter(() => r.chance(access === 'reads' ? 0.5 : 0.25));
      if (targets.length === 0) continue;
      lines.push(`    ${access}:`);
      for (const schema of targets) {
        const columns = r.chance(0.3)
          ? '"*"'
          : `[${COLUMNS.filter(() => r.chance(0.5))
              .concat(['a'])
              .filter((c, i, all) => all.indexOf(c) === i)
              .map(yamlString)
              .join(', ')}]`;
        lines.push(`      ${ref(schema)}: ${columns}`);
      }
    }
    if (r.chance(0.5)) {
      lines.push(
        `    limits: { connections: ${5 + r.int(20)}, statement_timeout: ${1 + r.int(30)}s, work_mem: ${4 + r.int(60)}MB }`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

describeEachServer('random manifests, one after another on the same database', (server) => {
  it('each apply reaches its manifest from the previous one, and enforces exactly it', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    // Brownfield: admin-owned tables, open to everyone.
    await withClient(url, async (c) => {
      for (const schema of SCHEMAS) {
        const q = `"${schema}"`;
        await c.query(`CREATE SCHEMA ${q};
          CREATE TABLE ${q}.t (id serial PRIMARY KEY, a text, "B c" int, "zähler" bigint DEFAULT 0);
          GRANT ALL ON ALL TABLES IN SCHEMA ${q} TO PUBLIC;`);
      }
    });
    const seed = Number(process.env.PGPACT_TEST_SEED ?? Date.now() % 100_000);
    let attempts = 0;
    // What the roles could do before each apply: audit-mode owners leave it in place.
    let before: Before | undefined;
    for (let round = 0; round < 6; round++) {
      const text = randomManifest(seed + round);
      const manifest = parseManifest(text, '/virtual/pgpact.yaml');
      const context = `seed ${seed + round}:\n${text}`;
      await applyProvisioning(url, manifest, { stateDir });
      expect((await planFor(url, manifest)).steps, context).toEqual([]);
      const matrix = await runMatrix(
        url,
        manifest,
        stateDir,
        tablesOf(await snapshot(url)),
        before,
      );
      expect(matrix.unexpected, context).toEqual([]);
      before = { manifest, result: matrix };
      attempts += matrix.attempts;
    }
    console.log(
      `random manifests [${server().label}] seed ${seed}: 6 applies, ${attempts} attempts, 0 unexpected`,
    );
  });
});
