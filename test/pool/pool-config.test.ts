import { expect, it } from 'vitest';
import { formatAuthFile } from '../../src/pool/auth-file.js';
import { planPoolConfig, type PoolSettings } from '../../src/pool/pool-config.js';
import { scramVerifier } from '../../src/provision/scram.js';
import { manifestOf } from '../runtime/helpers.js';

const settings = (database: string): PoolSettings => ({
  listenPort: 6432,
  server: { host: '127.0.0.1', port: 5432, database },
  files: { authFile: '/p/userlist.txt', logFile: '/p/pgbouncer.log', pidFile: '/p/pgbouncer.pid' },
  poolMode: 'transaction',
  defaultPoolSize: 4,
  serverConnections: 7,
  maxClientConnections: 100,
  monitorUser: 'pgpact_pool_monitor',
});

it('gives every service role its own pool, sized by its limit or the default; names quoted as PgBouncer reads them', () => {
  const manifest = manifestOf({ users: 'users', reporting: 'reporting' });
  manifest.services[0]!.limits.connections = 3;
  const config = planPoolConfig(manifest, settings('my "app" db'), []);
  expect(config.pools).toEqual([
    { service: 'users', role: 'users', poolSize: 3 },
    { service: 'reporting', role: 'reporting', poolSize: 4 },
  ]);
  const lines = config.ini.split('\n');
  expect(lines).toContain(
    `"my ""app"" db" = host=127.0.0.1 port=5432 dbname='my "app" db' pool_size=4 max_db_connections=7`,
  );
  expect(lines).toContain('users = max_user_connections=3');
  expect(lines).toContain('reporting = max_user_connections=4');
  expect(lines).toContain('stats_users = pgpact_pool_monitor');
  expect(config.ini).not.toMatch(/password\s*=/i);
});

it('writes SCRAM verifiers only: a password or an md5 hash is refused', () => {
  const verifier = scramVerifier('s3cret');
  expect(formatAuthFile([{ user: 'a"b', verifier }])).toBe(`"a""b" "${verifier}"\n`);
  expect(() => formatAuthFile([{ user: 'users', verifier: 's3cret' }])).toThrow(
    /not a SCRAM verifier/,
  );
  expect(() =>
    formatAuthFile([{ user: 'users', verifier: 'md5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }]),
  ).toThrow(/not a SCRAM verifier/);
});
