import { parseArgs } from 'node:util';
import { destroyThrowawaysSync } from '../postgres/local-server.js';
import { COMMON_OPTIONS, type Command, EXIT, type Output } from './command.js';
import { COMMANDS } from './commands/index.js';
import { formatError } from './report-error.js';

const stdOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
};

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `pgpact: make one PostgreSQL database safe to share between many services

usage: pgpact <command> [options]

commands:
${list}

common options:
  -c, --config FILE      the manifest (default ./pgpact.yaml)
  --database-url URL     the database (default: DATABASE_URL, else the embedded Postgres under .pgpact/)
  -h, --help             help for a command

exit codes: 0 success, 1 the command worked and found a problem, 2 invalid input, usage or environment
`;
}

/** Parses argv for one command and runs it; the one place errors become exit codes. */
export async function runCommand(argv: string[], output: Output = stdOutput, signal = new AbortController().signal): Promise<number> {
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
    output.err(`pgpact: unknown command '${name}'\n\n${generalHelp()}`);
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
    return await command.run(
      { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals },
      output,
      signal,
    );
  } catch (error) {
    if (process.env.PGPACT_DEBUG && error instanceof Error) output.err(`${error.stack}\n`);
    output.err(formatError(error));
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
  const code = await runCommand(argv, stdOutput, controller.signal);
  process.exitCode = controller.signal.aborted && code === EXIT.ok ? 130 : code;
}
