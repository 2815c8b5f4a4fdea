import type { CouplingMap, Section } from '../../../src/server/api-types.js';
import { badge, h, replaceChildren } from '../dom.js';
import { ago } from '../format.js';
import { serviceDetails, tableDetails } from './details.js';
import { edgeLabel, edgeTone, statusText } from './edge-style.js';
import { type LaidOutMap, layoutMap } from './layout.js';
import { drawMap, highlight } from './map-svg.js';

const LEGEND: [string, string][] = [
  ['ok', 'declared and observed'],
  ['unused', 'declared, not observed'],
  ['undeclared', 'undeclared read'],
  ['beyond', 'beyond its contract'],
  ['broken', 'broken by the check report'],
  ['owns', 'owns the schema'],
];

/** The coupling-map view: the drawn graph, the table list, the details panel and the edge list. */
export class MapView {
  readonly root: HTMLElement;
  private readonly canvas = h('div', { class: 'map-canvas', tabindex: '-1' });
  private readonly list = h('nav', { class: 'table-list', 'aria-label': 'Tables' });
  private readonly details = h('div', { class: 'details-panel', 'aria-live': 'polite' });
  private readonly edgeList = h('div', { class: 'edge-list' });
  private readonly notes = h('div', { class: 'map-notes' });
  private readonly filter = h('input', {
    id: 'table-filter',
    type: 'search',
    placeholder: 'e.g. account',
    autocomplete: 'off',
  });
  private map: CouplingMap | undefined;
  private laid: LaidOutMap | undefined;
  private svg: SVGSVGElement | undefined;
  private scale = 1;
  private userZoomed = false;
  private selection: { table?: string; service?: string } = {};
  private renderId = 0;

  constructor() {
    this.filter.addEventListener('input', () => this.renderList());
    const zoom = (factor: number | 'fit') => () => {
      this.userZoomed = factor !== 'fit';
      this.scale =
        factor === 'fit' ? this.fitScale() : Math.min(2.5, Math.max(0.25, this.scale * factor));
      this.redraw();
    };
    this.root = h(
      'div',
      { class: 'map-view' },
      h(
        'div',
        { class: 'toolbar' },
        h(
          'ul',
          { class: 'legend', 'aria-label': 'Legend' },
          LEGEND.map(([tone, text]) =>
            h(
              'li',
              null,
              h('span', { class: `legend-line edge-${tone}`, 'aria-hidden': 'true' }),
              text,
            ),
          ),
        ),
        h(
          'div',
          { class: 'zoom', role: 'group', 'aria-label': 'Zoom' },
          h('button', { type: 'button', 'aria-label': 'Zoom out', onclick: zoom(1 / 1.25) }, '−'),
          h(
            'button',
            { type: 'button', 'aria-label': 'Fit the map to the window', onclick: zoom('fit') },
            'Fit',
          ),
          h('button', { type: 'button', 'aria-label': 'Zoom in', onclick: zoom(1.25) }, '+'),
        ),
      ),
      h(
        'div',
        { class: 'map-body' },
        this.canvas,
        h(
          'aside',
          { class: 'map-side' },
          h(
            'div',
            { class: 'card list-card' },
            h('label', { for: 'table-filter', class: 'field-label' }, 'Filter tables'),
            this.filter,
            this.list,
          ),
          h('div', { class: 'card' }, this.details),
        ),
      ),
      this.notes,
      this.edgeList,
    );
    this.showPlaceholder();
    window.addEventListener('resize', () => {
      if (!this.userZoomed && this.laid) {
        this.scale = this.fitScale();
        this.redraw();
      }
    });
  }

  private showPlaceholder(): void {
    replaceChildren(
      this.details,
      h(
        'p',
        { class: 'muted' },
        'Select a table (click it, or Tab to it and press Enter) to see its columns and who reads each.',
      ),
    );
  }

  private fitScale(): number {
    if (!this.laid) return 1;
    // Small maps grow a little to fill the space; large ones shrink, but stay readable (then scroll).
    const available = this.canvas.clientWidth - 26;
    return available > 0
      ? Math.max(0.55, Math.min(1.3, available / Math.max(1, this.laid.width)))
      : 1;
  }

  /** Shows a new map section (re-lays the graph out only when the map changed). */
  async update(section: Section<CouplingMap>): Promise<void> {
    if (!section.available) {
      this.map = undefined;
      replaceChildren(
        this.canvas,
        h('p', { class: 'unavailable' }, `The coupling map is not available: ${section.reason}`),
      );
      replaceChildren(this.list);
      replaceChildren(this.edgeList);
      return;
    }
    this.map = section.data;
    const id = ++this.renderId;
    const laid = await layoutMap(section.data);
    if (id !== this.renderId) return;
    this.laid = laid;
    if (!this.userZoomed) this.scale = this.fitScale();
    this.redraw();
    this.renderList();
    this.renderEdges();
    this.renderNotes();
    if (this.selection.table && !section.data.tables.some((t) => t.id === this.selection.table))
      this.selection = {};
    this.renderDetails(false);
  }

  private redraw(): void {
    if (!this.laid) return;
    this.svg = drawMap(this.laid, this.scale, {
      selectTable: (table) => this.select({ table }),
      selectService: (service) => this.select({ service }),
    });
    replaceChildren(this.canvas, this.svg);
    if (this.laid.hiddenTables > 0) {
      this.canvas.append(
        h(
          'p',
          { class: 'muted small' },
          `${this.laid.hiddenTables} tables nobody else reads are not drawn; they are in the list.`,
        ),
      );
    }
    highlight(this.svg, this.selection);
  }

  /** Selects a table or a service and shows its details. */
  select(selection: { table?: string; service?: string }, focusDetails = true): void {
    this.selection = selection;
    if (this.svg) highlight(this.svg, selection);
    for (const b of this.list.querySelectorAll<HTMLButtonElement>('button[data-table]')) {
      b.setAttribute('aria-current', String(b.dataset.table === selection.table));
    }
    this.renderDetails(focusDetails);
  }

  private renderDetails(focus: boolean): void {
    const map = this.map;
    if (!map) return;
    const table = map.tables.find((t) => t.id === this.selection.table);
    if (table) replaceChildren(this.details, tableDetails(map, table));
    else if (this.selection.service)
      replaceChildren(this.details, serviceDetails(map, this.selection.service));
    else this.showPlaceholder();
    if (focus) this.details.querySelector<HTMLElement>('#details-title')?.focus();
  }

  private renderList(): void {
    const map = this.map;
    if (!map) return;
    const query = this.filter.value.trim().toLowerCase();
    const groups = map.schemas
      .map((schema) => ({
        schema,
        tables: map.tables.filter(
          (t) => t.schema === schema.name && (query === '' || t.id.toLowerCase().includes(query)),
        ),
      }))
      .filter((g) => g.tables.length > 0);
    replaceChildren(
      this.list,
      groups.length === 0 ? h('p', { class: 'muted' }, 'No table matches.') : null,
      groups.map((g) =>
        h(
          'div',
          { class: 'list-group' },
          h(
            'h4',
            null,
            g.schema.name,
            h(
              'span',
              { class: 'muted' },
              g.schema.ownerService ? ` · ${g.schema.ownerService}` : ' · no owner',
            ),
          ),
          h(
            'ul',
            null,
            g.tables.map((t) => {
              const edges = map.edges.filter((e) => e.table === t.id);
              const consumers = new Set(edges.map((e) => e.service)).size;
              return h(
                'li',
                null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'table-button',
                    'data-table': t.id,
                    'aria-current': String(t.id === this.selection.table),
                    onclick: () => this.select({ table: t.id }),
                  },
                  h('span', { class: 'table-button-name' }, t.name),
                  h(
                    'span',
                    { class: 'table-button-meta' },
                    consumers ? `${consumers} consumer${consumers === 1 ? '' : 's'}` : '',
                  ),
                  edges.some((e) => e.broken) ? badge('breaks', 'danger') : null,
                  edges.some((e) => e.status === 'undeclared') ? badge('undeclared', 'warn') : null,
                  edges.some((e) => e.status === 'beyond-contract')
                    ? badge('beyond contract', 'warn')
                    : null,
                ),
              );
            }),
          ),
        ),
      ),
    );
  }

  private renderEdges(): void {
    const map = this.map;
    if (!map) return;
    replaceChildren(
      this.edgeList,
      h('h3', null, `Cross-service access (${map.edges.length})`),
      map.edges.length === 0
        ? h('p', { class: 'muted' }, 'No service reads or writes another service’s tables.')
        : h(
            'table',
            { class: 'data-table' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Consumer → table', 'Status', 'Declared columns', 'Observed columns'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              map.edges.map((e) =>
                h(
                  'tr',
                  { 'data-edge': `${e.service}→${e.table}`, class: `edge-row tone-${edgeTone(e)}` },
                  h(
                    'td',
                    null,
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'link',
                        onclick: () => this.select({ service: e.service }),
                      },
                      e.service,
                    ),
                    e.access === 'write' ? ' writes → ' : ' → ',
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'link',
                        onclick: () => this.select({ table: e.table }),
                      },
                      e.table,
                    ),
                  ),
                  h(
                    'td',
                    null,
                    statusText(e),
                    edgeLabel(e).includes('breaks')
                      ? h('strong', { class: 'text-danger' }, ' · breaks')
                      : null,
                  ),
                  h(
                    'td',
                    null,
                    e.declared
                      ? e.declaredColumns === '*'
                        ? 'all (*)'
                        : e.declaredColumns.join(', ')
                      : '—',
                  ),
                  h(
                    'td',
                    null,
                    e.observedColumns.map((c, i) => [
                      i ? ', ' : '',
                      e.undeclaredColumns.includes(c)
                        ? h('mark', { title: 'not in the contract' }, c)
                        : c,
                    ]),
                    e.observed && e.observedColumns.length === 0 ? 'the table' : '',
                    !e.observed ? '—' : '',
                  ),
                ),
              ),
            ),
          ),
    );
  }

  private renderNotes(): void {
    const map = this.map;
    if (!map) return;
    const src = map.sources;
    replaceChildren(
      this.notes,
      h(
        'p',
        { class: 'muted small' },
        `Database ${map.database} · manifest ${src.manifest ?? 'none'} · observed usage ${src.usage ? `${ago(src.usage.takenAt)} (${src.usage.origin})` : 'none'}${src.checkReport ? ` · check report ${src.checkReport}` : ''}`,
      ),
      map.notes.map((n) => h('p', { class: 'note' }, n)),
    );
  }
}
