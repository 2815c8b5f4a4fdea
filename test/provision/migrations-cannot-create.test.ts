/**
 * A service owning tables by pattern in a shared schema runs its own migrations as its role:
 * apply leaves a shared schema's privileges as they are, so plan says when that role may not
 * create there (found on documenso: check passed a new table, apply then failed on it).
 */
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest } from './fixtures.js';

const MANIFEST = `version: 1
enforcement: audit
services:
  app:
    role: mc_app
    owns: [public.account*]
    migrations: m
  billing:
    role: mc_billing
    owns: [public.invoice*]
`;

describeEachServer('migrations that cannot create in a shared schema', (server) => {
  it('plan warns for a service with migrations whose role may not create in the shared schema, and not once it may', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) =>
      c.query(`CREATE TABLE public.account (id int PRIMARY KEY);
        CREATE TABLE public.invoice (id int PRIMARY KEY);
        DROP ROLE IF EXISTS mc_app; CREATE ROLE mc_app LOGIN;
        DROP ROLE IF EXISTS mc_billing; CREATE ROLE mc_billing LOGIN;
        DROP ROLE IF EXISTS mc_creators; CREATE ROLE mc_creators;
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;`),
    );
    const { manifest } = projectManifest({ 'pgpact.yaml': MANIFEST, 'm/001.sql': 'SELECT 1;' });
    const warned = async () =>
      (await planFor(url, manifest)).findings
        .filter((f) => f.kind === 'migrations-cannot-create')
        .map((f) => [f.severity, f.object, f.suggestion]);
    // billing runs no migrations: nothing to say about it.
    expect(await warned()).toEqual([
      [
        'warning',
        'public',
        'GRANT CREATE ON SCHEMA public TO mc_app (or let app own the schema: owns: [public])',
      ],
    ]);
    // Through a group it is a member of, the role may create: no warning.
    await withClient(url, (c) =>
      c.query('GRANT CREATE ON SCHEMA public TO mc_creators; GRANT mc_creators TO mc_app'),
    );
    expect(await warned()).toEqual([]);
  });
});
