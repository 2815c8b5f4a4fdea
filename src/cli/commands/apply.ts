import { PgpactError } from '../../errors.js';
import { redactUrl } from '../../postgres/client.js';
import { defaultStateDir, resolveDatabaseUrl } from '../../postgres/embedded.js';
import { applyProvisioning } from '../../provision/apply.js';
import { credentialsPath } from '../../provision/credentials.js';
import { formatApplyResult, oneLine } from '../../provision/format-plan.js';
import { type Command, EXIT } from '../command.js';
import { formatError } from '../report-error.js';
import { loadManifestOption } from '../manifest-option.js';
import { loadUsageOption } from './plan.js';

/** `pgpact apply`: provisions the database from the manifest in one transaction and proves the plan is empty afterwards. */
export const applyCommand: Command = {
  name: 'apply',
  summary:
    'provision the database from the manifest in one transaction, then run pending migrations',
  usage: `pgpact apply [--config FILE] [--database-url URL] [--usage FILE] [--allow-revoke]
                    [--baseline] [--json] [--quiet]

  Runs what \`pgpact plan\` prints in ONE transaction (any failure rolls everything back and
  names the step), then each service's pending migration files (natural name order, a Sqitch
  project's in its plan's order; rollback files, down sections of goose, dbmate or Diesel-style
  folders and Sqitch's revert/verify scripts never run; each file in its own transaction as the
  service's role, a file wrapped whole in BEGIN … COMMIT as that one transaction, recorded in
  pgpact.schema_migrations),
  then grants on what they created, then re-reads the catalog: the plan must be empty.
  Roles pgpact creates get a random password, sent as a SCRAM verifier and kept in
  <state dir>/credentials.json (mode 0600; PGPACT_HOME, default ./.pgpact); set
  PGPACT_PASSWORD_<ROLE> to use your own. Passwords are never printed.
  Refused before anything changes: a contract naming a table or column the database does not
  have (CONTRACT_MISMATCH, with the closest existing name), and a step that takes away access
  in use, a view's or a statement's observed in --usage (REVOKE_IN_USE), unless --allow-revoke;
  and a migrations folder another tool already ran (its history table: Diesel, goose,
  golang-migrate, dbmate, sqlx, Prisma, Flyway, River, Sqitch's registry) when pgpact has
  recorded none of its files.

  --usage FILE    observed usage (default: <state dir>/usage.json when it exists, from observe)
  --allow-revoke  apply even when a step takes away access in use
  --baseline      adopting a database whose migrations another tool ran: for each service
                  pgpact has recorded no file of, record the files that tool's history says
                  ran (every file when there is no such table) as applied, without running
                  them; the others run
  --json          print {"steps", "migrations", "baselined", "findings", "rounds"}
  --quiet         no per-step progress on stderr

  exit codes: 0 applied (or nothing to do), 1 applied but the database still differs from the
  manifest (APPLY_INCOMPLETE), or refused because it would take away access in use
  (REVOKE_IN_USE, nothing changed), 2 invalid input (CONTRACT_MISMATCH among it) or a failed
  step or migration (nothing of that transaction was kept)`,
  options: {
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    usage: { type: 'string' },
    'allow-revoke': { type: 'boolean' },
    baseline: { type: 'boolean' },
  },
  async run({ values }, output) {
    const manifest = loadManifestOption(values);
    const usage = loadUsageOption(values);
    const url = await resolveDatabaseUrl({
      databaseUrl: values['database-url'] as string | undefined,
    });
    let n = 0;
    try {
      const result = await applyProvisioning(url, manifest, {
        stateDir: defaultStateDir(),
        ...(usage ? { usage } : {}),
        allowRevoke: values['allow-revoke'] === true,
        baseline: values.baseline === true,
        onStep: (step) => {
          n += 1;
          if (!values.quiet && !values.json)
            output.err(`  ${oneLine(`${step.kind}: ${step.reason}`)}\n`);
        },
      });
      if (values.json) {
        // `takes` is the planner's own bookkeeping, not part of the printed interface.
        const steps = result.steps.map(({ takes: _takes, ...step }) => step);
        output.out(`${JSON.stringify({ ...result, steps }, null, 2)}\n`);
      } else {
        output.out(formatApplyResult(result, redactUrl(url)));
        if (result.steps.some((s) => s.passwordFor !== undefined)) {
          output.out(`passwords of new roles are kept in ${credentialsPath()}\n`);
        }
      }
      return EXIT.ok;
    } catch (error) {
      if (
        error instanceof PgpactError &&
        (error.code === 'APPLY_INCOMPLETE' || error.code === 'REVOKE_IN_USE')
      ) {
        output.err(formatError(error));
        return EXIT.problem;
      }
      if (n > 0 && !values.quiet) output.err(`apply stopped after ${n} step(s)\n`);
      throw error;
    }
  },
};
