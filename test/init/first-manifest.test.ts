import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildFirstManifest } from '../../src/init/first-manifest.js';
import type { CatalogSnapshot, RelationInfo, RoleInfo } from '../../src/catalog-types.js';
import type { OwnRoles } from '../../src/postgres/own-roles.js';
import type { RoleUsage, UsageSnapshot } from '../../src/usage/types.js';

function role(name: string, canLogin = true): RoleInfo {
  return {
    oid: 0,
    name,
    superuser: false,
    createdb: false,
    createrole: false,
    canLogin,
    replication: false,
    bypassRls: false,
    connectionLimit: -1,
    memberOf: [],
    settings: {},
  };
}

function table(
  schema: string,
  name: string,
  owner: string,
  kind: RelationInfo['kind'] = 'table',
): RelationInfo {
  return {
    oid: 0,
    schema,
    name,
    kind,
    owner,
    columns: [{ name: 'id', position: 1, type: 'integer', notNull: true, grants: [] }],
    grants: [],
    constraints: [],
    indexes: [],
    estimatedRows: 0,
    sizeBytes: 0,
  };
}

function catalog(relations: RelationInfo[], roles: RoleInfo[]): CatalogSnapshot {
  const schemas = [...new Set(relations.map((r) => r.schema))].map((name) => ({
    name,
    owner: 'admin',
    grants: [],
  }));
  return {
    serverVersion: 180000,
    database: 'app',
    schemas,
    relations,
    roles,
    defaultPrivileges: [],
    functions: [],
    databaseGrants: [],
    extensions: [],
  };
}

function used(name: string, written: string[], read: Record<string, string[]> = {}): RoleUsage {
  const count = { calls: 1, rows: 1, totalTimeMs: 1 };
  return {
    role: name,
    reads: Object.fromEntries(
      Object.entries(read).flatMap(([t, cols]) => cols.map((c) => [`${t}.${c}`, count])),
    ),
    writes: {},
    relationsRead: Object.fromEntries(Object.keys(read).map((t) => [t, count])),
    relationsWritten: Object.fromEntries(written.map((t) => [t, count])),
    statements: [],
  };
}

const own: OwnRoles = new Map([
  ['admin', 'admin'],
  ['pgpact_monitor', 'monitor'],
]);

describe('buildFirstManifest', () => {
  it("never makes pgpact's own roles, roles that cannot log in, or pgpact's schema a service's", () => {
    const result = buildFirstManifest({
      catalog: catalog(
        [
          table('public', 'a', 'admin'),
          table('public', 'b', 'group_role'),
          table('pgpact', 'migrations', 'svc'),
          table('public', 'c', 'svc'),
          table('public', 'mon', 'pgpact_monitor'),
        ],
        [role('admin'), role('group_role', false), role('svc'), role('pgpact_monitor')],
      ),
      own,
    });
    const doc = parse(result.text);
    expect(doc.services).toEqual({ svc: { owns: ['public.c'] } });
    expect(result.proposal.unowned.map((u) => u.table)).toEqual(['a', 'b', 'mon']);
    expect(result.text).toContain('#   public.b: owned by group_role, written by no service role');
    expect(result.text).not.toContain('Every table is owned by');
  });

  it('a view a service role owns is in its owns:; views the admin owns are named as nobody’s', () => {
    const result = buildFirstManifest({
      catalog: catalog(
        [
          table('public', 'film', 'catalog'),
          table('public', 'film_stats', 'catalog', 'materialized_view'),
          table('public', 'rental', 'store'),
          table('public', 'film_list', 'admin', 'view'),
          table('public', 'sales_by_store', 'admin', 'view'),
        ],
        [role('admin'), role('catalog'), role('store')],
      ),
      own,
    });
    const doc = parse(result.text);
    expect(doc.services).toEqual({
      catalog: { owns: ['public.film', 'public.film_stats'] },
      store: { owns: ['public.rental'] },
    });
    expect(result.text).toContain(
      '# Views nobody owns (apply grants nothing on them and leaves them as they are; add each to the owns: of the service whose data it shows): public.film_list, public.sales_by_store.',
    );
  });

  it('escapes line breaks of names in comments, so a name cannot end a comment', () => {
    const result = buildFirstManifest({
      catalog: catalog(
        [table('public', 'bad\nservices: {}', 'admin'), table('public', 'ok', 'svc')],
        [role('admin'), role('svc')],
      ),
      own,
    });
    expect(result.text).toContain('bad\\u000aservices: {}');
    const doc = parse(result.text);
    expect(doc.services).toEqual({ svc: { owns: ['public.ok'] } });
  });

  it('declares the reads and writes of other services’ tables, with a column for count(*)', () => {
    const usage: UsageSnapshot = {
      version: 1,
      database: 'app',
      takenAt: '2026-01-01T00:00:00Z',
      roles: [
        used('a', ['s.a1', 's.b1']),
        used('b', ['s.b1', 's.b2'], { 's.a1': ['id'], 's.a2': [], 's.nobody': ['id'] }),
        { ...used('admin', ['s.a2']), pgpactRole: 'admin' },
      ],
    };
    const result = buildFirstManifest({
      catalog: catalog(
        [
          table('s', 'a1', 'a'),
          table('s', 'a2', 'a'),
          table('s', 'b1', 'b'),
          table('s', 'b2', 'admin'),
          table('s', 'nobody', 'admin'),
        ],
        [role('a'), role('b'), role('admin')],
      ),
      own,
      usage,
    });
    const doc = parse(result.text);
    expect(doc.services).toEqual({
      a: { owns: ['s.a*'], writes: { 's.b1': ['id'] } },
      b: { owns: ['s.b*'], reads: { 's.a1': ['id'], 's.a2': ['id'] } },
    });
    expect(result.text).toContain('#   s.b1: owned by b, written by a, b');
    expect(result.text).toContain('b read s.a2 without naming a column');
    expect(result.text).toContain(
      '# b read s.nobody, which nobody owns: no contract until it has an owner',
    );
  });

  it('on 40 random databases of 300 tables, each table matches exactly its proposed owner’s entries', () => {
    let seed = 5;
    const next = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    const services = ['s1', 's2', 's3', 's4'];
    for (let round = 0; round < 40; round++) {
      const relations: RelationInfo[] = [];
      const written: Record<string, string[]> = { s1: [], s2: [], s3: [], s4: [] };
      const names = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const schema = pick(['public', 'app', 'solo']);
        const name = `${pick(['batch', 'batch_spec', 'user', 'users', 'inv', 'x'])}${pick(['', '_', '_a', 's'])}${Math.floor(next() * 50)}`;
        if (names.has(`${schema}.${name}`)) continue;
        names.add(`${schema}.${name}`);
        // solo's tables belong to s4 alone, so it is owned whole.
        const owner = schema === 'solo' ? 's4' : next() < 0.5 ? 'admin' : pick(services);
        relations.push(table(schema, name, owner, next() < 0.05 ? 'view' : 'table'));
        if (owner === 'admin') {
          const writers = next() < 0.8 ? [pick(services)] : next() < 0.5 ? [] : ['s1', 's2'];
          for (const w of writers) written[w]!.push(`${schema}.${name}`);
        }
      }
      const usage: UsageSnapshot = {
        version: 1,
        database: 'app',
        takenAt: '2026-01-01T00:00:00Z',
        roles: services.map((s) => used(s, written[s]!)),
      };
      const result = buildFirstManifest({
        catalog: catalog(relations, [role('admin'), ...services.map((s) => role(s))]),
        own,
        usage,
      });
      const owner = new Map<string, string>();
      for (const [service, tables] of result.proposal.tables)
        for (const t of tables) owner.set(`${t.schema}.${t.table}`, service);
      const matches = (entry: string, schema: string, name: string) => {
        const dot = entry.indexOf('.');
        if (dot === -1) return entry === schema;
        if (entry.slice(0, dot) !== schema) return false;
        const part = entry.slice(dot + 1);
        return part.endsWith('*') ? name.startsWith(part.slice(0, -1)) : part === name;
      };
      for (const rel of relations) {
        const claimed = [...result.owns]
          .filter(([, entries]) => entries.some((e) => matches(e, rel.schema, rel.name)))
          .map(([service]) => service);
        const key = `${rel.schema}.${rel.name}`;
        if (rel.kind === 'view')
          // A view is no service's: only its own role's entries may cover it.
          expect(
            claimed.filter((s) => s !== rel.owner),
            key,
          ).toEqual([]);
        else expect(claimed, key).toEqual(owner.has(key) ? [owner.get(key)] : []);
      }
      expect(result.owns.get('s4')).toContain('solo');
    }
  });
});
