import fs from 'node:fs';
import path from 'node:path';
import { PgpactError } from '../../src/errors.js';
import type { Finding } from '../../src/findings.js';
import { loadUsage } from '../../src/usage/store.js';
import { runCheck } from '../../src/impact/run-check.js';
import { listSqlFiles } from '../../src/impact/shadow.js';
import { loadManifest } from '../../src/manifest/load.js';

/** The root of the scenario folders. */
export const SCENARIOS_DIR = path.resolve(import.meta.dirname, '..', 'check-scenarios');

/** Options a scenario may set in args.json. */
interface ScenarioArgs {
  service?: string;
  base?: string[];
  files?: string[];
}

/** What a scenario expects: the exit code and the findings (or the error). */
export interface ScenarioOutcome {
  exitCode: number;
  findings?: Pick<Finding, 'severity' | 'kind' | 'object' | 'consumers' | 'location'>[];
  error?: { code: string; problems: { file?: string; line?: number; column?: number }[] };
}

/** The scenario folder names, sorted. */
export function scenarioNames(): string[] {
  return fs
    .readdirSync(SCENARIOS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Runs one scenario folder through runCheck on an existing server and reduces the result to the compared fields. */
export async function runScenario(name: string, serverUrl: string): Promise<ScenarioOutcome> {
  const dir = path.join(SCENARIOS_DIR, name);
  const argsFile = path.join(dir, 'args.json');
  const args: ScenarioArgs = fs.existsSync(argsFile)
    ? JSON.parse(fs.readFileSync(argsFile, 'utf8'))
    : {};
  const usageFile = path.join(dir, 'usage.json');
  const files =
    args.files ?? listSqlFiles(path.join(dir, 'change')).map((f) => path.relative(dir, f));
  try {
    const report = await runCheck({
      manifest: loadManifest(path.join(dir, 'pgpact.yaml')),
      files,
      root: dir,
      shadowServerUrl: serverUrl,
      ...(args.service ? { service: args.service } : {}),
      ...(args.base ? { base: args.base } : {}),
      ...(fs.existsSync(usageFile) ? { usage: loadUsage(usageFile) } : {}),
    });
    return {
      exitCode: report.breaking ? 1 : 0,
      findings: report.findings.map((f) => ({
        severity: f.severity,
        kind: f.kind,
        object: f.object,
        consumers: f.consumers,
        ...(f.location ? { location: f.location } : {}),
      })),
    };
  } catch (error) {
    if (!(error instanceof PgpactError)) throw error;
    return {
      exitCode: 2,
      error: {
        code: error.code,
        problems: error.problems.map((p) => ({ file: p.file, line: p.line, column: p.column })),
      },
    };
  }
}

/** The expected outcome stored in the scenario folder. */
export function expectedOutcome(name: string): ScenarioOutcome {
  return JSON.parse(fs.readFileSync(path.join(SCENARIOS_DIR, name, 'expected.json'), 'utf8'));
}
