import { expect, it } from 'vitest';
import type { PgpactError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';
import { manifestReplicas } from '../../src/replica/open-replicas.js';

const base = 'version: 1\nservices:\n  reporting: {}\n';

function problemsOf(text: string) {
  try {
    parseManifest(text, '/virtual/pgpact.yaml');
  } catch (error) {
    return (error as PgpactError).problems.map((p) => `${p.line}:${p.code}: ${p.message}`);
  }
  throw new Error('the manifest was accepted');
}

it('names replicas by the environment variable holding their URL', () => {
  const manifest = parseManifest(
    `${base}replicas:\n  reports-standby: { url_env: REPORTS_REPLICA_URL }\n`,
    '/virtual/pgpact.yaml',
  );
  expect(manifest.replicas).toEqual([
    {
      name: 'reports-standby',
      urlEnv: 'REPORTS_REPLICA_URL',
      location: { file: '/virtual/pgpact.yaml', line: 5, column: 3 },
    },
  ]);
  const previous = process.env.REPORTS_REPLICA_URL;
  try {
    delete process.env.REPORTS_REPLICA_URL;
    expect(() => manifestReplicas(manifest)).toThrow(
      /environment variable REPORTS_REPLICA_URL \(replica reports-standby/,
    );
    process.env.REPORTS_REPLICA_URL = 'postgresql://monitor:secret@replica:5432/app';
    expect(manifestReplicas(manifest)).toEqual([
      { url: 'postgresql://monitor:secret@replica:5432/app', label: 'reports-standby' },
    ]);
  } finally {
    if (previous === undefined) delete process.env.REPORTS_REPLICA_URL;
    else process.env.REPORTS_REPLICA_URL = previous;
  }
});

it('refuses a literal URL or password, a bad variable name and a missing url_env, all at once', () => {
  const problems = problemsOf(
    `${base}replicas:
  a: { url: "postgresql://u:secret@h/db" }
  b: { url_env: "not a name" }
  c: { password: secret, url_env: C_URL }
  d: {}
  e: { url_env: E_URL, port: 5 }
`,
  );
  expect(problems).toEqual([
    '5:MANIFEST_MISSING_KEY: replica `a` has no `url_env`',
    '5:MANIFEST_BAD_VALUE: replica `a` has `url`: a manifest never holds a URL or password',
    '6:MANIFEST_MISSING_KEY: replica `b` has no `url_env`',
    '6:MANIFEST_BAD_VALUE: `url_env` of replica `b` is the text `not a name`, not an environment variable name',
    '7:MANIFEST_BAD_VALUE: replica `c` has `password`: a manifest never holds a URL or password',
    '8:MANIFEST_MISSING_KEY: replica `d` has no `url_env`',
    '9:MANIFEST_UNKNOWN_KEY: unknown key `port` in replica `e`',
  ]);
});
