import { expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { runCheck } from '../../src/impact/run-check.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { describeEachServer } from '../helpers/postgres.js';
import { projectManifest, tempDir, writeProject } from '../provision/fixtures.js';
import { checkIn } from './run-check-cli.js';

/**
 * A Prisma-style app owning `public` (umami's layout): its migrations name tables unqualified.
 * Since PG 15 public belongs to pg_database_owner and PUBLIC may not create in it, so the
 * shadow must give public to the app's role before its migrations run, as apply does.
 */
function manifest(enforcement: 'audit' | 'enforce', reportingMigrations = false): string {
  return [
    'version: 1',
    `enforcement: ${enforcement}`,
    'services:',
    '  app:',
    '    owns: [public]',
    '    migrations: migrations',
    '  reporting:',
    ...(reportingMigrations ? ['    migrations: reporting'] : []),
    '    reads:',
    '      public.account: [id, email]',
    '',
  ].join('\n');
}

const BASE: Record<string, string> = {
  'migrations/01_init/migration.sql':
    '-- CreateTable\nCREATE TABLE "account" (\n    "id" UUID NOT NULL DEFAULT gen_random_uuid(),\n    "email" VARCHAR(255) NOT NULL,\n    "name" TEXT,\n\n    CONSTRAINT "account_pkey" PRIMARY KEY ("id")\n);\n\nCREATE UNIQUE INDEX "account_email_key" ON "account"("email");\n',
  'migrations/02_created_at/migration.sql':
    'ALTER TABLE "account" ADD COLUMN "created_at" TIMESTAMPTZ(6) DEFAULT CURRENT_TIMESTAMP;\n',
};

const HARMLESS = 'migrations/03_nickname/migration.sql';
const BREAKING = 'migrations/03_drop_email/migration.sql';
const CHANGES: Record<string, string> = {
  [HARMLESS]: 'ALTER TABLE "account" ADD COLUMN "nickname" TEXT;\n',
  [BREAKING]: 'ALTER TABLE "account" DROP COLUMN "email";\n',
};

function project(files: Record<string, string>, enforcement: 'audit' | 'enforce' = 'audit') {
  return projectManifest({ 'pgpact.yaml': manifest(enforcement), ...BASE, ...files });
}

it('check without --base builds the shadow from a folder of a service owning public: 0 for a new column, 1 for dropping a column reporting reads', async () => {
  const harmless = writeProject({
    'pgpact.yaml': manifest('audit'),
    ...BASE,
    [HARMLESS]: CHANGES[HARMLESS]!,
  });
  const ok = await checkIn(harmless, HARMLESS);
  expect(ok.text).not.toContain('permission denied');
  expect(ok.text).toContain('column public.account.nickname is added');
  expect(ok.code).toBe(0);

  const breaking = writeProject({
    'pgpact.yaml': manifest('audit'),
    ...BASE,
    [BREAKING]: CHANGES[BREAKING]!,
  });
  const broken = await checkIn(breaking, BREAKING);
  expect(broken.text).toMatch(/BREAKING\s+\S+\s+public\.account\.email/);
  expect(broken.text).toContain('reporting');
  expect(broken.code).toBe(1);
});

describeEachServer('the shadow gives a service the public schema it owns', (server) => {
  for (const enforcement of ['audit', 'enforce'] as const) {
    it(`${enforcement} mode: the app's base files run as its role in public; the checked file's findings are as with --base`, async () => {
      for (const [file, breaking] of [
        [HARMLESS, false],
        [BREAKING, true],
      ] as const) {
        const { dir, manifest: m } = project({ [file]: CHANGES[file]! }, enforcement);
        const report = await runCheck({
          manifest: m,
          files: [file],
          root: dir,
          shadowServerUrl: server().url,
        });
        expect(report.breaking, file).toBe(breaking);
        const withBase = await runCheck({
          manifest: m,
          files: [file],
          root: dir,
          base: ['migrations'],
          shadowServerUrl: server().url,
        });
        const kinds = (r: typeof report) => r.findings.map((f) => `${f.kind} ${f.object}`).sort();
        expect(kinds(report)).toEqual(kinds(withBase));
      }
    });
  }

  it('a service that does not own public may not create there: its base file fails in the shadow as apply fails it, and the hint says what to do', async () => {
    const files = {
      'pgpact.yaml': manifest('audit', true),
      ...BASE,
      'reporting/01_cache/migration.sql': 'CREATE TABLE "report_cache" ("id" BIGINT);\n',
      [HARMLESS]: CHANGES[HARMLESS]!,
    };
    const { dir, manifest: m } = projectManifest(files);
    const error = await runCheck({
      manifest: m,
      files: [HARMLESS],
      root: dir,
      shadowServerUrl: server().url,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PgpactError);
    const e = error as PgpactError;
    expect(e.code).toBe('MIGRATION_INVALID');
    expect(e.message).toContain('reporting/01_cache/migration.sql');
    expect(e.problems[0]?.message).toContain('permission denied for schema public');
    expect(e.hint).toContain('it ran as role reporting');
    expect(e.hint).toContain(
      "add the schema the statement needs to reporting's owns: in pgpact.yaml",
    );

    // apply on a real database (public owned by pg_database_owner, audit mode): the app's
    // files run; reporting's fails the same way.
    const url = await server().createDatabase();
    const applied = await applyProvisioning(url, m, { stateDir: tempDir() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((applied as Error | undefined)?.message)).toMatch(
      /migration reporting\/.*01_cache.*permission denied for schema public/,
    );
    const withoutReporting = projectManifest({
      'pgpact.yaml': manifest('audit'),
      ...BASE,
    }).manifest;
    const fresh = await server().createDatabase();
    const result = await applyProvisioning(fresh, withoutReporting, { stateDir: tempDir() });
    expect(result.migrations.map((r) => r.file)).toEqual([
      expect.stringContaining('01_init'),
      expect.stringContaining('02_created_at'),
    ]);
  });
});

it("check without --base runs a service's migrations with the search_path apply gives them: unqualified names land in its own schema", async () => {
  const files = {
    'pgpact.yaml': [
      'version: 1',
      'services:',
      '  store:',
      '    role: sp_store_app',
      '    owns: [store]',
      '    migrations: migrations/store',
      '  reporting:',
      '    reads:',
      '      store.orders: [id, total]',
      '',
    ].join('\n'),
    // Unqualified, as most tools write them: apply runs them with search_path store, public.
    'migrations/store/001_orders.sql':
      'CREATE TABLE orders (id int PRIMARY KEY, total numeric(10, 2));\n',
  };
  const harmless = writeProject({
    ...files,
    'migrations/store/002_note.sql': 'ALTER TABLE orders ADD COLUMN note text;\n',
  });
  const ok = await checkIn(harmless, 'migrations/store/002_note.sql');
  expect(ok.text).toContain('column store.orders.note is added');
  expect(ok.code).toBe(0);

  const breaking = writeProject({
    ...files,
    'migrations/store/002_drop_total.sql': 'ALTER TABLE orders DROP COLUMN total;\n',
  });
  const broken = await checkIn(breaking, 'migrations/store/002_drop_total.sql');
  // Before, the base ran with the default search_path: orders went to public (or was refused).
  expect(broken.text).toMatch(/BREAKING\s+\S+\s+store\.orders\.total/);
  expect(broken.text).toContain('reporting');
  expect(broken.code).toBe(1);
});

it('check of a file in the middle of a folder: the files after it are later migrations, not part of the schema it meets', async () => {
  const dir = writeProject({
    'pgpact.yaml': manifest('audit'),
    ...BASE,
    'migrations/03_add_x/migration.sql': 'ALTER TABLE "account" ADD COLUMN "x" TEXT;\n',
    // Runs after 03 and needs its column: in the base, it would fail before 03 is checked.
    'migrations/04_index_x/migration.sql': 'CREATE INDEX "account_x_idx" ON "account"("x");\n',
  });
  const first = await checkIn(dir, 'migrations/03_add_x/migration.sql');
  expect(first.text).not.toContain('does not exist');
  expect(first.text).toContain('column public.account.x is added');
  expect(first.code).toBe(0);
  // Given --base the same folder, the same.
  const based = await checkIn(dir, '--base', 'migrations', 'migrations/03_add_x/migration.sql');
  expect(based.text).toContain('column public.account.x is added');
  expect(based.code).toBe(0);
});
