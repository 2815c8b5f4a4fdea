import type { MapTable } from '../../../src/server/api-types.js';
import { s } from '../dom.js';
import { edgeDescription, edgeTone } from './edge-style.js';
import { type LaidOutMap, type Point, schemaLabel, serviceSubtitle } from './layout.js';

/** What the map reports back to the page. */
export interface MapHandlers {
  selectTable(tableId: string): void;
  selectService(service: string): void;
}

const TONES = ['ok', 'unused', 'undeclared', 'beyond', 'broken', 'observed', 'owns'] as const;

/** An orthogonal polyline with rounded corners. */
function roundedPath(points: Point[], radius = 8): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  let d = `M${first!.x},${first!.y}`;
  for (let i = 0; i < rest.length; i++) {
    const p = rest[i]!;
    const prev = i === 0 ? first! : rest[i - 1]!;
    const next = rest[i + 1];
    if (!next) {
      d += ` L${p.x},${p.y}`;
      break;
    }
    const inLen = Math.hypot(p.x - prev.x, p.y - prev.y);
    const outLen = Math.hypot(next.x - p.x, next.y - p.y);
    const r = Math.min(radius, inLen / 2, outLen / 2);
    if (r < 0.5) {
      d += ` L${p.x},${p.y}`;
      continue;
    }
    const a = { x: p.x - ((p.x - prev.x) / inLen) * r, y: p.y - ((p.y - prev.y) / inLen) * r };
    const b = { x: p.x + ((next.x - p.x) / outLen) * r, y: p.y + ((next.y - p.y) / outLen) * r };
    d += ` L${a.x},${a.y} Q${p.x},${p.y} ${b.x},${b.y}`;
  }
  return d;
}

function tableFlags(table: MapTable, map: LaidOutMap): { text: string; tone: string } | undefined {
  const edges = map.edges.filter((e) => e.edge?.table === table.id).map((e) => e.edge!);
  if (edges.some((e) => e.broken)) return { text: 'breaks', tone: 'broken' };
  if (edges.some((e) => e.status === 'undeclared' || e.status === 'beyond-contract'))
    return { text: '!', tone: 'undeclared' };
  return undefined;
}

function activate(handler: () => void) {
  return {
    onclick: () => handler(),
    onkeydown: (e: Event) => {
      const key = (e as KeyboardEvent).key;
      if (key === 'Enter' || key === ' ') {
        e.preventDefault();
        handler();
      }
    },
  };
}

/** Draws a laid-out coupling map as SVG: schemas, tables, services, edges with text labels. */
export function drawMap(map: LaidOutMap, scale: number, handlers: MapHandlers): SVGSVGElement {
  const markers = TONES.map((tone) =>
    s(
      'marker',
      {
        id: `arrow-${tone}`,
        viewBox: '0 0 10 10',
        refX: '9',
        refY: '5',
        markerWidth: '11',
        markerHeight: '11',
        markerUnits: 'userSpaceOnUse',
        orient: 'auto-start-reverse',
      },
      s('path', { d: 'M0,1 L9,5 L0,9 z', class: `arrow arrow-${tone}` }),
    ),
  );
  const schemas = map.schemas.map((b) =>
    s(
      'g',
      {
        class: `schema-box${b.schema.ownerService ? '' : ' schema-unowned'}`,
        'data-schema': b.schema.name,
      },
      s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 12 }),
      s('text', { x: b.x + 14, y: b.y + 24, class: 'schema-label' }, schemaLabel(b.schema)),
    ),
  );
  const ownerEdges = map.edges
    .filter((e) => e.owner)
    .map((e) =>
      s(
        'path',
        { d: roundedPath(e.points), class: 'edge edge-owns', 'marker-end': 'url(#arrow-owns)' },
        s(
          'title',
          null,
          e.owner!.table === undefined
            ? `${e.owner!.service} owns schema ${e.owner!.schema}`
            : `${e.owner!.service} owns table ${e.owner!.schema}.${e.owner!.table}`,
        ),
      ),
    );
  const consumerEdges = map.edges
    .filter((e) => e.edge)
    .map((laid) => {
      const e = laid.edge!;
      const tone = edgeTone(e);
      return s(
        'g',
        {
          class: `edge-group edge-${tone}${e.access === 'write' ? ' edge-write' : ''}`,
          'data-from': e.service,
          'data-to': e.table,
          'data-status': e.status,
          'data-broken': String(e.broken),
          'aria-label': edgeDescription(e),
          role: 'img',
        },
        s('title', null, edgeDescription(e)),
        s('path', { d: roundedPath(laid.points), class: 'edge-hit' }),
        s('path', {
          d: roundedPath(laid.points),
          class: 'edge',
          'marker-end': `url(#arrow-${tone})`,
        }),
        laid.label
          ? s(
              'g',
              { class: 'edge-label' },
              s('rect', {
                x: laid.label.x,
                y: laid.label.y,
                width: laid.label.w,
                height: laid.label.h,
                rx: 9,
              }),
              s(
                'text',
                {
                  x: laid.label.x + laid.label.w / 2,
                  y: laid.label.y + laid.label.h / 2 + 4,
                  'text-anchor': 'middle',
                },
                laid.label.text,
              ),
            )
          : null,
      );
    });
  const tables = map.tables.map((b) => {
    const t = b.table;
    const flags = tableFlags(t, map);
    const consumers = new Set(
      map.edges.filter((e) => e.edge?.table === t.id).map((e) => e.edge!.service),
    ).size;
    return s(
      'g',
      {
        class: `table-node${t.missing ? ' table-missing' : ''}`,
        'data-table': t.id,
        tabindex: '0',
        role: 'button',
        'aria-label': `table ${t.id}${t.ownerService ? `, owned by ${t.ownerService}` : ''}, ${consumers} consumer${consumers === 1 ? '' : 's'}${flags ? `, ${flags.text === '!' ? 'undeclared access' : flags.text}` : ''}`,
        ...activate(() => handlers.selectTable(t.id)),
      },
      s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }),
      s('text', { x: b.x + 12, y: b.y + b.h / 2 + 4.5, class: 'table-name' }, t.name),
      consumers > 0
        ? s(
            'text',
            {
              x: b.x + b.w - (flags ? 30 : 10),
              y: b.y + b.h / 2 + 4,
              class: 'table-count',
              'text-anchor': 'end',
            },
            `${consumers}`,
          )
        : null,
      flags
        ? s(
            'g',
            { class: `table-flag flag-${flags.tone}` },
            s('rect', { x: b.x + b.w - 24, y: b.y + 8, width: 16, height: 18, rx: 4 }),
            s(
              'text',
              { x: b.x + b.w - 16, y: b.y + 21, 'text-anchor': 'middle' },
              flags.text === 'breaks' ? '✕' : '!',
            ),
          )
        : null,
    );
  });
  const services = map.services.map((b) => {
    const svc = b.service;
    return s(
      'g',
      {
        class: `service-node${svc.inManifest ? '' : ' service-unknown'}`,
        'data-service': svc.name,
        tabindex: '0',
        role: 'button',
        'aria-label': `service ${svc.name}, ${serviceSubtitle(svc)}`,
        ...activate(() => handlers.selectService(svc.name)),
      },
      s('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 10 }),
      s('text', { x: b.x + 16, y: b.y + 21, class: 'service-name' }, svc.name),
      s('text', { x: b.x + 16, y: b.y + 38, class: 'service-sub' }, serviceSubtitle(svc)),
    );
  });
  const width = Math.max(1, map.width);
  const height = Math.max(1, map.height);
  return s(
    'svg',
    {
      class: 'map-svg',
      viewBox: `0 0 ${width} ${height}`,
      width: Math.round(width * scale),
      height: Math.round(height * scale),
      role: 'group',
      'aria-label':
        'coupling map: services on the left, the schemas and tables they read on the right',
    },
    s('defs', null, markers),
    s('g', { class: 'layer-schemas' }, schemas),
    s('g', { class: 'layer-edges' }, ownerEdges, consumerEdges),
    s('g', { class: 'layer-tables' }, tables),
    s('g', { class: 'layer-services' }, services),
  );
}

/** Highlights one table (or service) and the edges touching it; dims the rest. */
export function highlight(
  svg: SVGSVGElement,
  selection: { table?: string; service?: string },
): void {
  const active = selection.table !== undefined || selection.service !== undefined;
  svg.classList.toggle('has-selection', active);
  for (const g of svg.querySelectorAll<SVGGElement>('.edge-group')) {
    const hit = g.dataset.to === selection.table || g.dataset.from === selection.service;
    g.classList.toggle('is-related', active && hit);
  }
  for (const g of svg.querySelectorAll<SVGGElement>('.table-node')) {
    g.classList.toggle('is-selected', g.dataset.table === selection.table);
  }
  for (const g of svg.querySelectorAll<SVGGElement>('.service-node')) {
    g.classList.toggle('is-selected', g.dataset.service === selection.service);
  }
}
