import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../../errors.js';
import { readCatalog } from '../../postgres/catalog.js';
import { redactUrl, withClient } from '../../postgres/client.js';
import { defaultStateDir, resolveDatabaseUrl } from '../../postgres/embedded.js';
import { formatPlan } from '../../provision/format-plan.js';
import { alreadyRanFindings } from '../../provision/migration-baseline.js';
import { pendingMigrations } from '../../provision/migration-folders.js';
import { planProvisioning } from '../../provision/plan.js';
import { loadUsage } from '../../usage/store.js';
import type { UsageSnapshot } from '../../usage/types.js';
import { type Command, EXIT } from '../command.js';
import { loadManifestOption } from '../manifest-option.js';

/** The observed usage plan and apply check revokes against: --usage FILE, else <state dir>/usage.json when it exists. */
export function loadUsageOption(values: Record<string, unknown>): UsageSnapshot | undefined {
  const given = values.usage as string | undefined;
  const file = given ?? path.join(defaultStateDir(), 'usage.json');
  if (given !== undefined && !fs.existsSync(file)) {
    throw new PgpactError('USAGE', `--usage ${file} does not exist`, {
      hint: 'run `pgpact observe` first, or omit --usage',
    });
  }
  return fs.existsSync(file) ? loadUsage(file) : undefined;
}

/** `pgpact plan`: the ordered SQL that brings the database to the manifest, and what it reports instead of granting. */
export const planCommand: Command = {
  name: 'plan',
  summary:
    'print the SQL that provisions roles, schemas, ownership, grants and limits from the manifest',
  usage: `pgpact plan [--config FILE] [--database-url URL] [--usage FILE] [--json] [--check]

  Compares the manifest with the database and prints the ordered SQL that reaches it:
  least-privilege login roles, schemas owned by their service's role, ownership of every
  object in them, REVOKE of everything undeclared (PUBLIC's defaults included), USAGE plus
  column-level SELECT for contracts (enforce) or table-level SELECT on every other owned
  schema (audit), declared writes, limits on the roles, and default privileges so tables
  created later stay private. Passwords show as '<redacted>'. Reports, without granting,
  schemas and tables no service owns and roles no service uses, and lists the migration
  files apply would run; a folder another tool already ran, which apply refuses until
  --baseline records it, is a warning (migrations-already-ran). Changes nothing.
  A step that takes away access in use is marked "!! takes away access in use", naming the
  view (its owner reads the column) or the statement observed in --usage, and its service
  (finding revoke-in-use); apply refuses it unless --allow-revoke. In audit mode, every
  role but PUBLIC (service roles and roles outside the manifest) keeps its grants, each
  login role keeps by its own grant what PUBLIC loses, and service roles keep their
  memberships and BYPASSRLS (row-level security policies written for a group apply through
  them); what enforce mode will revoke is listed (revoke-deferred).

  --usage FILE  observed usage (default: <state dir>/usage.json when it exists, from observe)
  --json        print {"steps": [{"kind", "sql", "reason", "inUse"?}], "findings": [...],
                "pendingMigrations": ["service/file"]}
  --check       exit 1 when there is anything to do (drift check for CI)

  exit codes: 0 planned (whether or not there are steps, unless --check), 1 --check and steps
  are pending, 2 invalid input (manifest, database URL, changed migration file)`,
  options: { json: { type: 'boolean' }, check: { type: 'boolean' }, usage: { type: 'string' } },
  async run({ values }, output) {
    const manifest = loadManifestOption(values);
    const usage = loadUsageOption(values);
    const url = await resolveDatabaseUrl({
      databaseUrl: values['database-url'] as string | undefined,
      embedded: 'running',
    });
    const { plan, pending } = await withClient(
      url,
      async (client) => {
        const planned = planProvisioning(
          manifest,
          await readCatalog(client),
          usage ? { usage } : {},
        );
        // Pending files another tool already ran are no work to do: apply refuses them.
        const ran = await alreadyRanFindings(client, manifest);
        return {
          plan: ran.length > 0 ? { ...planned, findings: [...ran, ...planned.findings] } : planned,
          pending: await pendingMigrations(client, manifest),
        };
      },
      { applicationName: 'pgpact plan' },
    );
    if (values.json) {
      const steps = plan.steps.map(({ kind, sql, reason, inUse }) => ({
        kind,
        sql,
        reason,
        ...(inUse ? { inUse } : {}),
      }));
      const pendingMigrations = pending.map((m) => `${m.service}/${m.file}`);
      output.out(
        `${JSON.stringify({ steps, findings: plan.findings, pendingMigrations }, null, 2)}\n`,
      );
    } else {
      output.out(formatPlan(plan, pending, redactUrl(url)));
    }
    return values.check && (plan.steps.length > 0 || pending.length > 0) ? EXIT.problem : EXIT.ok;
  },
};
