import type { ParseArgsConfig } from 'node:util';

/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (colors, live views). */
  isTTY: boolean;
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'database-url': { type: 'string' },
  'database-url-env': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** One CLI command: parses its own options and returns an exit code; it never calls process.exit. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage text shown by --help (the README's reference is checked against it). */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are allowed. */
  positionals?: boolean;
  run(
    args: {
      values: Record<string, string | boolean | string[] | undefined>;
      positionals: string[];
    },
    output: Output,
    signal: AbortSignal,
  ): Promise<number>;
}

/** Exit codes: 0 success, 1 the command worked and found a problem, 2 invalid input, usage or environment, 130 interrupted. */
export const EXIT = { ok: 0, problem: 1, invalid: 2, interrupted: 130 } as const;
