import fs from 'node:fs';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { applyProvisioning } from '../../src/provision/apply.js';
import { passwordEnvVar, rolePassword, serviceUrl } from '../../src/provision/credentials.js';
import { scramVerifier } from '../../src/provision/scram.js';
import { describeEachServer } from '../helpers/postgres.js';
import { projectManifest, tempDir } from './fixtures.js';

describeEachServer('passwords', (server) => {
  it('the SCRAM verifier computed in JS is the one Postgres computes for the same password and salt', async () => {
    const url = await server().createDatabase();
    await withClient(url, async (c) => {
      for (const [i, password] of [
        'plain',
        'pässwörd ﬁ',
        'it\'s "quoted" 🐘',
        '\u00A0spaced\u200Bout',
      ].entries()) {
        const role = `scram_check_${i}`;
        await c.query(`SET password_encryption = 'scram-sha-256'`);
        await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password.replaceAll("'", "''")}'`);
        const { rows } = await c.query<{ stored: string }>(
          'SELECT rolpassword AS stored FROM pg_authid WHERE rolname = $1',
          [role],
        );
        const stored = rows[0]!.stored;
        const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;
        expect(scramVerifier(password, Buffer.from(match[2]!, 'base64'), Number(match[1]))).toBe(
          stored,
        );
      }
    });
  });

  it('no plaintext password reaches the server, its logs or the plan; services log in with theirs', async () => {
    const url = await server().createDatabase();
    const stateDir = tempDir();
    const database = new URL(url).pathname.slice(1);
    // Log every statement pgpact sends to this database.
    await withClient(url, (c) => c.query(`ALTER DATABASE "${database}" SET log_statement = 'all'`));
    const { manifest } = projectManifest({
      'pgpact.yaml': 'version: 1\nservices:\n  users:\n    role: pw_users\n    owns: [users]\n',
    });
    const result = await applyProvisioning(url, manifest, { stateDir });
    const create = result.steps.find((s) => s.kind === 'create-role')!;
    expect(create.sql).toBe(
      `CREATE ROLE "pw_users" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '<redacted>'`,
    );
    const password = rolePassword(url, 'pw_users', stateDir)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const log = fs.readFileSync(server().logFile, 'utf8');
    expect(log).toContain('CREATE ROLE "pw_users"');
    expect(log).toContain("PASSWORD 'SCRAM-SHA-256$4096:");
    expect(log).not.toContain(password);
    await withClient(serviceUrl(url, 'pw_users', stateDir), (c) => c.query('SELECT 1'));
  });

  it('a role pgpact has no password for is named, with the variable that would provide it', () => {
    const error = (() => {
      try {
        serviceUrl('postgresql://admin:secret@db.example:6543/app', 'nobody known', tempDir());
      } catch (e) {
        return e as Error & { code: string; hint: string };
      }
    })();
    expect(error).toMatchObject({ code: 'CREDENTIALS_MISSING' });
    expect(error!.message).toBe(
      'no password known for role nobody known on postgresql://admin:***@db.example:6543/app',
    );
    expect(error!.hint).toContain(passwordEnvVar('nobody known'));
    expect(passwordEnvVar('nobody known')).toBe('PGPACT_PASSWORD_NOBODY_KNOWN');
  });
});
