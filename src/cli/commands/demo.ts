import { formatClosing, formatEvent, formatOpening } from '../../demo/format-report.js';
import { stopKeptDemo } from '../../demo/keep-state.js';
import { runDemo } from '../../demo/run-demo.js';
import { type Command, EXIT } from '../command.js';

/** `pgpact demo`: the article's story on a running system (services A, B, C on one Postgres). */
export const demoCommand: Command = {
  name: 'demo',
  summary: "tell the article's story on a running system: services A, B and C on one Postgres",
  usage: `pgpact demo [--database-url URL] [--keep] [--duration S] [--json]
       pgpact demo --monolith [--json]
       pgpact demo --stop

  Starts a throwaway embedded Postgres, provisions examples/shared-database/pgpact.yaml,
  starts the users, invoicing and reporting services and steady traffic, then tells the
  story chapter by chapter: what each did and what it measured. Everything is stopped and
  removed at the end, also on Ctrl-C. Exit 0 when every chapter held, 1 otherwise.

  --database-url URL  use this server instead (it creates database pgpact_demo and the roles
                      users, invoicing, reporting there, and drops them at the end)
  --keep              leave it running: Postgres (the demo's own, under .pgpact/demo/), the
                      services and light traffic; prints their URLs
  --stop              stop what --keep left running, including its Postgres
  --monolith          the brownfield story instead: services A, B and C on one database with
                      every table in public; pgpact init, apply in audit mode (no answer
                      changes), observe (the undeclared reader), move_table into schema
                      invoicing under traffic, enforcement switched on (throwaway Postgres only)
  --duration S        seconds the load chapter measures (default 5)
  --json              print the report as JSON (progress goes to stderr)`,
  options: {
    keep: { type: 'boolean' },
    stop: { type: 'boolean' },
    monolith: { type: 'boolean' },
    duration: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values }, output, signal) {
    if (values.stop) {
      const { stopped, serverStopped } = await stopKeptDemo();
      output.out(
        stopped.length === 0 && !serverStopped
          ? 'nothing of the demo was running\n'
          : `stopped: ${[...stopped, ...(serverStopped ? ['Postgres'] : [])].join(', ')}\n`,
      );
      return EXIT.ok;
    }
    const duration = values.duration === undefined ? 5 : Number(values.duration);
    if (!Number.isFinite(duration) || duration <= 0 || duration > 600) {
      output.err(`pgpact demo: --duration must be a number of seconds from 0 to 600\n`);
      return EXIT.invalid;
    }
    const monolith = values.monolith === true;
    if (monolith && (values.keep === true || values['database-url'] !== undefined)) {
      output.err(
        'pgpact demo: --monolith runs on a throwaway Postgres and leaves nothing: drop --keep and --database-url\n',
      );
      return EXIT.invalid;
    }
    const json = values.json === true;
    const show = json ? output.err : output.out;
    show(formatOpening(monolith));
    const report = await runDemo(
      {
        databaseUrl:
          typeof values['database-url'] === 'string' ? values['database-url'] : undefined,
        keep: values.keep === true,
        monolith,
        durationSeconds: duration,
        onEvent: (event) => show(formatEvent(event)),
      },
      signal,
    );
    if (json) output.out(`${JSON.stringify(report, null, 2)}\n`);
    else output.out(formatClosing(report));
    if (json) output.err(formatClosing(report));
    if (report.interrupted) return EXIT.ok;
    return report.ok ? EXIT.ok : EXIT.problem;
  },
};
