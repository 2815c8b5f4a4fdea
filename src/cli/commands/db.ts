import { redactUrl } from '../../postgres/client.js';
import {
  defaultStateDir,
  embeddedStatus,
  ensureEmbeddedServer,
  runningEmbeddedUrl,
  stopEmbeddedServer,
} from '../../postgres/embedded.js';
import { type Command, EXIT } from '../command.js';

/** `pgpact db start|stop|status|url`: the persistent embedded Postgres under .pgpact/. */
export const dbCommand: Command = {
  name: 'db',
  summary: 'start, stop or locate the embedded Postgres kept under .pgpact/',
  usage: `pgpact db start|stop|status|url [--remove] [--show-password]

  start            start the embedded Postgres (created on first use), print its URL (password hidden)
  stop [--remove]  stop it; --remove also deletes its data
  status           whether it exists and runs, its port, data directory and log
  url              print its superuser URL (password hidden unless --show-password, for scripts);
                   exit 2 when it does not exist or run (only start creates or starts it)

  PGPACT_HOME sets the state directory (default ./.pgpact).`,
  options: { remove: { type: 'boolean' }, 'show-password': { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }, output) {
    const action = positionals[0];
    const stateDir = defaultStateDir();
    switch (action) {
      case 'start': {
        const url = await ensureEmbeddedServer(stateDir);
        output.out(`embedded Postgres running: ${redactUrl(url)}\n`);
        return EXIT.ok;
      }
      case 'stop': {
        const was = await stopEmbeddedServer(stateDir, values.remove === true);
        output.out(
          `${was ? 'embedded Postgres stopped' : 'embedded Postgres was not running'}${values.remove ? '; data removed' : ''}\n`,
        );
        return EXIT.ok;
      }
      case 'status': {
        const s = await embeddedStatus(stateDir);
        output.out(
          s.initialised
            ? `embedded Postgres ${s.majorVersion}: ${s.running ? `running on 127.0.0.1:${s.port}` : 'stopped'}\n  data: ${s.dataDir}\n  log:  ${s.logFile}\n`
            : `no embedded Postgres yet under ${stateDir} (pgpact db start creates it)\n`,
        );
        return s.running ? EXIT.ok : EXIT.problem;
      }
      case 'url': {
        // Only reads: never creates or starts a server (db start does).
        const url = await runningEmbeddedUrl(stateDir);
        output.out(`${values['show-password'] ? url : redactUrl(url)}\n`);
        return EXIT.ok;
      }
      default:
        output.err(`pgpact db: expected start, stop, status or url\n\n${dbCommand.usage}\n`);
        return EXIT.invalid;
    }
  },
};
