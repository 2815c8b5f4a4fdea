import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { planFor, projectManifest, tempDir } from './fixtures.js';
import { changedOutcomes, denied, outcomesAs } from './invariant-helpers.js';

/**
 * A monolith the way teams have it: citext, an enum and a domain in public, functions called
 * by a generated column, a default and a trigger, a view of one service over another's table.
 * Service core owns public whole (the only way before table patterns), app owns its schema.
 */
const SETUP = `
CREATE EXTENSION citext;
CREATE TYPE public.mood AS ENUM ('happy', 'sad');
CREATE DOMAIN public.positive AS int CHECK (VALUE > 0);
CREATE FUNCTION public.double_it(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 * 2';
CREATE FUNCTION public.default_code() RETURNS text LANGUAGE sql AS $$SELECT 'c-' || 'x'$$;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.touched := true; RETURN NEW; END$$;
CREATE TABLE public.people (
  id serial PRIMARY KEY, username citext, mood public.mood, n public.positive,
  twice int GENERATED ALWAYS AS (public.double_it(n)) STORED,
  code text DEFAULT public.default_code(), touched bool);
CREATE TRIGGER people_touch BEFORE INSERT ON public.people FOR EACH ROW EXECUTE FUNCTION public.touch();
INSERT INTO public.people (username, mood, n) VALUES ('alice', 'happy', 2);
CREATE SCHEMA app;
CREATE TABLE app.notes (id serial PRIMARY KEY, author citext, mood public.mood, rank public.positive DEFAULT 1);
INSERT INTO app.notes (author, mood) VALUES ('Alice', 'sad');
CREATE VIEW app.people_view AS SELECT id, username FROM public.people;
CREATE SCHEMA solo;
CREATE TABLE solo.handles (id serial PRIMARY KEY, handle citext, mood public.mood);
INSERT INTO solo.handles (handle, mood) VALUES ('Alice', 'happy');
CREATE ROLE v_core; CREATE ROLE v_app; CREATE ROLE v_solo;
GRANT USAGE ON SCHEMA solo TO v_solo;
GRANT ALL ON ALL TABLES IN SCHEMA solo TO v_solo;
GRANT ALL ON ALL SEQUENCES IN SCHEMA solo TO v_solo;
GRANT USAGE ON SCHEMA app TO v_core, v_app;
GRANT ALL ON ALL TABLES IN SCHEMA public, app TO v_core, v_app;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public, app TO v_core, v_app;
`;

const MANIFEST = `version: 1
services:
  core:
    role: v_core
    owns: [public]
  app:
    role: v_app
    owns: [app]
    reads:
      public.people: [id, username, mood]
    writes:
      public.people: [username, mood, n]
  solo:
    role: v_solo
    owns: [solo]
`;

/** A service with no contract on public: it reaches public's objects only through PUBLIC's USAGE. */
const SOLO = [
  "SELECT count(*) FROM solo.handles WHERE handle = 'ALICE'",
  "SELECT count(*) FROM solo.handles WHERE mood = 'happy'::public.mood",
  "INSERT INTO solo.handles (handle, mood) VALUES ('x', 'sad') RETURNING mood::text",
];

const APP = [
  // citext equality on another service's table, on its own table, in a view
  "SELECT id FROM public.people WHERE username = 'ALICE'",
  "SELECT count(*) FROM app.notes WHERE author = 'alice'",
  "SELECT id FROM app.people_view WHERE username = 'Alice'",
  "SELECT 'ALICE'::citext = 'alice' AS eq",
  // an enum and a domain of public named, used by its own table
  "SELECT 'happy'::public.mood::text AS m, 3::public.positive AS p",
  "INSERT INTO app.notes (author, mood) VALUES ('Bob', 'happy') RETURNING rank, mood::text",
  'INSERT INTO app.notes (author, rank) VALUES ($$x$$, 0)',
  // writes through a generated column, a default and a trigger calling public's functions
  "INSERT INTO public.people (username, mood, n) VALUES ('bob', 'sad', 3) RETURNING id > 0 AS ok",
  "UPDATE public.people SET mood = 'sad' WHERE id = 1 RETURNING id",
  'UPDATE public.people SET n = 0 WHERE id = 1',
  'SELECT public.double_it(21) AS v',
];

const CORE = [
  "SELECT id, twice, code FROM public.people WHERE username = 'ALICE'",
  "INSERT INTO public.people (username, mood, n) VALUES ('carol', 'happy', 5) RETURNING twice, code, touched",
  "SELECT count(*) FROM public.people WHERE mood = 'happy'",
];

describeEachServer('apply never changes what an allowed query returns', (server) => {
  it('citext, enums, domains, generated columns, defaults, triggers and views keep working', async () => {
    const url = await server().createDatabase();
    await withClient(url, (c) => c.query(SETUP));
    const { manifest } = projectManifest({ 'pgpact.yaml': MANIFEST });
    const before = {
      app: await outcomesAs(url, 'v_app', APP),
      core: await outcomesAs(url, 'v_core', CORE),
      solo: await outcomesAs(url, 'v_solo', SOLO),
    };
    // Everything is allowed before: the brownfield grants everyone everything.
    expect([...before.app, ...before.core, ...before.solo].filter(denied)).toEqual([]);
    expect(before.app[0]).toEqual({ rows: JSON.stringify([{ id: 1 }]) });
    expect(before.solo[0]).toEqual({ rows: JSON.stringify([{ count: '1' }]) });

    const plan = await planFor(url, manifest);
    const sql = plan.steps.map((s) => s.sql);
    expect(sql).not.toContain('REVOKE USAGE ON SCHEMA "public" FROM PUBLIC');
    expect(
      sql.filter(
        (s) =>
          /EXECUTE ON FUNCTION "public"\."(double_it|default_code)"/.test(s) &&
          s.startsWith('REVOKE'),
      ),
    ).toEqual([]);
    await applyProvisioning(url, manifest, { stateDir: tempDir(), allowRevoke: true });

    const after = {
      app: await outcomesAs(url, 'v_app', APP),
      core: await outcomesAs(url, 'v_core', CORE),
      solo: await outcomesAs(url, 'v_solo', SOLO),
    };
    expect([
      ...changedOutcomes('v_app', APP, before.app, after.app),
      ...changedOutcomes('v_core', CORE, before.core, after.core),
      ...changedOutcomes('v_solo', SOLO, before.solo, after.solo),
    ]).toEqual([]);
    // And every one of these is still allowed: each is declared, or the role's own.
    expect([...after.app, ...after.core, ...after.solo].filter(denied)).toEqual([]);
  });
});
