import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest } from './fixtures.js';

/**
 * Supabase-style: the data lives in its own schema, public holds only functions the app
 * calls, an extension sits in its own schema, and one schema really is empty.
 */
const SETUP = `
CREATE SCHEMA app;
CREATE TABLE app.accounts (id int PRIMARY KEY, name text);
CREATE FUNCTION public.get_accounts() RETURNS SETOF app.accounts LANGUAGE sql AS 'SELECT * FROM app.accounts';
CREATE SCHEMA helpers;
CREATE EXTENSION pgcrypto SCHEMA helpers;
CREATE SCHEMA kinds;
CREATE TYPE kinds.plan AS ENUM ('free', 'paid');
CREATE SCHEMA leftover;
`;

describeEachServer('schemas no service owns that hold no table', (server) => {
  it('a schema of functions, types or an extension is no empty schema to drop: an info saying what it holds; a really empty one is a warning', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => c.query(SETUP));
    const { manifest } = projectManifest({
      'pgpact.yaml': 'version: 1\nservices:\n  web:\n    role: uo_web\n    owns: [app]\n',
    });
    const plan = await planFor(url, manifest);
    const unowned = Object.fromEntries(
      plan.findings
        .filter((f) => f.kind === 'unowned-schema')
        .map((f) => [f.object, `${f.severity}: ${f.message} → ${f.suggestion}`]),
    );
    expect(unowned.public).toMatch(/^info: .*holds no table, only 1 function, extension objects:/);
    expect(unowned.helpers).toMatch(/^info: .*holds no table, only extension objects:/);
    expect(unowned.kinds).toMatch(/^info: .*holds no table, only 1 type:/);
    for (const schema of ['public', 'helpers', 'kinds'])
      expect(unowned[schema]).not.toContain('drop the empty schema');
    expect(unowned.leftover).toMatch(/^warning: .*→ drop the empty schema leftover/);
  });
});
