import { describeService } from '../runtime/service-namer.js';
import type { PoolSample } from './types.js';

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`);

/** The PgBouncer section of `pgpact top`: per service, clients waiting, longest wait, pool saturation. */
export function poolLines(pool: PoolSample, service?: string): string[] {
  const head = `POOLS (PgBouncer ${pool.target})`;
  if (pool.error !== null) return [head, `unreadable: ${pool.error}`];
  const rows = pool.services.filter((s) => service === undefined || s.service === service);
  const shared = pool.databases
    .filter((d) => d.maxConnections > 0)
    .map(
      (d) => `${d.database} ${d.currentConnections}/${d.maxConnections} shared server connections`,
    );
  const cells = rows.map((s) => [
    describeService(s),
    String(s.clientsActive),
    String(s.clientsWaiting),
    s.clientsWaiting > 0 ? seconds(s.longestWaitMs) : '-',
    `${s.serversHeld}/${s.poolSize ?? '-'}`,
    s.saturation === null ? '-' : `${Math.round(s.saturation * 100)}%`,
  ]);
  const header = ['SERVICE', 'CLIENTS', 'WAITING', 'LONGEST WAIT', 'SERVERS/POOL', 'SATURATION'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [
    head + (shared.length > 0 ? ` · ${shared.join(' · ')}` : ''),
    line(header),
    ...cells.map(line),
  ];
}
