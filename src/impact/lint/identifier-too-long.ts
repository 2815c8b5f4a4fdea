import type { Finding } from '../../findings.js';
import type { LintRule } from './lint-rule.js';
import { lintFinding } from './lint-rule.js';

const MAX_BYTES = 63;

/**
 * Identifiers longer than 63 bytes in a statement's text. The parse tree cannot tell: the
 * scanner has already cut them, so the text is read, without comments and literals.
 */
function longNames(sql: string): Set<string> {
  const code = sql
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/[EeBbXxNn]?'(?:[^']|'')*'/g, ' ');
  const names = new Set<string>();
  for (const m of code.matchAll(/"((?:[^"]|"")+)"|[\p{L}_][\p{L}\p{N}_$]*/gu)) {
    const name = m[1] !== undefined ? m[1].replaceAll('""', '"') : m[0];
    if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) names.add(name);
  }
  return names;
}

/** Postgres cuts names to 63 bytes with only a NOTICE: two long names can become one. */
export const identifierTooLong: LintRule = {
  kind: 'identifier-too-long',
  squawk: ['identifier-too-long'],
  description: 'A name is longer than 63 bytes: Postgres silently truncates it.',
  check: (ctx) =>
    ctx.statements.flatMap((s): Finding[] => {
      return [...longNames(s.statement.sql)].map((name) =>
        lintFinding(ctx, s, {
          kind: 'identifier-too-long',
          severity: 'warning',
          object: Buffer.from(name, 'utf8').subarray(0, MAX_BYTES).toString('utf8'),
          message: `${name} is ${Buffer.byteLength(name, 'utf8')} bytes: Postgres truncates it to 63, so services must use the cut name`,
          suggestion: 'choose a name of at most 63 bytes',
        }),
      );
    }),
};
