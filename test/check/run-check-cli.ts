import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';

/** `pgpact check --config pgpact.yaml ARGS` run in `dir`: its exit code and everything it printed. */
export async function checkIn(dir: string, ...args: string[]) {
  const o = { out: '', err: '' };
  const output: Output = {
    out: (t) => {
      o.out += t;
    },
    err: (t) => {
      o.err += t;
    },
    isTTY: false,
  };
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const code = await runCommand(['check', '--config', 'pgpact.yaml', ...args], output);
    return { code, text: o.out + o.err };
  } finally {
    process.chdir(cwd);
  }
}
