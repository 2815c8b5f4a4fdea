import { describe, expect, it } from 'vitest';
import { formatError } from '../../src/cli/report-error.js';
import { PgpactError, type Problem } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';

/**
 * A name that breaks a line (or drives a terminal, or reads backwards) is refused
 * wherever a manifest holds one: it would end a SQL comment in `pgpact plan`.
 */
const CHARACTERS: [string, string][] = [
  ['newline', '\n'],
  ['carriage return', '\r'],
  ['NUL', '\u0000'],
  ['tab', '\t'],
  ['escape', '\u001b'],
  ['DEL', '\u007f'],
  ['next line (C1)', '\u0085'],
  ['line separator', '\u2028'],
  ['paragraph separator', '\u2029'],
  ['right-to-left override', '\u202e'],
];

/** YAML double-quoted text holding `c` (escaped, so the YAML stays one line). */
function quoted(text: string): string {
  return JSON.stringify(text);
}

function problemsOf(yaml: string): Problem[] {
  try {
    parseManifest(yaml, 'pgpact.yaml');
  } catch (error) {
    if (!(error instanceof PgpactError)) throw error;
    return error.problems;
  }
  throw new Error('expected the manifest to be invalid');
}

/** Every place a manifest holds a name or text, each on its own line: [what, line, column, yaml line]. */
function manifestWith(c: string): { yaml: string; expected: [string, number, number][] } {
  const bad = (name: string) => quoted(`${name}${c}SELECT 'INJECTED';`);
  const lines = [
    'version: 1', // 1
    'services:', // 2
    `  ${bad('svc')}:`, // 3: service name
    '    role: r1', // 4
    `  users:`, // 5
    `    role: ${bad('role')}`, // 6
    `    team: ${bad('team')}`, // 7
    `    contact: ${bad('contact')}`, // 8
    `    owns: [users, ${bad('schema')}]`, // 9
    '  shop:', // 10
    '    reads:', // 11
    `      ${quoted(`users.${'t'}${c}x`)}: [id]`, // 12: table
    `      ${quoted(`users.ok`)}: [id, ${bad('col')}]`, // 13: column
    `    migrations: ${bad('migrations')}`, // 14
  ];
  return {
    yaml: `${lines.join('\n')}\n`,
    expected: [
      ['MANIFEST_BAD_NAME', 3, 3],
      ['MANIFEST_BAD_NAME', 6, 11],
      ['MANIFEST_BAD_NAME', 7, 11],
      ['MANIFEST_BAD_NAME', 8, 14],
      ['MANIFEST_BAD_NAME', 9, 19],
      ['MANIFEST_BAD_NAME', 12, 7],
      ['MANIFEST_BAD_NAME', 13, 24],
      ['MANIFEST_BAD_NAME', 14, 17],
    ],
  };
}

describe('control characters in manifest names', () => {
  it.each(CHARACTERS)('a %s is refused in every name and text, all reported at once', (_, c) => {
    const { yaml, expected } = manifestWith(c);
    const problems = problemsOf(yaml);
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual(expected);
    for (const p of problems) {
      expect(p.file).toBe('pgpact.yaml');
      expect(p.hint).toMatch(
        c === '\u0000'
          ? /NUL|line breaks/
          : /line breaks, tabs, control or direction-changing characters/,
      );
      // The message shows the character as an escape: it never reaches the terminal raw.
      expect(p.message).toContain(`\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
    const printed = formatError(
      (() => {
        try {
          parseManifest(yaml, 'pgpact.yaml');
        } catch (error) {
          return error;
        }
      })(),
    );
    // Printed, each problem stays on its own line: the name cannot start a line of its own.
    for (const line of printed.split('\n').filter((l) => l.includes('INJECTED')))
      expect(line).toMatch(/^ {2}pgpact\.yaml:\d+:\d+: /);
    if (c !== '\n') expect(printed).not.toContain(c);
  });

  it('keeps names that are merely unusual', () => {
    const manifest = parseManifest(
      `version: 1
services:
  "Fakturierung Ü":
    role: "it's \\"quoted\\""
    team: "Team #1; DROP TABLE x; --"
    owns: ["My Schema", "日本"]
`,
      'pgpact.yaml',
    );
    expect(manifest.services[0]!.role).toBe(`it's "quoted"`);
    expect(manifest.services[0]!.team).toBe('Team #1; DROP TABLE x; --');
  });

  it('writes unknown keys and other quoted text without their control characters', () => {
    const problems = problemsOf('version: 1\nservices:\n  a:\n    "col\\u001b[2Jour": blue\n');
    expect(problems.map((p) => [p.code, p.line, p.column])).toEqual([
      ['MANIFEST_UNKNOWN_KEY', 4, 5],
    ]);
    expect(problems[0]!.message).toBe('unknown key `col\\u001b[2Jour` in service `a`');
  });
});
