// A deploy script that gates on pgpact: `check` the new migrations against every
// consumer, and refuse to deploy while an expand/contract migration still waits for
// consumers of its old shape. Compile with `tsc` (strict) and run with Node 20:
//   node deploy-gate.js pgpact.yaml migrations/users/0002_split_address.sql
// With DATABASE_URL set, the migration in progress on that database is checked too.
import {
  type CheckReport,
  formatText,
  loadManifest,
  migrationStatus,
  PgpactError,
  runCheck,
} from 'pgpact';

/** Why the deploy must wait, or an empty list when it may go ahead. */
async function reasonsToWait(manifestFile: string, files: string[]): Promise<string[]> {
  const manifest = loadManifest(manifestFile);
  const reasons: string[] = [];

  const report: CheckReport = await runCheck({ manifest, files });
  if (report.breaking) {
    reasons.push(formatText({ findings: report.findings, failOn: 'breaking' }));
  }

  const url = process.env.DATABASE_URL;
  if (url !== undefined) {
    const status = await migrationStatus(url, { manifest });
    if (status !== undefined && !status.canComplete) {
      const waiting = status.consumers.uses.filter((u) => u.blocking);
      reasons.push(
        `migration ${status.name} is ${status.phase}; still using its old shape: ${
          waiting.map((u) => u.service ?? `role ${u.role}`).join(', ') || 'none yet'
        }`,
      );
    }
  }
  return reasons;
}

const [manifestFile = 'pgpact.yaml', ...files] = process.argv.slice(2);
try {
  const reasons = await reasonsToWait(manifestFile, files);
  for (const reason of reasons) console.error(reason);
  console.log(reasons.length === 0 ? 'deploy: go' : 'deploy: wait');
  process.exitCode = reasons.length === 0 ? 0 : 1;
} catch (error) {
  // PgpactError carries a stable code (MANIFEST_INVALID, SQL_SYNTAX, ...) and a hint.
  if (error instanceof PgpactError) console.error(`${error.code}: ${error.message}`);
  else console.error(error);
  process.exitCode = 2;
}
