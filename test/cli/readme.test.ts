import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { runCommand } from '../../src/cli/main.js';
import { commandReference, REFERENCE_END, REFERENCE_START } from '../../src/cli/reference.js';
import {
  PGPACT_OPERATIONS,
  PGROLL_ONLY_OPERATIONS,
} from '../../src/migrate/operations/registry.js';

const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function capture() {
  let out = '';
  let err = '';
  return {
    output: {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      isTTY: false,
    },
    text: () => ({ out, err }),
  };
}

describe('the README', () => {
  it('gives exactly the two commands for a new machine near its top', () => {
    const top = readme.split('\n## ').slice(0, 3).join('\n');
    expect(top).toContain('npm install && npx pgpact demo');
    expect(top).toContain('npm test');
  });

  it('holds the command reference exactly as --help prints it (run `npm run readme` after changing a usage)', () => {
    const block = readme.slice(
      readme.indexOf(REFERENCE_START),
      readme.indexOf(REFERENCE_END) + REFERENCE_END.length,
    );
    expect(block).toBe(commandReference());
  });

  it.each(COMMANDS.map((c) => c.name))(
    'pgpact %s --help prints the usage the README shows',
    async (name) => {
      const { output, text } = capture();
      const code = await runCommand([name, '--help'], output);
      expect(code).toBe(0);
      const usage = COMMANDS.find((c) => c.name === name)!.usage;
      expect(text().out).toContain(usage.split('\n')[0]);
      expect(readme).toContain(usage.split('\n')[0]);
    },
  );

  it("migrate --help names every operation a migration file may use, pgpact's and pgroll's", () => {
    const usage = COMMANDS.find((c) => c.name === 'migrate')!.usage;
    const named = (key: string) => new RegExp(`\\b${key}\\b`).test(usage);
    expect([...PGPACT_OPERATIONS, ...PGROLL_ONLY_OPERATIONS].filter((k) => !named(k))).toEqual([]);
  });

  it('every long option a command accepts appears in its usage text', () => {
    const missing = COMMANDS.flatMap((c) =>
      Object.keys(c.options)
        .filter((o) => !c.usage.includes(`--${o}`))
        .map((o) => `${c.name} --${o}`),
    );
    expect(missing).toEqual([]);
  });
});

describe('the CLI surface', () => {
  it('an unknown command exits 2 and lists the commands', async () => {
    const { output, text } = capture();
    expect(await runCommand(['no-such-command'], output)).toBe(2);
    expect(text().err).toContain('unknown command');
  });

  it('an unknown command names where pgpact does it: lint is check, a typo its closest command', async () => {
    for (const [name, says] of [
      ['lint', "unknown command 'lint': the migration linter's rules run in pgpact check"],
      ['chek', "unknown command 'chek': did you mean 'check'?"],
      ['constructor', "unknown command 'constructor'\n"],
    ]) {
      const { output, text } = capture();
      expect(await runCommand([name!], output)).toBe(2);
      expect(text().err).toContain(says);
    }
  });

  it('an unknown option exits 2 with the usage, no stack trace', async () => {
    const { output, text } = capture();
    expect(await runCommand(['plan', '--no-such-option'], output)).toBe(2);
    expect(text().err).toContain('usage:');
    expect(text().err).not.toMatch(/\n\s+at /);
  });
});
