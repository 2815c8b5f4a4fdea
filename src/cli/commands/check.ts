import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../../errors.js';
import type { Severity } from '../../findings.js';
import { blocks, formatMarkdown, formatText, toCheckJson } from '../../impact/format-report.js';
import { formatGithub } from '../../impact/format-github.js';
import { toSarif } from '../../impact/format-sarif.js';
import { describeShadowBase } from '../../impact/shadow-cache.js';
import { loadUsage } from '../../usage/store.js';
import { LIVE_LOCK_TIMEOUT, LIVE_STATEMENT_TIMEOUT, runCheck } from '../../impact/run-check.js';
import { loadManifest } from '../../manifest/load.js';
import { defaultStateDir } from '../../postgres/embedded.js';
import { rollbackFile } from '../../provision/migration-layout.js';
import { type Command, EXIT } from '../command.js';

const FORMATS = ['text', 'json', 'markdown', 'sarif', 'github'] as const;
const THRESHOLDS: Severity[] = ['breaking', 'warning'];

/** `pgpact check`: the consumer-aware migration gate for CI. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'check new migrations against the services that depend on the schema (CI gate)',
  usage: `pgpact check [--config FILE] [--service NAME] [--base DIR|FILE]... [--usage FILE]
                    [--database-url URL] [--format text|json|markdown|sarif|github] [--fail-on breaking|warning]
                    MIGRATION.sql...

  Builds the current schema in a throwaway shadow Postgres (the services' migrations folders
  in manifest order, each as its service's role with its schemas owned and its search_path as
  apply runs it; or --base, as the admin), applies the new files as their service's role, diffs the
  catalogs and reports every declared or observed consumer each change breaks, DDL on schemas
  the service does not own, and lock risks. The shadow server is always removed. The built
  base is kept in .pgpact/shadow-base/ and reused while the base files, the manifest's
  services, the server and pgpact are unchanged; stderr says whether it was reused or why
  it was rebuilt (delete that folder to force a rebuild).

  --service NAME       the service the files belong to (default: the service whose migrations
                       folder holds the file, else the owner of the tables and schemas it
                       names)
  --base DIR|FILE      the current schema from these .sql files or folders (repeatable); a
                       folder is read as apply reads migrations folders: up.sql or
                       migration.sql subfolders too, never a rollback or a down section
                       (named rollback files given as MIGRATION.sql are left out too)
  --usage FILE         observed usage (default: .pgpact/usage.json when it exists)
  --database-url URL   use a live database as the current schema instead: its catalog is read,
                       the migration's DDL runs in one transaction that is ALWAYS rolled back
                       (lock_timeout ${LIVE_LOCK_TIMEOUT}, statement_timeout ${LIVE_STATEMENT_TIMEOUT}); DML, DO blocks and
                       CONCURRENTLY statements are not run. Nothing is committed, but the DDL's
                       locks are held until the rollback: prefer the shadow for busy databases.
                       Table sizes in lock warnings come from this database.
  --format FORMAT      text (default), json, markdown (a pull-request comment), sarif (2.1.0),
                       github (GitHub Actions annotations at file:line)
  --fail-on LEVEL      exit 1 when a finding is at least this severe: breaking (default) or warning

  json: {"breaking": bool, "findings": [{"severity": "breaking"|"warning"|"info", "kind",
         "object": "schema.table[.column]", "consumers": [{"service", "source": "declared"|"observed"}],
         "location": "file:line" or null, "message", "suggestion"}]}

  exit codes: 0 nothing reaches --fail-on, 1 something does, 2 invalid input (bad SQL, manifest, options)`,
  options: {
    service: { type: 'string' },
    base: { type: 'string', multiple: true },
    usage: { type: 'string' },
    format: { type: 'string' },
    'fail-on': { type: 'string' },
  },
  positionals: true,
  async run({ values, positionals }, output) {
    const format = (values.format as string | undefined) ?? 'text';
    if (!(FORMATS as readonly string[]).includes(format)) {
      output.err(`pgpact check: --format must be one of ${FORMATS.join(', ')}\n`);
      return EXIT.invalid;
    }
    const failOn = ((values['fail-on'] as string | undefined) ?? 'breaking') as Severity;
    if (!THRESHOLDS.includes(failOn)) {
      output.err('pgpact check: --fail-on must be breaking or warning\n');
      return EXIT.invalid;
    }
    if (positionals.length === 0) {
      output.err(`pgpact check: no migration file given\n\nusage: ${checkCommand.usage}\n`);
      return EXIT.invalid;
    }
    // A glob over a golang-migrate or sqlx folder names each down file beside its up file: the
    // rollbacks are left out, unless they are all that was given (then they are what to check).
    const forward = positionals.filter((f) => rollbackFile(f) === undefined);
    const files = forward.length > 0 ? forward : positionals;
    for (const f of positionals.filter((p) => !files.includes(p)))
      output.err(`pgpact check: ${f} left out: ${rollbackFile(f)}, which never runs forward\n`);
    const manifest = loadManifest((values.config as string | undefined) ?? 'pgpact.yaml');
    const usagePath =
      (values.usage as string | undefined) ?? path.join(defaultStateDir(), 'usage.json');
    if (values.usage !== undefined && !fs.existsSync(usagePath)) {
      throw new PgpactError('USAGE', `--usage ${usagePath} does not exist`, {
        hint: 'run `pgpact observe` first, or omit --usage',
      });
    }
    const usage = fs.existsSync(usagePath) ? loadUsage(usagePath) : undefined;
    const report = await runCheck({
      manifest,
      files,
      ...(values.service !== undefined ? { service: values.service as string } : {}),
      ...(values.base !== undefined ? { base: values.base as string[] } : {}),
      ...(usage ? { usage } : {}),
      ...(values['database-url'] !== undefined
        ? { databaseUrl: values['database-url'] as string }
        : {}),
    });
    if (report.shadowBase) {
      const cacheDir = path.relative(process.cwd(), path.join(defaultStateDir(), 'shadow-base'));
      output.err(`pgpact check: ${describeShadowBase(report.shadowBase, cacheDir)}\n`);
    }
    const input = { findings: report.findings, failOn, timings: report.timings };
    if (format === 'json') output.out(`${JSON.stringify(toCheckJson(report.findings), null, 2)}\n`);
    else if (format === 'markdown') output.out(formatMarkdown(input));
    else if (format === 'sarif') {
      const firstFile = report.statements[0]?.statement.file ?? files[0]!;
      output.out(
        `${JSON.stringify(toSarif(report.findings, { version: '0.1.0', firstFile }), null, 2)}\n`,
      );
    } else if (format === 'github') output.out(formatGithub(report.findings, failOn));
    else output.out(formatText(input));
    return blocks(input) ? EXIT.problem : EXIT.ok;
  },
};
