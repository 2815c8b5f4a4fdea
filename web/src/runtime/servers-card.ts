import type { ReplicaView, RuntimeFinding, RuntimeState } from '../../../src/server/api-types.js';
import { badge, h } from '../dom.js';
import { compactNumber, duration, percent } from '../format.js';
import { findingList } from './finding-list.js';

/** Kinds of runtime findings about replicas, shown with the servers. */
export const REPLICA_FINDING_KINDS = new Set(['replica-xmin-holdback', 'recovery-conflict']);

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

/** Replication lag in words: bytes behind and how old the last replayed transaction is. */
export function lagText(r: ReplicaView): string {
  if (r.error !== null) return 'unknown';
  const parts: string[] = [];
  if (r.lagBytes !== null) parts.push(`${bytes(r.lagBytes)} behind`);
  if (r.replayDelayMs !== null) parts.push(`replay ${duration(r.replayDelayMs)} ago`);
  return parts.length ? parts.join(' · ') : 'unknown';
}

function serviceCells(
  services: { service: string; sessions: number; dbTime: string; conflicts: number | null }[],
): HTMLElement {
  if (services.length === 0) return h('span', { class: 'muted' }, 'no service sessions');
  return h(
    'ul',
    { class: 'plain-list server-services' },
    services.map((s) =>
      h(
        'li',
        { 'data-service': s.service },
        h('strong', null, s.service),
        ` · ${s.sessions} session${s.sessions === 1 ? '' : 's'} · DB time ${s.dbTime}`,
        s.conflicts ? [' · ', badge(`${s.conflicts} recovery conflicts`, 'danger')] : null,
      ),
    ),
  );
}

/** Each server pgpact watches: the primary, then every streaming replica with its lag and readers. */
export function serversCard(
  data: RuntimeState,
  replicas: ReplicaView[],
  findings: RuntimeFinding[],
): HTMLElement {
  const last = data.samples.at(-1);
  const primaryServices = (last?.services ?? [])
    .filter((s) => s.connections > 0)
    .map((s) => ({
      service: s.service,
      sessions: s.connections,
      dbTime: `${duration(s.dbTimeMs)} (${percent(s.dbTimeShare)})`,
      conflicts: null,
    }));
  return h(
    'div',
    { class: 'card servers-card' },
    h('h3', { id: 'servers-title' }, `Servers (${1 + replicas.length})`),
    h(
      'table',
      { class: 'data-table servers-table stack-narrow', 'aria-labelledby': 'servers-title' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Server', 'Role', 'Replication lag', 'Services: sessions and DB time'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        h(
          'tr',
          { class: 'server-row', 'data-server': 'primary' },
          h('th', { scope: 'row' }, 'primary'),
          h('td', { 'data-label': 'Role' }, 'primary'),
          h('td', { 'data-label': 'Replication lag' }, '—'),
          h('td', { 'data-label': 'Services' }, serviceCells(primaryServices)),
        ),
        replicas.map((r) =>
          h(
            'tr',
            { class: 'server-row', 'data-server': r.server },
            h('th', { scope: 'row' }, r.server),
            h(
              'td',
              { 'data-label': 'Role' },
              r.standby ? 'replica' : badge('not in recovery', 'warn'),
              h(
                'div',
                { class: 'muted small' },
                `hot_standby_feedback ${r.hotStandbyFeedback ? 'on' : 'off'}`,
              ),
            ),
            h(
              'td',
              {
                class: 'replica-lag',
                'data-label': 'Replication lag',
                'data-lag-bytes': r.lagBytes ?? '',
              },
              r.error !== null ? badge('unreachable', 'danger', r.error) : lagText(r),
              r.error !== null ? h('div', { class: 'muted small' }, r.error) : null,
            ),
            h(
              'td',
              { 'data-label': 'Services' },
              serviceCells(
                r.services.map((s) => ({
                  service: s.service,
                  sessions: s.sessions,
                  dbTime: percent(s.dbTimeShare),
                  conflicts: s.recoveryConflicts,
                })),
              ),
            ),
          ),
        ),
      ),
    ),
    findings.length ? findingList(findings) : null,
    h(
      'p',
      { class: 'muted small' },
      `Lag: WAL bytes the replica has not replayed, and the age of the last replayed transaction. ${compactNumber(replicas.length)} replica${replicas.length === 1 ? '' : 's'} watched.`,
    ),
  );
}
