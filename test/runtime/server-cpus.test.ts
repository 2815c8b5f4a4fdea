import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { PgpactError } from '../../src/errors.js';
import { localServerCpus, parseCpus } from '../../src/runtime/server-cpus.js';

describe('server CPUs', () => {
  it("are this machine's for a server on loopback or a Unix socket, unknown elsewhere", () => {
    const here = os.availableParallelism();
    expect(localServerCpus('postgres://u:p@127.0.0.1:5432/db')).toBe(here);
    expect(localServerCpus('postgresql://u@localhost/db')).toBe(here);
    expect(localServerCpus('postgres://u@[::1]:6543/db')).toBe(here);
    expect(localServerCpus('postgres:///db?host=/var/run/postgresql')).toBe(here);
    expect(localServerCpus('postgres://u:p@db.internal:5432/db')).toBeNull();
    expect(localServerCpus('postgres://u:p@10.0.0.7/db')).toBeNull();
    expect(localServerCpus('not a url')).toBeNull();
  });

  it('read from --cpus as a whole number, with a hint otherwise', () => {
    expect(parseCpus('8')).toBe(8);
    for (const bad of ['0', '-2', '1.5', 'eight', '', '99999']) {
      expect(() => parseCpus(bad)).toThrow(PgpactError);
    }
    expect(() => parseCpus('x')).toThrow(/--cpus "x" is not a number of CPUs/);
  });
});
