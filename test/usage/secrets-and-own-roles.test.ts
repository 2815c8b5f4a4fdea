import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { ConsumerIndex } from '../../src/impact/consumers.js';
import { loadManifest } from '../../src/manifest/load.js';
import { urlWith, withClient } from '../../src/postgres/client.js';
import { scramVerifier } from '../../src/provision/scram.js';
import { loadUsage } from '../../src/usage/store.js';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out: (t: string) => {
      o.stdout += t;
    },
    err: (t: string) => {
      o.stderr += t;
    },
  };
  return o;
}

const PLAIN = 'hunter2-plain-secret';
const VERIFIER = scramVerifier('another-secret');
const MANIFEST = `version: 1
services:
  users:
    owns: [users]
  reporting:
    reads:
      users.account: [id]
`;

describeEachServer(
  'observe never stores or shows a password; pgpact own roles are no services',
  (server) => {
    let url: string;
    let dir: string;
    let home: string;
    let out: string;
    const savedHome = process.env.PGPACT_HOME;

    const asRole = (role: string, sql: string) =>
      withClient(urlWith(url, { user: role, password: 'pw' }), (c) => c.query(sql));
    const observe = async (...args: string[]) => {
      const o = capture();
      const code = await runCommand(
        ['observe', '--database-url', url, '--config', path.join(dir, 'pgpact.yaml'), ...args],
        o,
      );
      return { code, ...o };
    };

    beforeAll(async () => {
      dir = tempDir('pgpact-secrets-');
      home = path.join(dir, 'state', '.pgpact');
      out = path.join(home, 'usage.json');
      process.env.PGPACT_HOME = home;
      fs.writeFileSync(path.join(dir, 'pgpact.yaml'), MANIFEST);
      url = await server().createDatabase('secrets');
      await withClient(url, async (c) => {
        await c.query(`CREATE SCHEMA users;
        CREATE TABLE users.account (id int PRIMARY KEY, name text, city text);
        INSERT INTO users.account VALUES (1, 'Ada', 'Bern')`);
        for (const role of ['users', 'reporting', 'bi_tool', 'pgpact_monitor']) {
          await c.query(
            `DO $$ BEGIN CREATE ROLE ${role} LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
          );
          await c.query(
            `GRANT USAGE ON SCHEMA users TO ${role}; GRANT SELECT ON users.account TO ${role}`,
          );
        }
        await c.query(
          'ALTER SCHEMA users OWNER TO users; ALTER TABLE users.account OWNER TO users',
        );
        // The role apply and migrate ran as owns pgpact's bookkeeping schema.
        await c.query(`DO $$ BEGIN CREATE ROLE migrator LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
          GRANT USAGE ON SCHEMA users TO migrator; GRANT SELECT ON users.account TO migrator;
          DROP SCHEMA IF EXISTS pgpact; CREATE SCHEMA pgpact AUTHORIZATION migrator`);
        await c.query('SELECT pg_stat_statements_reset()');
        // Roles given passwords while pg_stat_statements runs: plain, ENCRYPTED, a verifier (\password).
        await c.query(`CREATE ROLE svc_a LOGIN PASSWORD '${PLAIN}'`);
        await c.query(`CREATE USER svc_b WITH ENCRYPTED PASSWORD '${PLAIN}'`);
        await c.query(`ALTER ROLE svc_a PASSWORD '${VERIFIER}'`);
        // The admin (the --database-url role) reads tables, as migrations and backfills do.
        await c.query('SELECT name, city FROM users.account WHERE id = 1');
      });
      await asRole('reporting', 'SELECT id FROM users.account');
      await asRole('pgpact_monitor', 'SELECT name FROM users.account');
      await asRole('migrator', 'SELECT city FROM users.account');
    });

    afterAll(() => {
      if (savedHome === undefined) delete process.env.PGPACT_HOME;
      else process.env.PGPACT_HOME = savedHome;
    });

    it('pg_stat_statements does hold the secrets (so the checks below can fail)', async () => {
      const { rows } = await withClient(url, (c) =>
        c.query<{ query: string }>('SELECT query FROM pg_stat_statements'),
      );
      const texts = rows.map((r) => r.query).join('\n');
      expect(texts.includes(PLAIN) || texts.includes(VERIFIER)).toBe(true);
    });

    it('observe, --json and --suggest: no password or verifier in usage.json, stdout or stderr; 0600 in 0700', async () => {
      const first = await observe('--since-reset');
      const file = fs.readFileSync(out, 'utf8');
      const runs = [first, await observe('--since-reset', '--json'), await observe('--suggest')];
      for (const text of [
        file,
        fs.readFileSync(out, 'utf8'),
        ...runs.flatMap((r) => [r.stdout, r.stderr]),
      ]) {
        expect(text).not.toContain(PLAIN);
        expect(text).not.toContain(VERIFIER);
        expect(text).not.toMatch(/SCRAM-SHA-256\$\d+:/);
      }
      expect(file).toContain('pgpact withheld this statement');
      expect(fs.statSync(out).mode & 0o777).toBe(0o600);
      expect(fs.statSync(home).mode & 0o777).toBe(0o700);
      // A withheld statement is not an unanalyzable one.
      expect(runs[0]!.stdout).not.toContain('unanalyzed-statement');
    });

    it('observe --from an export: a row setting a password is withheld too', async () => {
      const file = path.join(dir, 'stats.csv');
      fs.writeFileSync(
        file,
        `rolname,query,calls\npostgres,"CREATE ROLE x PASSWORD '${PLAIN}'",1\nreporting,SELECT id FROM users.account,3\n`,
      );
      const fromOut = path.join(dir, 'from', 'usage.json');
      const r = await observe('--from', file, '--out', fromOut, '--json');
      expect(r.code).toBeLessThanOrEqual(1);
      const saved = fs.readFileSync(fromOut, 'utf8');
      expect(saved).toContain('pgpact withheld this statement');
      for (const text of [saved, r.stdout, r.stderr]) expect(text).not.toContain(PLAIN);
    });

    it('an older usage.json holding a password is cleaned when read, and its folder no longer readable by others', async () => {
      const older = path.join(dir, 'older', '.pgpact');
      fs.mkdirSync(older, { recursive: true, mode: 0o755 });
      fs.chmodSync(older, 0o755);
      const snapshot = loadUsage(out);
      snapshot.roles[0]!.statements.push({
        ...snapshot.roles[0]!.statements[0]!,
        query: `ALTER ROLE svc_a PASSWORD '${VERIFIER}'`,
      });
      fs.writeFileSync(path.join(older, 'usage.json'), JSON.stringify(snapshot), { mode: 0o644 });
      expect(JSON.stringify(loadUsage(path.join(older, 'usage.json')))).not.toContain(VERIFIER);
      const o = capture();
      await runCommand(
        [
          'observe',
          '--database-url',
          url,
          '--config',
          path.join(dir, 'pgpact.yaml'),
          '--out',
          path.join(older, 'usage.json'),
        ],
        o,
      );
      expect(fs.readFileSync(path.join(older, 'usage.json'), 'utf8')).not.toContain(VERIFIER);
      expect(fs.statSync(path.join(older, 'usage.json')).mode & 0o777).toBe(0o600);
      // As root, search permission (x) stays for the `postgres` OS user; never read or write.
      expect(fs.statSync(older).mode & 0o777).toBe(process.getuid?.() === 0 ? 0o711 : 0o700);
    });

    it('the admin and pgpact_monitor are neither suggested as services nor reported as unknown roles', async () => {
      const admin = new URL(url).username;
      const suggest = await observe('--suggest', '--since-reset');
      expect(suggest.code).toBe(0);
      expect(suggest.stdout).not.toMatch(new RegExp(`^  ${admin}:`, 'm'));
      expect(suggest.stdout).not.toMatch(/^ {2}pgpact_monitor:/m);
      expect(suggest.stdout).not.toMatch(/^ {2}migrator:/m);
      expect(suggest.stdout).toContain("pgpact's own roles");
      const report = await observe('--since-reset', '--json');
      const json = JSON.parse(report.stdout) as {
        findings: { kind: string; object: string }[];
        roles: { role: string; pgpactRole?: string }[];
      };
      const unknown = json.findings.filter((f) => f.kind === 'unknown-role').map((f) => f.object);
      expect(unknown).not.toContain(admin);
      expect(unknown).not.toContain('pgpact_monitor');
      expect(json.roles.find((r) => r.role === admin)?.pgpactRole).toBe('admin');
      expect(json.roles.find((r) => r.role === 'pgpact_monitor')?.pgpactRole).toBe('monitor');
      expect(json.roles.find((r) => r.role === 'migrator')?.pgpactRole).toBe('admin');
      expect(unknown).not.toContain('migrator');
      // check's consumers: the admin's reads of users.account are nobody's use of it.
      const manifest = loadManifest(path.join(dir, 'pgpact.yaml'));
      const consumers = new ConsumerIndex(manifest, loadUsage(out))
        .usersOfColumn('users', 'account', 'city')
        .map((h) => h.service);
      expect(consumers).not.toContain(admin);
      expect(consumers).not.toContain('pgpact_monitor');
    });

    it('--suggest refuses --reset (it only prints); observe --reset says that it moved the window', async () => {
      const refused = await observe('--suggest', '--reset');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--suggest only prints');
      const reset = await observe('--reset', '--out', path.join(dir, 'reset', 'usage.json'));
      expect(reset.stderr).toContain('pg_stat_statements was reset');
    });

    it('--suggest does not move the window: the next observe still finds an undeclared read', async () => {
      expect((await observe()).code).toBeLessThanOrEqual(1);
      await asRole('reporting', 'SELECT name FROM users.account');
      const before = fs.readFileSync(out, 'utf8');
      const suggest = await observe('--suggest');
      expect(suggest.stdout).toContain('name');
      expect(fs.readFileSync(out, 'utf8')).toBe(before);
      const next = await observe('--json');
      const json = JSON.parse(next.stdout) as { findings: { kind: string; object: string }[] };
      expect(json.findings).toContainEqual(
        expect.objectContaining({ kind: 'undeclared-read', object: 'users.account.name' }),
      );
      expect(next.code).toBe(1);
    });
  },
);
