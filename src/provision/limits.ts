/**
 * A service's limits, set on its role so they hold at login.
 *
 * Settings (timeouts, work_mem, parallel workers) are per database: `ALTER ROLE … IN
 * DATABASE …`, so a second database whose manifest also has the service leaves the
 * first database's values alone. Settings an earlier pgpact put on the role for every
 * database are moved: copied into each other database that has no value of its own
 * (sessions there keep what they had), then reset.
 *
 * The connection limit is per role for the whole server (Postgres has no per-database
 * one). Which database's manifest set it is recorded in the role's comment; another
 * database's manifest asking for a different limit is reported, never overwritten.
 */
import type { Finding } from '../findings.js';
import type { Limits, Service } from '../manifest/types.js';
import { parseDuration, parseWorkMem } from '../manifest/units.js';
import type { RoleInfo } from '../catalog-types.js';
import { quoteIdent, quoteLiteral } from '../postgres/quote.js';
import type { PlanContext } from './context.js';
import type { PlanStep } from './types.js';

/** The role settings pgpact manages, with how to render and read them. */
const SETTINGS: {
  name: string;
  key: keyof Limits;
  /** The key in `limits:` when it differs from the setting's name. */
  manifestKey?: string;
  render(v: number): string;
  read(text: string): number | undefined;
}[] = [
  { name: 'statement_timeout', key: 'statementTimeoutMs', render: (v) => `${v}ms`, read: readMs },
  { name: 'lock_timeout', key: 'lockTimeoutMs', render: (v) => `${v}ms`, read: readMs },
  {
    name: 'idle_in_transaction_session_timeout',
    key: 'idleInTransactionSessionTimeoutMs',
    render: (v) => `${v}ms`,
    read: readMs,
  },
  { name: 'work_mem', key: 'workMemKb', render: (v) => `${v}kB`, read: readKb },
  {
    name: 'max_parallel_workers_per_gather',
    key: 'parallelWorkers',
    manifestKey: 'parallel_workers',
    render: (v) => String(v),
    read: (text) => (/^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : undefined),
  },
];

function readMs(text: string): number | undefined {
  const r = parseDuration(text);
  return r.ok ? r.value : undefined;
}

function readKb(text: string): number | undefined {
  const r = parseWorkMem(text);
  return r.ok ? r.value : undefined;
}

/** The names of the role settings provisioning manages (others are left alone). */
export const MANAGED_SETTINGS = SETTINGS.map((s) => s.name);

/** The line of a role's comment recording which database's manifest set its connection limit. */
const RECORD = /^pgpact: connection limit (-?\d+) set by database ("(?:[^"\\\n]|\\.)*")$/m;

/** Who set a role's connection limit, from its comment. */
export function connectionLimitRecord(
  comment: string | undefined,
): { limit: number; database: string } | undefined {
  const match = comment === undefined ? null : RECORD.exec(comment);
  if (!match) return undefined;
  try {
    return { limit: Number(match[1]), database: JSON.parse(match[2]!) as string };
  } catch {
    return undefined;
  }
}

/** The role's comment with the record replaced (or removed when `line` is undefined); other lines kept. */
function commentWith(comment: string | undefined, line: string | undefined): string | undefined {
  // Other lines are kept exactly (blank ones too), so a second plan finds nothing to change.
  const kept = comment === undefined ? [] : comment.split('\n').filter((l) => !RECORD.test(l));
  if (kept.length === 1 && kept[0] === '') kept.pop();
  const lines = line === undefined ? kept : [...kept, line];
  return lines.length === 0 ? undefined : lines.join('\n');
}

function commentStep(role: string, text: string | undefined, reason: string): PlanStep {
  return {
    kind: 'limit',
    sql: `COMMENT ON ROLE ${quoteIdent(role)} IS ${text === undefined ? 'NULL' : quoteLiteral(text)}`,
    reason,
  };
}

/** limit steps (and findings) for every service role: settings in this database, the connection limit server-wide. */
export function planLimits(ctx: PlanContext): { steps: PlanStep[]; findings: Finding[] } {
  const steps: PlanStep[] = [];
  const findings: Finding[] = [];
  for (const [roleName, services] of ctx.servicesByRole) {
    if (roleName === ctx.currentUser) continue;
    const existing = ctx.catalog.roles.find((r) => r.name === roleName);
    const label = services.map((s) => s.name).join(', ');
    steps.push(...planConnectionLimit(ctx, roleName, services[0]!, label, existing, findings));
    steps.push(...planSettings(ctx, roleName, services[0]!, label, existing));
  }
  return { steps, findings };
}

function planConnectionLimit(
  ctx: PlanContext,
  role: string,
  service: Service,
  label: string,
  existing: RoleInfo | undefined,
  findings: Finding[],
): PlanStep[] {
  const database = ctx.catalog.database;
  const want = service.limits.connections ?? -1;
  const have = existing?.connectionLimit ?? -1;
  const record = connectionLimitRecord(existing?.comment);
  const setElsewhere =
    record !== undefined &&
    record.database !== database &&
    (ctx.catalog.databases ?? [record.database]).includes(record.database);
  if (setElsewhere) {
    if (want === have) return [];
    const declared = want === -1 ? 'declares no connection limit' : `wants connections: ${want}`;
    findings.push({
      severity: want === -1 ? 'info' : 'warning',
      kind: 'connection-limit-conflict',
      object: role,
      consumers: [{ service: service.name, source: 'declared' }],
      message: `the connection limit of role ${role} is ${have === -1 ? 'none' : have}, set by the manifest of database ${record.database}; service ${label} here ${declared}. A role's connection limit counts its connections to every database of the server, so pgpact leaves it as ${record.database} set it`,
      suggestion: `declare the same limits.connections for ${label} in both manifests, or give the service its own role in one of the databases (role: in the manifest)`,
    });
    return [];
  }
  const r = quoteIdent(role);
  const steps: PlanStep[] = [];
  if (want !== have) {
    steps.push({
      kind: 'limit',
      sql: `ALTER ROLE ${r} CONNECTION LIMIT ${want}`,
      reason:
        want === -1
          ? `service ${label} declares no connection limit (was ${have})`
          : `limits.connections of service ${label} (per role: it counts connections to every database of the server)`,
    });
  }
  const line =
    want === -1
      ? undefined
      : // JSON-quoted: one line whatever the database's name holds.
        `pgpact: connection limit ${want} set by database ${JSON.stringify(database)}`;
  const comment = commentWith(existing?.comment, line);
  if ((comment ?? '') !== (existing?.comment ?? '')) {
    steps.push(
      commentStep(
        role,
        comment,
        line === undefined
          ? `no manifest sets the connection limit of role ${role} any more`
          : `records that database ${database} sets the connection limit of role ${role}, so another database's manifest does not silently change it`,
      ),
    );
  }
  return steps;
}

function planSettings(
  ctx: PlanContext,
  role: string,
  service: Service,
  label: string,
  existing: RoleInfo | undefined,
): PlanStep[] {
  const database = ctx.catalog.database;
  const r = quoteIdent(role);
  const here = `IN DATABASE ${quoteIdent(database)}`;
  const byDatabase = existing?.settingsByDatabase ?? {};
  const steps: PlanStep[] = [];
  for (const setting of SETTINGS) {
    const want = service.limits[setting.key];
    const have = byDatabase[database]?.[setting.name];
    const everywhere = existing?.settings[setting.name];
    const key = setting.manifestKey ?? setting.name;
    if (everywhere !== undefined) {
      // Set for every database by an earlier pgpact: keep its value where it held, then reset it.
      for (const other of ctx.catalog.databases ?? []) {
        if (other === database || byDatabase[other]?.[setting.name] !== undefined) continue;
        steps.push({
          kind: 'limit',
          sql: `ALTER ROLE ${r} IN DATABASE ${quoteIdent(other)} SET ${setting.name} = ${quoteLiteral(everywhere)}`,
          reason: `${setting.name} of role ${role} moves from every database to each database: database ${other} keeps ${everywhere}`,
        });
      }
      steps.push({
        kind: 'limit',
        sql: `ALTER ROLE ${r} RESET ${setting.name}`,
        reason: `${setting.name} of role ${role} is set per database, no longer for every database (was ${everywhere})`,
      });
    }
    if (want === undefined) {
      if (have === undefined) continue;
      steps.push({
        kind: 'limit',
        sql: `ALTER ROLE ${r} ${here} RESET ${setting.name}`,
        reason: `service ${label} no longer declares ${key} (was ${have})`,
      });
    } else if (have === undefined || setting.read(have) !== want) {
      steps.push({
        kind: 'limit',
        sql: `ALTER ROLE ${r} ${here} SET ${setting.name} = ${quoteLiteral(setting.render(want))}`,
        reason: `limits.${key} of service ${label}${have === undefined ? '' : ` (was ${have})`}`,
      });
    }
  }
  return steps;
}
