import { type Finding, reaches, type Severity } from '../findings.js';

/**
 * GitHub Actions workflow commands: one annotation per finding, at `file:line` when the
 * finding has a location. A finding that reaches --fail-on is an error, a warning below
 * it a warning, info a notice.
 * https://docs.github.com/actions/reference/workflow-commands-for-github-actions
 */
export function formatGithub(findings: Finding[], failOn: Severity): string {
  return findings
    .map((f) => {
      const level = reaches(f.severity, failOn)
        ? 'error'
        : f.severity === 'info'
          ? 'notice'
          : 'warning';
      const properties: string[] = [];
      const at = f.location ? /^(.*):(\d+)$/.exec(f.location) : null;
      if (at) properties.push(`file=${property(at[1]!)}`, `line=${at[2]}`);
      else if (f.location) properties.push(`file=${property(f.location)}`);
      properties.push(`title=${property(`pgpact ${f.severity}: ${f.kind} ${f.object}`)}`);
      const consumers = f.consumers.map((c) => `${c.service} (${c.source})`).join(', ');
      const text = [
        f.message,
        consumers ? `consumers: ${consumers}` : '',
        f.suggestion ? `instead: ${f.suggestion}` : '',
      ]
        .filter((line) => line !== '')
        .join('\n');
      return `::${level} ${properties.join(',')}::${data(text)}\n`;
    })
    .join('');
}

/** Escapes a command's message. */
function data(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** Escapes a command's property value. */
function property(text: string): string {
  return data(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
