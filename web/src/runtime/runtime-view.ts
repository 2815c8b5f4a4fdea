import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk.bundled.js';
import { layoutGraph } from '../graph-layout.js';
import type { LockWaitView, RuntimeState, Section } from '../../../src/server/api-types.js';
import { h, replaceChildren, s } from '../dom.js';
import { clock, duration, percent } from '../format.js';
import { textWidth } from '../map/layout.js';
import { lineChart, serviceColors } from './chart.js';
import { findingList } from './finding-list.js';
import { POOL_FINDING_KINDS, poolsCard } from './pools-card.js';
import { REPLICA_FINDING_KINDS, serversCard } from './servers-card.js';

const FONT = '600 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const SMALL = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

function sessionKey(service: string, pid: number): string {
  return `${service}\u0000${pid}`;
}

/** Draws current lock waits as a graph: each waiting session points to the session holding the lock. */
async function lockGraph(waits: LockWaitView[]): Promise<SVGSVGElement> {
  const nodes = new Map<string, { service: string; pid: number }>();
  for (const w of waits) {
    nodes.set(sessionKey(w.waiter.service, w.waiter.pid), {
      service: w.waiter.service,
      pid: w.waiter.pid,
    });
    nodes.set(sessionKey(w.holder.service, w.holder.pid), {
      service: w.holder.service,
      pid: w.holder.pid,
    });
  }
  const keys = [...nodes.keys()];
  const labelOf = (w: LockWaitView) => `waits for · ${w.relation ?? w.lockType}`;
  const input: ElkNode = {
    id: 'locks',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
    },
    children: keys.map((key, i): ElkNode => {
      const n = nodes.get(key)!;
      return {
        id: `n${i}`,
        width:
          Math.max(textWidth(n.service, FONT), textWidth(`pid ${n.pid} · waiting`, SMALL), 70) + 28,
        height: 46,
      };
    }),
    edges: waits.map(
      (w, i): ElkExtendedEdge => ({
        id: `w${i}`,
        sources: [`n${keys.indexOf(sessionKey(w.waiter.service, w.waiter.pid))}`],
        targets: [`n${keys.indexOf(sessionKey(w.holder.service, w.holder.pid))}`],
        labels: [{ text: labelOf(w), width: textWidth(labelOf(w), SMALL) + 14, height: 18 }],
      }),
    ),
  };
  const graph: ElkNode = await layoutGraph(input);
  const waiting = new Set(waits.map((w) => sessionKey(w.waiter.service, w.waiter.pid)));
  return s(
    'svg',
    {
      class: 'lock-graph',
      viewBox: `0 0 ${graph.width ?? 0} ${graph.height ?? 0}`,
      width: graph.width ?? 0,
      height: graph.height ?? 0,
      role: 'img',
      'aria-label': waits
        .map(
          (w) =>
            `${w.waiter.service} (pid ${w.waiter.pid}) waits for ${w.holder.service} (pid ${w.holder.pid})`,
        )
        .join('; '),
    },
    s(
      'defs',
      null,
      s(
        'marker',
        {
          id: 'lock-arrow',
          viewBox: '0 0 10 10',
          refX: '9',
          refY: '5',
          markerWidth: '7',
          markerHeight: '7',
          orient: 'auto',
        },
        s('path', { d: 'M0,1 L9,5 L0,9 z', class: 'arrow arrow-broken' }),
      ),
    ),
    (graph.edges ?? []).map((e) => {
      const section = (e as ElkExtendedEdge).sections?.[0];
      const pts = section
        ? [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]
        : [];
      const label = e.labels?.[0];
      return s(
        'g',
        { class: 'lock-edge' },
        s('polyline', {
          points: pts.map((p) => `${p.x},${p.y}`).join(' '),
          'marker-end': 'url(#lock-arrow)',
        }),
        label
          ? s(
              'g',
              { class: 'edge-label' },
              s('rect', {
                x: label.x,
                y: label.y,
                width: label.width,
                height: label.height,
                rx: 9,
              }),
              s(
                'text',
                {
                  x: (label.x ?? 0) + (label.width ?? 0) / 2,
                  y: (label.y ?? 0) + 13,
                  'text-anchor': 'middle',
                },
                label.text ?? '',
              ),
            )
          : null,
      );
    }),
    (graph.children ?? []).map((c, i) => {
      const n = nodes.get(keys[i]!)!;
      const isWaiting = waiting.has(keys[i]!);
      return s(
        'g',
        { class: `lock-node ${isWaiting ? 'lock-waiter' : 'lock-holder'}` },
        s('rect', { x: c.x, y: c.y, width: c.width, height: c.height, rx: 8 }),
        s('text', { x: (c.x ?? 0) + 12, y: (c.y ?? 0) + 19, class: 'service-name' }, n.service),
        s(
          'text',
          { x: (c.x ?? 0) + 12, y: (c.y ?? 0) + 35, class: 'service-sub' },
          `pid ${n.pid} · ${isWaiting ? 'waiting' : 'holding'}`,
        ),
      );
    }),
  );
}

/** The runtime view: DB time and connections per service over time, lock waits, deadlocks, findings. */
export class RuntimeView {
  readonly root = h('div', { class: 'runtime-view' });
  private readonly charts = h('div', { class: 'charts' });
  /** Servers (primary and replicas) and PgBouncer's pools, when the dashboard reads them. */
  private readonly infra = h('div', { class: 'runtime-infra' });
  private readonly locks = h('div', { class: 'card locks', 'aria-live': 'polite' });
  private readonly deadlocks = h('div', { class: 'card' });
  private readonly findings = h('div', { class: 'card' });
  private lockKey = '';
  private renderId = 0;

  constructor() {
    this.root.append(
      this.charts,
      this.infra,
      this.locks,
      h('div', { class: 'two-col' }, this.deadlocks, this.findings),
    );
  }

  async update(section: Section<RuntimeState>): Promise<void> {
    if (!section.available) {
      replaceChildren(
        this.root,
        h('p', { class: 'unavailable' }, `The runtime view is not available: ${section.reason}`),
      );
      return;
    }
    if (!this.root.contains(this.charts))
      replaceChildren(
        this.root,
        this.charts,
        this.infra,
        this.locks,
        h('div', { class: 'two-col' }, this.deadlocks, this.findings),
      );
    const data = section.data;
    const names = new Set<string>();
    for (const sample of data.samples) for (const svc of sample.services) names.add(svc.service);
    const colors = serviceColors([...names]);
    const pick =
      (key: 'dbTimeShare' | 'connections' | 'busy') =>
      (sample: RuntimeState['samples'][number], svc: string) =>
        sample.services.find((x) => x.service === svc)?.[key];
    replaceChildren(
      this.charts,
      lineChart(
        { title: 'Share of database time', value: pick('dbTimeShare'), format: percent, max: 1 },
        data.samples,
        colors,
      ),
      lineChart(
        {
          title: 'Connections',
          value: pick('connections'),
          format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
          minMax: 2,
        },
        data.samples,
        colors,
      ),
      lineChart(
        {
          title: 'Busy processes (on a CPU or waiting for one)',
          value: pick('busy'),
          format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
          minMax: 2,
        },
        data.samples,
        colors,
      ),
    );
    await this.renderLocks(data.lockWaits);
    replaceChildren(
      this.deadlocks,
      h('h3', null, `Recent deadlocks (${data.deadlocks.length})`),
      data.deadlocks.length === 0
        ? h('p', { class: 'muted' }, 'None seen since the dashboard started.')
        : h(
            'ul',
            { class: 'plain-list' },
            data.deadlocks.map((d) =>
              h(
                'li',
                { class: 'deadlock-row' },
                h('strong', null, clock(d.at)),
                ` ${d.services.join(' ↔ ')}`,
                h('div', { class: 'muted small' }, d.detail),
              ),
            ),
          ),
    );
    const shownWithServers = data.replicas
      ? data.findings.filter((f) => REPLICA_FINDING_KINDS.has(f.kind))
      : [];
    const shownWithPools = data.pool
      ? data.findings.filter((f) => POOL_FINDING_KINDS.has(f.kind))
      : [];
    replaceChildren(
      this.infra,
      data.replicas ? serversCard(data, data.replicas, shownWithServers) : null,
      data.pool ? poolsCard(data.pool, shownWithPools) : null,
    );
    const others = data.findings.filter(
      (f) => !shownWithServers.includes(f) && !shownWithPools.includes(f),
    );
    const elsewhere = data.findings.length - others.length;
    replaceChildren(
      this.findings,
      h('h3', null, `Findings (${data.findings.length})`),
      others.length === 0
        ? h(
            'p',
            { class: 'muted' },
            elsewhere ? 'Nothing else: see the servers and pools above.' : 'Nothing to report.',
          )
        : findingList(others),
      others.length && elsewhere
        ? h(
            'p',
            { class: 'muted small' },
            `${elsewhere} more shown with the servers and pools above.`,
          )
        : null,
    );
  }

  private async renderLocks(waits: LockWaitView[]): Promise<void> {
    const key = JSON.stringify(
      waits.map((w) => [
        w.waiter.pid,
        w.holder.pid,
        w.relation,
        Math.round(w.waiter.waitingMs / 1000),
      ]),
    );
    if (key === this.lockKey) return;
    this.lockKey = key;
    const id = ++this.renderId;
    const graph = waits.length ? await lockGraph(waits) : null;
    if (id !== this.renderId) return;
    replaceChildren(
      this.locks,
      h('h3', null, `Lock waits now (${waits.length})`),
      waits.length === 0
        ? h('p', { class: 'muted' }, 'No session is waiting for a lock.')
        : [
            h('div', { class: 'lock-graph-wrap' }, graph),
            h(
              'table',
              { class: 'data-table' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Waiting', 'Holding', 'On', 'Waited'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                null,
                waits.map((w) =>
                  h(
                    'tr',
                    {
                      class: 'lock-wait-row',
                      'data-waiter': w.waiter.service,
                      'data-holder': w.holder.service,
                    },
                    h(
                      'td',
                      null,
                      h('strong', null, w.waiter.service),
                      ` pid ${w.waiter.pid}`,
                      h('div', { class: 'query' }, w.waiter.query),
                    ),
                    h(
                      'td',
                      null,
                      h('strong', null, w.holder.service),
                      ` pid ${w.holder.pid} · ${w.holder.state}`,
                      h('div', { class: 'query' }, w.holder.query),
                    ),
                    h(
                      'td',
                      null,
                      w.relation ?? w.lockType,
                      h('div', { class: 'muted small' }, w.mode),
                    ),
                    h('td', null, duration(w.waiter.waitingMs)),
                  ),
                ),
              ),
            ),
          ],
    );
  }
}
