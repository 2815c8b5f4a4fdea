import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkCommand } from '../../src/cli/commands/check.js';

// examples/github-actions/pgpact-check.yml is copied by users as it is: it must stay a
// valid workflow that comments, uploads SARIF, and calls `pgpact check` as the CLI knows it.

const file = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../examples/github-actions/pgpact-check.yml',
);

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}

it('the example workflow checks pull requests, comments the Markdown report and uploads SARIF', () => {
  const workflow = parse(fs.readFileSync(file, 'utf8')) as {
    on: { pull_request?: unknown };
    permissions: Record<string, string>;
    jobs: Record<string, { steps: Step[] }>;
  };
  expect(workflow.on.pull_request).toBeDefined();
  expect(workflow.permissions['pull-requests']).toBe('write');
  expect(workflow.permissions['security-events']).toBe('write');
  const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
  const scripts = steps.map((s) => s.run ?? '').join('\n');

  const invocations = [...scripts.matchAll(/npx pgpact check ([^>|\n]*)/g)].map((m) => m[1]!);
  expect(invocations.length).toBeGreaterThanOrEqual(2);
  const formats = /--format ([a-z|]+)\]/.exec(checkCommand.usage)![1]!.split('|');
  for (const args of invocations) {
    for (const [, option, value] of args.matchAll(/--([a-z-]+)(?: ([a-z]+))?/g)) {
      expect(Object.keys(checkCommand.options ?? {}), option).toContain(option);
      if (option === 'format') expect(formats).toContain(value);
    }
  }
  expect(invocations.some((a) => a.includes('--format markdown'))).toBe(true);
  expect(invocations.some((a) => a.includes('--format sarif'))).toBe(true);
  expect(scripts).toMatch(/gh pr comment .*--body-file pgpact-report\.md/s);
  const upload = steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'));
  expect(upload?.with?.sarif_file).toBe('pgpact.sarif');
});
