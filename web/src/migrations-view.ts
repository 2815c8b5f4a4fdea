import type { MigrationsState, MigrationView, Section } from '../../src/server/api-types.js';
import { badge, h, replaceChildren } from './dom.js';
import { ago } from './format.js';

function progress(m: MigrationView): HTMLElement | null {
  if (!m.backfill) return null;
  const { done, total } = m.backfill;
  const share = total > 0 ? Math.min(1, done / total) : 1;
  return h(
    'div',
    { class: 'progress-wrap' },
    h(
      'label',
      { class: 'field-label', for: `bf-${m.name}` },
      `Backfill: ${done.toLocaleString()} of ${total.toLocaleString()} rows (${Math.round(share * 100)} %)`,
    ),
    h('progress', { id: `bf-${m.name}`, max: total > 0 ? total : 1, value: total > 0 ? done : 1 }),
  );
}

function migrationCard(m: MigrationView, inFlight: boolean): HTMLElement {
  return h(
    'article',
    { class: 'card migration', 'data-migration': m.name },
    h('h3', null, m.name, ' ', badge(m.phase, inFlight ? 'info' : 'muted')),
    h(
      'p',
      { class: 'details-meta' },
      [
        m.service ? `service ${m.service}` : null,
        m.startedAt ? `started ${ago(m.startedAt)}` : null,
        m.updatedAt ? `updated ${ago(m.updatedAt)}` : null,
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    progress(m),
    m.oldShape.length || m.newShape.length
      ? h(
          'p',
          null,
          h('span', { class: 'muted' }, 'Old shape: '),
          m.oldShape.map((o) => h('code', null, o)),
          h('span', { class: 'muted' }, ' → new shape: '),
          m.newShape.map((o) => h('code', null, o)),
        )
      : null,
    inFlight
      ? h(
          'div',
          null,
          h('h4', null, 'Still reading the old shape'),
          m.oldShapeReaders.length === 0
            ? h('p', { class: 'text-ok' }, 'Nobody: the migration can be completed.')
            : h(
                'ul',
                { class: 'chips' },
                m.oldShapeReaders.map((r) =>
                  h(
                    'li',
                    { class: 'chip chip-warn', 'data-old-reader': r.service },
                    h('strong', null, r.service),
                    h('span', { class: 'chip-how' }, r.source),
                  ),
                ),
              ),
        )
      : null,
    m.detail ? h('p', { class: 'muted small' }, m.detail) : null,
  );
}

/** The migrations view: the migration in flight, its phase and backfill, who still reads the old shape. */
export class MigrationsView {
  readonly root = h('div', { class: 'migrations-view' });

  update(section: Section<MigrationsState>): void {
    if (!section.available) {
      replaceChildren(
        this.root,
        h('p', { class: 'unavailable' }, `Migrations are not available: ${section.reason}`),
      );
      return;
    }
    const { inFlight, recent } = section.data;
    replaceChildren(
      this.root,
      h('h3', null, `In flight (${inFlight.length})`),
      inFlight.length === 0
        ? h('p', { class: 'muted' }, 'No migration is in flight.')
        : inFlight.map((m) => migrationCard(m, true)),
      recent.length ? [h('h3', null, 'Recent'), recent.map((m) => migrationCard(m, false))] : null,
    );
  }
}
