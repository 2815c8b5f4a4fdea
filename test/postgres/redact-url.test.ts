import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { redactUrl } from '../../src/postgres/client.js';
import { freePort } from '../../src/postgres/local-server.js';

it('redactUrl hides a password given as a URL parameter, as libpq accepts it', () => {
  for (const url of [
    'postgresql://app@db.example/shop?password=hunter2',
    'postgresql://app:hunter2@db.example/shop?sslmode=require',
    'postgresql://app@db.example/shop?sslmode=require&sslpassword=hunter2',
    'postgresql://app@db.example:not-a-port/shop?password=hunter2',
  ]) {
    const shown = redactUrl(url);
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('db.example');
  }
  expect(redactUrl('postgresql://app@db.example/shop?sslmode=require')).toBe(
    'postgresql://app@db.example/shop?sslmode=require',
  );
});

it('a connection failure names the database without the password in its parameters', async () => {
  const port = await freePort();
  let out = '';
  const output: Output = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      out += t;
    },
    isTTY: false,
  };
  const code = await runCommand(
    ['observe', '--database-url', `postgresql://app@127.0.0.1:${port}/shop?password=hunter2`],
    output,
  );
  expect(code).toBe(2);
  expect(out).toContain(`127.0.0.1:${port}`);
  expect(out).not.toContain('hunter2');
});
