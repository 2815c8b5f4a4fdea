import { parseArgs } from 'node:util';
import { environmentError, PgpactError } from '../errors.js';
import { closestName } from '../manifest/closest.js';
import { checkDatabaseUrl } from '../postgres/connection-failure.js';
import { destroyThrowawaysSync } from '../postgres/local-server.js';
import { COMMON_OPTIONS, type Command, EXIT, type Output } from './command.js';
import { COMMANDS } from './commands/index.js';
import { formatError, formatInterrupted } from './report-error.js';

/** Set once a reader closed stdout (`pgpact plan | head -1`): later output is dropped quietly. */
let stdoutClosed = false;

const stdOutput: Output = {
  out: (text) => {
    if (!stdoutClosed) process.stdout.write(text);
  },
  err: (text) => {
    if (!process.stderr.destroyed) process.stderr.write(text);
  },
  isTTY: process.stdout.isTTY === true,
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** Options whose value is a connection URL: checked up front, and warned about when they hold a password. */
const URL_OPTIONS = ['database-url', 'monitor-url'];

/**
 * Resolves --database-url-env NAME into --database-url, checks every URL given on the
 * command line, and warns (stderr) about secrets there: other users see them in `ps`.
 */
function resolveSecretOptions(values: Values, output: Output, name: string, warn: boolean): void {
  const fromEnv = values['database-url-env'];
  if (typeof fromEnv === 'string') {
    if (values['database-url'] !== undefined) {
      throw new PgpactError('USAGE', 'give --database-url or --database-url-env, not both');
    }
    const url = process.env[fromEnv];
    if (url === undefined || url === '') {
      throw new PgpactError(
        'USAGE',
        `--database-url-env ${fromEnv}: the environment variable ${fromEnv} is not set`,
        {
          hint: `export ${fromEnv}=postgresql://user@host:5432/dbname (or use DATABASE_URL)`,
        },
      );
    }
    checkDatabaseUrl(url, `the URL in ${fromEnv}`);
    values['database-url'] = url;
  }
  for (const option of URL_OPTIONS) {
    if (option === 'database-url' && typeof fromEnv === 'string') continue;
    const url = values[option];
    if (typeof url !== 'string') continue;
    const parsed = checkDatabaseUrl(url, `--${option}`);
    if (warn && (parsed.password !== '' || parsed.searchParams.has('password'))) {
      output.err(
        `pgpact ${name}: warning: --${option} holds a password, visible to other users of this machine (ps); use PGPASSWORD, ~/.pgpass, DATABASE_URL or --database-url-env NAME instead\n`,
      );
    }
  }
  if (warn && typeof values.token === 'string') {
    output.err(
      `pgpact ${name}: warning: --token is visible to other users of this machine (ps); set PGPACT_DASHBOARD_TOKEN instead\n`,
    );
  }
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `pgpact: make one PostgreSQL database safe to share between many services

usage: pgpact <command> [options]

commands:
${list}

common options:
  -c, --config FILE          the manifest (default ./pgpact.yaml)
  --database-url URL         the database (default: DATABASE_URL, else the embedded Postgres under .pgpact/)
  --database-url-env NAME    the database URL from environment variable NAME (keeps it out of ps)
  -h, --help                 help for a command

  A URL without a password takes it from PGPASSWORD or ~/.pgpass (PGPASSFILE), as psql does.

exit codes: 0 success, 1 the command worked and found a problem, 2 invalid input, usage or
environment (a file, the disk, the database), 130 interrupted (Ctrl-C)
`;
}

/** Parses argv for one command and runs it; the one place errors become exit codes. */
export async function runCommand(
  argv: string[],
  output: Output = stdOutput,
  signal = new AbortController().signal,
  /** Whether argv is a process's command line, which `ps` shows: then secrets in it are warned about. */
  options: { argvVisible?: boolean } = {},
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    output.out(generalHelp());
    return name === undefined ? EXIT.invalid : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    output.out('pgpact 0.1.0\n');
    return EXIT.ok;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (!command) {
    output.err(`pgpact: unknown command '${name}'${commandHint(name)}\n\n${generalHelp()}`);
    return EXIT.invalid;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: command.positionals === true,
      strict: true,
    });
  } catch (error) {
    output.err(`pgpact ${name}: ${(error as Error).message}\n\nusage: ${command.usage}\n`);
    return EXIT.invalid;
  }
  if (parsed.values.help) {
    output.out(`usage: ${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    const values = parsed.values as Values;
    resolveSecretOptions(values, output, name, options.argvVisible === true);
    return await command.run({ values, positionals: parsed.positionals }, output, signal);
  } catch (error) {
    if (process.env.PGPACT_DEBUG && error instanceof Error) output.err(`${error.stack}\n`);
    if (signal.aborted) {
      output.err(formatInterrupted(name, rest, signal.reason));
      return EXIT.interrupted;
    }
    const shown = environmentError(error) ?? error;
    output.err(formatError(shown, name, rest));
    // Invalid input, an unreachable database and internal errors alike: the command could not do its job.
    return EXIT.invalid;
  }
}

/** The process entry point: runs the command, handles Ctrl-C, sets the exit code. */
export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    controller.abort();
    if (interrupts > 1) {
      destroyThrowawaysSync();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that closed the pipe (`pgpact plan | head -1`) is not an error: stop writing.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
    // Commands that run until stopped (top --json, metrics) stop as on Ctrl-C.
    controller.abort(new PgpactError('INTERRUPTED', 'stdout was closed'));
  });
  process.stderr.on('error', () => undefined);
  // The last resort: whatever escapes a command is still reported without a stack trace.
  const onEscaped = (error: unknown) => {
    if (process.env.PGPACT_DEBUG && error instanceof Error) stdOutput.err(`${error.stack}\n`);
    stdOutput.err(formatError(environmentError(error) ?? error, argv[0], argv.slice(1)));
    destroyThrowawaysSync();
    process.exit(controller.signal.aborted ? EXIT.interrupted : EXIT.invalid);
  };
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
  const code = await runCommand(argv, stdOutput, controller.signal, { argvVisible: true });
  process.exitCode =
    controller.signal.aborted && code === EXIT.ok && !stdoutClosed ? EXIT.interrupted : code;
}

/** Commands other tools have, and where pgpact does the same. */
const ELSEWHERE: Record<string, string> = {
  lint: "the migration linter's rules run in pgpact check (README: Lint: Squawk's rules in pgpact check)",
  migrations: 'pgpact migrate (expand/contract), pgpact check (the CI gate)',
  suggest: 'pgpact observe --suggest',
  status: 'pgpact migrate status, pgpact db status',
};

/** ": did you mean …" for a misspelt or foreign command name, or nothing. */
function commandHint(name: string): string {
  const key = name.toLowerCase();
  if (Object.hasOwn(ELSEWHERE, key)) return `: ${ELSEWHERE[key]}`;
  const closest = closestName(
    name,
    COMMANDS.map((c) => c.name),
  );
  return closest ? `: did you mean '${closest}'?` : '';
}
