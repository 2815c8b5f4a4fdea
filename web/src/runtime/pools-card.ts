import type { PoolServiceView, RuntimeFinding } from '../../../src/server/api-types.js';
import { badge, h } from '../dom.js';
import { duration, percent } from '../format.js';
import { findingList } from './finding-list.js';

/** Kinds of runtime findings about PgBouncer's pools, shown with the pools. */
export const POOL_FINDING_KINDS = new Set(['pool-contention', 'pool-exhausted']);

function saturationCell(p: PoolServiceView): HTMLTableCellElement {
  if (p.saturation === null) return h('td', { 'data-label': 'Saturation' }, 'unknown');
  const tone = p.saturation >= 1 ? 'danger' : p.saturation >= 0.8 ? 'warn' : 'ok';
  return h(
    'td',
    { 'data-label': 'Saturation' },
    h(
      'span',
      { class: 'saturation' },
      h('meter', {
        min: 0,
        max: 1,
        high: 0.8,
        optimum: 0,
        value: Math.min(1, p.saturation),
        'aria-label': `${p.service} pool saturation`,
      }),
      ' ',
      tone === 'ok' ? percent(p.saturation) : badge(percent(p.saturation), tone),
    ),
  );
}

/** PgBouncer's pools per service: clients active and waiting, the longest wait, server connections. */
export function poolsCard(pools: PoolServiceView[], findings: RuntimeFinding[]): HTMLElement {
  return h(
    'div',
    { class: 'card pools-card' },
    h('h3', { id: 'pools-title' }, `PgBouncer pools (${pools.length})`),
    pools.length === 0
      ? h('p', { class: 'muted' }, 'PgBouncer reports no pool for a known service.')
      : h(
          'table',
          { class: 'data-table pools-table stack-narrow', 'aria-labelledby': 'pools-title' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              [
                'Service',
                'Clients active',
                'Clients waiting',
                'Longest wait',
                'Server connections / pool size',
                'Saturation',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            null,
            pools.map((p) =>
              h(
                'tr',
                {
                  class: `pool-row${p.clientsWaiting > 0 ? ' pool-waiting' : ''}`,
                  'data-service': p.service,
                  'data-waiting': p.clientsWaiting,
                },
                h('th', { scope: 'row' }, p.service),
                h('td', { class: 'num', 'data-label': 'Clients active' }, String(p.clientsActive)),
                h(
                  'td',
                  { class: 'num', 'data-label': 'Clients waiting' },
                  p.clientsWaiting > 0
                    ? badge(`${p.clientsWaiting} waiting`, 'warn')
                    : String(p.clientsWaiting),
                ),
                h(
                  'td',
                  { class: 'num', 'data-label': 'Longest wait' },
                  p.clientsWaiting > 0 ? duration(p.longestWaitMs) : '—',
                ),
                h(
                  'td',
                  { class: 'num', 'data-label': 'Server connections / pool size' },
                  `${p.serversHeld} / ${p.poolSize ?? '?'}`,
                ),
                saturationCell(p),
              ),
            ),
          ),
        ),
    findings.length ? findingList(findings) : null,
  );
}
