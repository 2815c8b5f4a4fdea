/** Reading `replicas:`: streaming replicas pgpact watches, each by the environment variable holding its URL. */
import { isMap } from 'yaml';
import type { Replica } from './types.js';
import { describe, type ManifestSource, type MapEntry, scalarText } from './yaml-source.js';

/** The keys a replica accepts: never a URL itself, which would put a password in the manifest. */
export const REPLICA_KEYS = ['url_env'];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads `replicas: { name: { url_env: VAR } }`, reporting every problem. */
export function readReplicas(source: ManifestSource, entry: MapEntry): Replica[] {
  if (entry.value === null) return [];
  if (!isMap(entry.value)) {
    source.report(
      'MANIFEST_WRONG_TYPE',
      `\`replicas\` is ${describe(entry.value)}, not a mapping`,
      entry.value,
      'write one `name: { url_env: VARIABLE }` per replica under `replicas:`',
    );
    return [];
  }
  const replicas: Replica[] = [];
  for (const r of source.entries(entry.value, '`replicas`')) {
    const context = `replica \`${r.key}\``;
    if (r.value === null || !isMap(r.value)) {
      source.report(
        'MANIFEST_WRONG_TYPE',
        `${context} is ${describe(r.value)}, not a mapping`,
        r.valueNode,
        `write \`${r.key}: { url_env: VARIABLE }\`, VARIABLE holding the replica's URL`,
      );
      continue;
    }
    let urlEnv: string | undefined;
    for (const key of source.entries(r.value, context)) {
      if (key.key === 'url' || key.key === 'password') {
        source.report(
          'MANIFEST_BAD_VALUE',
          `${context} has \`${key.key}\`: a manifest never holds a URL or password`,
          key.keyNode,
          'name the environment variable that holds the URL: `url_env: VARIABLE`',
        );
        continue;
      }
      if (!REPLICA_KEYS.includes(key.key)) {
        source.unknownKey(key, REPLICA_KEYS, context);
        continue;
      }
      const text = scalarText(key.value);
      if (text === undefined || !ENV_NAME.test(text)) {
        source.report(
          'MANIFEST_BAD_VALUE',
          `\`url_env\` of ${context} is ${describe(key.value)}, not an environment variable name`,
          key.value ?? key.valueNode,
          'write the variable name, e.g. `url_env: REPORTS_REPLICA_URL`',
        );
        continue;
      }
      urlEnv = text;
    }
    if (urlEnv === undefined) {
      source.report(
        'MANIFEST_MISSING_KEY',
        `${context} has no \`url_env\``,
        r.keyNode,
        'add `url_env: VARIABLE`, the environment variable holding the replica URL',
      );
      continue;
    }
    replicas.push({ name: r.key, urlEnv, location: r.location });
  }
  return replicas;
}
