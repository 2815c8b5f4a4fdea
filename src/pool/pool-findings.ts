import type { RuntimeFinding, RuntimeParty } from '../runtime/runtime-finding.js';
import { describeService } from '../runtime/service-namer.js';
import type { PoolRow, PoolSample } from './types.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * Findings about PgBouncer's pools: a service whose clients wait while other services
 * hold the server connections of a shared database (`pool-contention`, both named),
 * and a service whose clients exhaust its own pool or the shared one (`pool-exhausted`).
 */
export function poolFindings(sample: PoolSample): RuntimeFinding[] {
  const findings: RuntimeFinding[] = [];
  for (const waiting of sample.pools.filter((p) => p.clientsWaiting > 0)) {
    const db = sample.databases.find((d) => d.database === waiting.database);
    const sharedFull =
      db !== undefined && db.maxConnections > 0 && db.currentConnections >= db.maxConnections;
    const holders = sample.pools
      .filter(
        (p) =>
          p.database === waiting.database && p.service !== waiting.service && p.serversHeld > 0,
      )
      .sort((a, b) => b.serversHeld - a.serversHeld);
    const ownFull = waiting.poolSize !== null && waiting.serversHeld >= waiting.poolSize;
    const waitText = `${waiting.clientsWaiting} client${waiting.clientsWaiting === 1 ? '' : 's'} of ${describeService(waiting)} wait${waiting.clientsWaiting === 1 ? 's' : ''} (longest ${seconds(waiting.longestWaitMs)}) for a server connection to ${waiting.database}`;
    if (sharedFull && holders.length > 0 && !ownFull) {
      const held = holders.map((h) => `${describeService(h)} (${h.serversHeld})`).join(', ');
      findings.push({
        severity: 'warning',
        kind: 'pool-contention',
        object: waiting.database,
        consumers: [],
        message: `${waitText}: the ${db.maxConnections} server connections the services share are held by ${held}; ${describeService(waiting)} holds ${waiting.serversHeld}`,
        suggestion: `lower the connections limit of ${describeService(holders[0]!)} in the manifest (its pool size), or raise the shared server connections (pgpact pool --server-connections)`,
        parties: [party(waiting, 'waiting'), ...holders.map((h) => party(h, 'holding'))],
        at: sample.takenAt,
      });
      continue;
    }
    if (!ownFull && !sharedFull) continue;
    const which = ownFull
      ? `its pool is exhausted (${waiting.serversHeld}/${waiting.poolSize} server connections)`
      : `it holds ${waiting.serversHeld} of the ${db!.maxConnections} server connections the services share`;
    findings.push({
      severity: 'warning',
      kind: 'pool-exhausted',
      object: waiting.database,
      consumers: [],
      message: `${waitText}: ${which}`,
      suggestion: `${describeService(waiting)} opens more concurrent transactions than its pool serves: shorten them, or raise its connections limit in the manifest and rerun pgpact pool`,
      parties: [party(waiting, 'at-limit')],
      at: sample.takenAt,
    });
  }
  return findings;
}

function party(row: PoolRow, as: RuntimeParty['as']): RuntimeParty {
  return { service: row.service, attribution: row.attribution, as };
}
