import fs from 'node:fs';
import path from 'node:path';
import { reaches } from '../../findings.js';
import { loadManifest } from '../../manifest/load.js';
import type { Manifest } from '../../manifest/types.js';
import { withClient } from '../../postgres/client.js';
import { defaultStateDir, resolveDatabaseUrl } from '../../postgres/embedded.js';
import { formatObservationText, observationJson } from '../../usage/format-observation.js';
import { observeUsage } from '../../usage/observe.js';
import { manifestReplicas, openReplicas } from '../../replica/open-replicas.js';
import { STAT_FILE_FORMAT } from '../../usage/stat-file.js';
import { loadUsage, saveUsage } from '../../usage/store.js';
import { suggestContracts } from '../../usage/suggest.js';
import type { UsageSnapshot } from '../../usage/types.js';
import { type Command, EXIT } from '../command.js';

/** `pgpact observe`: observed usage per service from pg_stat_statements, compared with the contracts. */
export const observeCommand: Command = {
  name: 'observe',
  summary:
    'observe what each service really reads and writes (pg_stat_statements); report undeclared and unused access',
  usage: `pgpact observe [--config FILE] [--database-url URL] [--from FILE] [--since-reset | --reset]
                      [--suggest] [--json] [--out FILE] [--replica URL]...

  Reads pg_stat_statements of the database (each role's statements with calls, rows and
  time), analyzes each distinct statement once against the live catalog, adds the counts
  up per role and column, maps roles to services (the manifest's role:) and reports:
    undeclared-read / undeclared-write  a service used a column or table it does not own
                                        (in a shared schema: another's owns: pattern) without
                                        declaring it, naming the owner (warning; info when no
                                        service owns the table)
    unknown-role            a role of no service read or wrote tables (backups, BI tools, a new team)
    unused-contract-column  a declared column was not used in the window (info)
    unobserved-service      a service with contracts ran nothing in the window (info)
    unanalyzed-statement    statement text that does not parse: cut (track_activity_query_size),
                            lost, or not SQL (info)
  Writes in a service's own schemas are not findings, nor is anything pgpact's own roles did:
  the role pgpact connects as (it runs migrations), the bootstrap superuser, pgpact_monitor.
  Statement texts that carry a password (CREATE/ALTER ROLE ... PASSWORD, user mappings,
  connection strings) are withheld: never saved or printed. Without a manifest (no ./pgpact.yaml and
  no --config) every role is reported as unknown: start there with --suggest.

  The window. pg_stat_statements counters only grow, so each snapshot also stores the raw
  counters it saw (per role, query id and nesting level). By default the window is the delta
  since the previous snapshot in --out: what ran between the two runs. Without a previous
  snapshot, or when pg_stat_statements was reset in between, it is everything since the last
  reset (pg_stat_statements_info.stats_reset).
  --since-reset        ignore the previous snapshot: everything since the last reset
  --reset              after reading, reset pg_stat_statements (needs superuser or EXECUTE on
                       pg_stat_statements_reset): the next run starts from zero
  --from FILE          observe exported rows instead of the live view (no delta); the catalog
                       still comes from the database. The file is ${STAT_FILE_FORMAT}
  --out FILE           where the snapshot goes (default .pgpact/usage.json, read by check and
                       migrate; PGPACT_HOME moves .pgpact)
  --suggest            print the contract YAML (services: reads: / writes:) that would declare
                       what each role really used, instead of the report; the window is then
                       everything since the last reset (or the --from file). Nothing is saved
                       and --reset is refused: the next observe's window is unchanged
  --replica URL        a streaming replica whose statements count too (repeatable; also the
                       manifest's replicas): each is marked with the server it ran on
                       ("server" in usage.json), so check and migrate see replica readers
  --json               {"snapshot", "database", "window": {"mode": "delta"|"since-reset"|"file",
                        "start", "end", "note"}, "statements", "roles": [{"role", "service",
                        "statements", "calls", "relationsRead", "relationsWritten"}],
                        "findings": [{"severity", "kind", "object", "consumers", "location",
                        "message", "suggestion"}]}

  Needs pg_stat_statements (shared_preload_libraries + CREATE EXTENSION) and a role that may
  see every role's statements (superuser or pg_read_all_stats). Without --database-url (or
  DATABASE_URL) it reads the embedded Postgres, which must exist and run (pgpact db start).

  exit codes: 0 no warning, 1 a finding of severity warning, 2 invalid input or environment
  (--suggest exits 0)`,
  options: {
    from: { type: 'string' },
    'since-reset': { type: 'boolean' },
    reset: { type: 'boolean' },
    suggest: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    replica: { type: 'string', multiple: true },
  },
  async run({ values }, output) {
    if (values['since-reset'] && values.reset) {
      output.err('pgpact observe: give --since-reset or --reset, not both\n');
      return EXIT.invalid;
    }
    if (values.suggest && values.reset) {
      output.err(
        'pgpact observe: --suggest only prints and --reset would move every later window: run observe --reset on its own\n',
      );
      return EXIT.invalid;
    }
    const from = values.from as string | undefined;
    if (from !== undefined && values.reset) {
      output.err('pgpact observe: --reset resets the live view; it does not go with --from\n');
      return EXIT.invalid;
    }
    const config = values.config as string | undefined;
    let manifest: Manifest | undefined;
    if (config !== undefined || fs.existsSync('pgpact.yaml'))
      manifest = loadManifest(config ?? 'pgpact.yaml');
    else
      output.err(
        'pgpact observe: no manifest (./pgpact.yaml): every role is reported as unknown\n',
      );
    const out = (values.out as string | undefined) ?? path.join(defaultStateDir(), 'usage.json');
    let previous: UsageSnapshot | undefined;
    // A suggestion covers all remembered use, not just what ran since the last observe.
    const sinceReset = values['since-reset'] === true || values.suggest === true;
    if (!sinceReset && from === undefined && fs.existsSync(out)) {
      try {
        previous = loadUsage(out);
      } catch (error) {
        output.err(`pgpact observe: ${(error as Error).message}; observing since the last reset\n`);
      }
    }
    const url = await resolveDatabaseUrl({
      databaseUrl: values['database-url'] as string | undefined,
      embedded: 'running',
    });
    const given = Array.isArray(values.replica) ? values.replica.map((u) => ({ url: u })) : [];
    const replicas = await openReplicas(
      [...given, ...manifestReplicas(manifest)],
      'pgpact observe',
    );
    const result = await withClient(url, (client) =>
      observeUsage({
        client,
        ...(manifest ? { manifest } : {}),
        ...(from === undefined ? {} : { fromFile: from }),
        ...(previous ? { previous } : {}),
        sinceReset,
        reset: values.reset === true,
        ...(replicas.targets.length > 0 ? { replicas: replicas.targets } : {}),
      }),
    ).finally(() => replicas.close());
    if (values.suggest) {
      // Only printed: the snapshot (and so the next observe's window) stays where it was.
      output.out(suggestContracts(result.usage, manifest, result.catalog));
      return EXIT.ok;
    }
    saveUsage(out, result.usage);
    if (values.reset)
      output.err(
        'pgpact observe: pg_stat_statements was reset (--reset): windows of later observations, and of migrations started before, begin now\n',
      );
    if (values.json) output.out(`${JSON.stringify(observationJson(result, out), null, 2)}\n`);
    else output.out(formatObservationText(result, out));
    return result.findings.some((f) => reaches(f.severity, 'warning')) ? EXIT.problem : EXIT.ok;
  },
};
