import { COMMANDS } from './commands/index.js';

/** Markers around the generated command reference in README.md. */
export const REFERENCE_START =
  '<!-- commands:start (generated from --help by `npm run readme`; do not edit) -->';
export const REFERENCE_END = '<!-- commands:end -->';

/** The README's command reference, generated from every command's --help text so it cannot drift. */
export function commandReference(): string {
  const sections = COMMANDS.map(
    (c) =>
      `### \`pgpact ${c.name}\`\n\n${c.summary}.\n\n\`\`\`text\n${c.usage.trimEnd()}\n\`\`\`\n`,
  );
  return `${REFERENCE_START}\n\n${sections.join('\n')}\n${REFERENCE_END}`;
}

/** Replaces the generated block of a README text (between the markers) with the current reference. */
export function withCommandReference(readme: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start)
    throw new Error('README.md has no command reference markers');
  return readme.slice(0, start) + commandReference() + readme.slice(end + REFERENCE_END.length);
}
