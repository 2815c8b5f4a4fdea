import { PgpactError } from '../../errors.js';
import { defaultStateDir, resolveDatabaseUrl } from '../../postgres/embedded.js';
import type { PoolMode } from '../../pool/pool-config.js';
import { poolStatus, reloadPool, startPool, stopPool } from '../../pool/pool-process.js';
import { writePoolConfig } from '../../pool/write-pool.js';
import { type Command, EXIT } from '../command.js';
import { loadManifestOption } from '../manifest-option.js';

function positiveInteger(values: Record<string, unknown>, name: string): number | undefined {
  const given = values[name];
  if (typeof given !== 'string') return undefined;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new PgpactError(
      'USAGE',
      `--${name} ${JSON.stringify(given)} is not a whole number from 1 to 65535`,
    );
  }
  return n;
}

function poolMode(values: Record<string, unknown>): PoolMode | undefined {
  const given = values['pool-mode'];
  if (given === undefined) return undefined;
  if (given === 'session' || given === 'transaction') return given;
  throw new PgpactError(
    'USAGE',
    `--pool-mode ${JSON.stringify(given)} is not session or transaction`,
  );
}

/** `pgpact pool [start|stop|status]`: PgBouncer in front of the database, one pool per service. */
export const poolCommand: Command = {
  name: 'pool',
  summary: 'write a PgBouncer configuration from the manifest; start, stop it',
  usage: `pgpact pool [--port N] [--pool-mode transaction|session] [--pool-size N]
            [--server-connections N]
       pgpact pool start|stop|status [--remove]

  Without an action, writes PgBouncer's configuration under .pgpact/pool/ (files mode 0600)
  from the manifest: one pool per service role on the database of --database-url (or the
  embedded Postgres), each as large as the service's connections limit, all sharing
  --server-connections. Clients log in with their service role's own password by
  SCRAM-SHA-256: the auth file holds the verifiers Postgres stores (read as superuser),
  never a password, and PgBouncer logs in to Postgres with the client's own SCRAM proof.
  A PgBouncer-only user, pgpact_pool_monitor, may read the admin console (its password is
  kept in .pgpact/credentials.json); pgpact top, metrics and dashboard read it while the
  pool runs. Rerun after pgpact apply changes a role or its password.

  start    start Debian's pgbouncer on that configuration (as the postgres OS user when root)
  stop     stop it (closes every client connection); --remove also deletes its files
  status   whether it runs, its port, configuration and log

  --port N                  where PgBouncer listens (default: as before, else a free port)
  --pool-mode MODE          transaction (default) or session
  --pool-size N             pool size of a service without a connections limit (default 5)
  --server-connections N    server connections all services share (max_db_connections;
                            default: the sum of the pool sizes, so nobody waits for another)`,
  options: {
    port: { type: 'string' },
    'pool-mode': { type: 'string' },
    'pool-size': { type: 'string' },
    'server-connections': { type: 'string' },
    remove: { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals }, output) {
    const action = positionals[0];
    const stateDir = defaultStateDir();
    switch (action) {
      case undefined: {
        const manifest = loadManifestOption(values);
        const adminUrl = await resolveDatabaseUrl({
          databaseUrl:
            typeof values['database-url'] === 'string' ? values['database-url'] : undefined,
        });
        const written = await writePoolConfig({
          adminUrl,
          manifest,
          stateDir,
          port: positiveInteger(values, 'port'),
          poolMode: poolMode(values),
          defaultPoolSize: positiveInteger(values, 'pool-size'),
          serverConnections: positiveInteger(values, 'server-connections'),
        });
        const { state } = written;
        const reloaded = reloadPool(stateDir);
        const lines = [
          `wrote ${written.iniFile} and ${written.authFile} (SCRAM verifiers, no passwords)`,
          `PgBouncer on 127.0.0.1:${state.port} → ${state.server.host}:${state.server.port}/${state.server.database}, ${state.poolMode} pooling, ${state.serverConnections} shared server connections`,
          ...written.pools.map(
            (p) => `  pool ${p.role} (service ${p.service}): ${p.poolSize} server connections`,
          ),
          `services connect to postgresql://<role>:<password>@127.0.0.1:${state.port}/${state.server.database}; ${reloaded ? 'the running PgBouncer reloaded it (a new --port needs pgpact pool stop and start)' : 'pgpact pool start runs it'}`,
        ];
        output.out(`${lines.join('\n')}\n`);
        return EXIT.ok;
      }
      case 'start': {
        const status = await startPool(stateDir);
        output.out(
          `PgBouncer running on 127.0.0.1:${status.port} (pid ${status.pid}); log: ${status.logFile}\n`,
        );
        return EXIT.ok;
      }
      case 'stop': {
        const was = await stopPool(stateDir, values.remove === true);
        output.out(
          `${was ? 'PgBouncer stopped' : 'PgBouncer was not running'}${values.remove ? '; files removed' : ''}\n`,
        );
        return EXIT.ok;
      }
      case 'status': {
        const s = poolStatus(stateDir);
        output.out(
          s.configured
            ? `PgBouncer: ${s.running ? `running on 127.0.0.1:${s.port} (pid ${s.pid})` : 'stopped'}\n  config: ${s.iniFile}\n  log:    ${s.logFile}\n`
            : `no PgBouncer configured under ${stateDir} (pgpact pool writes it)\n`,
        );
        return s.running ? EXIT.ok : EXIT.problem;
      }
      default:
        output.err(`pgpact pool: expected start, stop or status\n\n${poolCommand.usage}\n`);
        return EXIT.invalid;
    }
  },
};
