/**
 * Generates realistic application statements over a catalog (ORM-style lookups,
 * joins along foreign keys, aggregates, upserts, CTEs, subqueries), written the
 * way pg_stat_statements shows them: constants as $n. Deterministic for a seed.
 * Used by the benchmarks and the observe tests.
 */
import type { CatalogSnapshot, RelationInfo } from '../../src/catalog-types.js';
import { quoteIdent } from '../../src/postgres/quote.js';

/** A small seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ForeignKey {
  from: RelationInfo;
  column: string;
  to: RelationInfo;
  toColumn: string;
}

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name));
const qualified = (r: RelationInfo) => `${ident(r.schema)}.${ident(r.name)}`;

function foreignKeys(tables: RelationInfo[]): ForeignKey[] {
  const byName = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const keys: ForeignKey[] = [];
  for (const t of tables) {
    for (const c of t.constraints) {
      if (c.type !== 'f' || c.columns.length !== 1) continue;
      const m = /REFERENCES\s+(?:"?([^".(]+)"?\.)?"?([^"(]+)"?\((\w+)\)/.exec(c.definition);
      if (!m) continue;
      const to = byName.get(`${m[1] ?? 'public'}.${m[2]}`);
      if (to) keys.push({ from: t, column: c.columns[0]!, to, toColumn: m[3]! });
    }
  }
  return keys;
}

/** Generates `count` distinct statements over the catalog's tables and views. */
export function generateStatements(catalog: CatalogSnapshot, count: number, seed = 42): string[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const some = <T>(list: readonly T[], max: number): T[] => {
    const n = 1 + Math.floor(random() * Math.min(max, list.length));
    return [...list].sort(() => random() - 0.5).slice(0, n);
  };
  const readable = catalog.relations.filter((r) => r.columns.length > 0 && r.kind !== 'sequence');
  const tables = readable.filter((r) => r.kind === 'table' || r.kind === 'partitioned_table');
  const keys = foreignKeys(tables);
  const cols = (r: RelationInfo, max = 5) =>
    some(
      r.columns.map((c) => c.name),
      max,
    );

  const templates: (() => string)[] = [
    () => {
      const r = pick(readable);
      const where = pick(r.columns).name;
      return `SELECT ${cols(r).map(ident).join(', ')} FROM ${qualified(r)} WHERE ${ident(where)} = $1 ORDER BY ${ident(pick(r.columns).name)} LIMIT $2`;
    },
    () => {
      const k = pick(keys);
      const a = cols(k.from, 3).map((c) => `a.${ident(c)}`);
      const b = cols(k.to, 3).map((c) => `b.${ident(c)}`);
      return `SELECT ${[...a, ...b].join(', ')} FROM ${qualified(k.from)} a JOIN ${qualified(k.to)} b ON b.${ident(k.toColumn)} = a.${ident(k.column)} WHERE a.${ident(pick(k.from.columns).name)} = $1`;
    },
    () => {
      const r = pick(readable);
      const g = pick(r.columns).name;
      return `SELECT ${ident(g)}, count(*) FROM ${qualified(r)} GROUP BY ${ident(g)} HAVING count(*) > $1`;
    },
    () => {
      const t = pick(tables);
      const c = cols(t, 6);
      return `INSERT INTO ${qualified(t)} (${c.map(ident).join(', ')}) VALUES (${c.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${ident(t.columns[0]!.name)}`;
    },
    () => {
      const t = pick(tables);
      const set = cols(t, 3);
      return `UPDATE ${qualified(t)} SET ${set.map((c, i) => `${ident(c)} = $${i + 1}`).join(', ')} WHERE ${ident(t.columns[0]!.name)} = $${set.length + 1}`;
    },
    () => {
      const t = pick(tables);
      return `DELETE FROM ${qualified(t)} WHERE ${ident(pick(t.columns).name)} < $1`;
    },
    () => {
      const k = pick(keys);
      return `SELECT ${cols(k.to, 4).map(ident).join(', ')} FROM ${qualified(k.to)} t WHERE EXISTS (SELECT 1 FROM ${qualified(k.from)} s WHERE s.${ident(k.column)} = t.${ident(k.toColumn)} AND s.${ident(pick(k.from.columns).name)} IS NOT NULL)`;
    },
    () => {
      const k = pick(keys);
      const agg = pick(k.from.columns).name;
      return `WITH agg AS (SELECT ${ident(k.column)} AS ref, count(${ident(agg)}) AS n FROM ${qualified(k.from)} GROUP BY ${ident(k.column)}) SELECT t.${ident(pick(k.to.columns).name)}, agg.n FROM agg JOIN ${qualified(k.to)} t ON t.${ident(k.toColumn)} = agg.ref ORDER BY agg.n DESC LIMIT $1`;
    },
    () => {
      const t = pick(tables);
      const c = cols(t, 4);
      const key = t.columns[0]!.name;
      return `INSERT INTO ${qualified(t)} (${[key, ...c.filter((x) => x !== key)].map(ident).join(', ')}) VALUES (${[key, ...c.filter((x) => x !== key)].map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (${ident(key)}) DO UPDATE SET ${c.map((x) => `${ident(x)} = EXCLUDED.${ident(x)}`).join(', ')}`;
    },
    () => {
      const r = pick(readable);
      const w = pick(r.columns).name;
      return `SELECT ${ident(w)}, row_number() OVER (PARTITION BY ${ident(pick(r.columns).name)} ORDER BY ${ident(pick(r.columns).name)}) FROM ${qualified(r)} WHERE ${ident(w)} IN (SELECT ${ident(w)} FROM ${qualified(r)} WHERE ${ident(pick(r.columns).name)} = $1)`;
    },
  ];

  const seen = new Set<string>();
  const out: string[] = [];
  let attempts = 0;
  while (out.length < count && attempts < count * 50) {
    attempts++;
    const sql = pick(templates)();
    if (seen.has(sql)) continue;
    seen.add(sql);
    out.push(sql);
  }
  return out;
}
