import fs from 'node:fs';
import { initManifest } from '../../init/init-manifest.js';
import { withClient } from '../../postgres/client.js';
import { resolveDatabaseUrl } from '../../postgres/embedded.js';
import { type Command, EXIT } from '../command.js';

/** `pgpact init`: a first manifest (audit mode) from the live database. */
export const initCommand: Command = {
  name: 'init',
  summary:
    'write a first manifest (audit mode) from an existing database: owners, writers, readers',
  usage: `pgpact init [--database-url URL] [--out FILE] [--force]

  Writes a manifest a team can commit the same day, from the live database:
    services      one per login role that owns tables or writes them (pgpact's own roles,
                  the admin, the bootstrap superuser and pgpact_monitor, never are)
    owns          the fewest schema names and table patterns (schema.table, * for a common
                  prefix: public.batch_*) covering exactly the tables the role owns, or, for
                  a table the admin (or a role that cannot log in) owns, the tables it alone
                  writes; a pattern never matches another service's or an unowned table
    reads/writes  columns of other services' tables the role used (pg_stat_statements since
                  its last reset, analyzed against the catalog)
    enforcement   audit: apply grants broadly and only reports, so no query result changes
  Comments in the file name the tables written by roles other than their owner, the tables
  nobody owns, and the login roles that only read. When the admin owns every table, owners
  are proposed from writers and the file says so. Without pg_stat_statements (or the right
  to read it) the owners come from the catalog alone, and the file says why.

  --out FILE    where the manifest goes (default pgpact.yaml)
  --force       overwrite FILE if it exists (refused otherwise)

  Without --database-url (or DATABASE_URL) it reads the embedded Postgres, which must exist
  and run (pgpact db start).

  exit codes: 0 written, 2 the file exists (without --force), invalid input or environment`,
  options: {
    out: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run({ values }, output) {
    const out = (values.out as string | undefined) ?? 'pgpact.yaml';
    const force = values.force === true;
    if (!force && fs.existsSync(out)) {
      output.err(
        `pgpact init: ${out} exists; give --force to overwrite it, or --out another file\n`,
      );
      return EXIT.invalid;
    }
    const url = await resolveDatabaseUrl({
      databaseUrl: values['database-url'] as string | undefined,
      embedded: 'running',
    });
    const result = await withClient(url, (client) => initManifest(client));
    try {
      fs.writeFileSync(out, result.text, { flag: force ? 'w' : 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        output.err(`pgpact init: ${out} exists; give --force to overwrite it\n`);
        return EXIT.invalid;
      }
      output.err(`pgpact init: cannot write ${out}: ${(error as Error).message}\n`);
      return EXIT.invalid;
    }
    const services = result.owns.size;
    output.out(
      `pgpact init: wrote ${out}: ${services} service${services === 1 ? '' : 's'}, ${result.proposal.unowned.length} table${result.proposal.unowned.length === 1 ? '' : 's'} nobody owns${result.proposal.adminOwnsAll ? ', owners proposed from writers (the admin owns every table)' : ''}${result.usageUnavailable ? ' (no observed use: see the file)' : ''}\n`,
    );
    if (result.incompleteUse) output.err(`pgpact init: warning: ${result.incompleteUse}\n`);
    return EXIT.ok;
  },
};
