import type {
  MigrationConsumerView,
  MigrationHistoryView,
  MigrationsState,
  MigrationView,
  Section,
} from '../../src/server/api-types.js';
import { badge, h, replaceChildren } from './dom.js';
import { ago, clock, duration } from './format.js';

/** The phases of an expand/contract migration, in order (rolling_back stands apart). */
const PHASES = ['expanding', 'backfilling', 'validating', 'active', 'completing'] as const;

const PHASE_HELP: Record<string, string> = {
  expanding: 'adding the new shape and the sync triggers',
  backfilling: 'filling the new shape from the old, in batches',
  validating: 'validating constraints',
  active: 'both shapes live and in sync: waiting for consumers to move',
  completing: 'dropping the old shape',
  rolling_back: 'removing the new shape',
};

/** The badge tone of a phase: the text says the phase, the color repeats it. */
export function phaseTone(phase: string): string {
  if (phase === 'rolling_back') return 'danger';
  if (phase === 'active') return 'ok';
  if (phase === 'completed') return 'ok';
  if (phase === 'rolled_back') return 'muted';
  return 'info';
}

function phaseSteps(phase: string): HTMLElement {
  if (!PHASES.includes(phase as (typeof PHASES)[number])) {
    return h('p', { class: 'phase-note' }, badge(phase.replace('_', ' '), phaseTone(phase)));
  }
  const current = PHASES.indexOf(phase as (typeof PHASES)[number]);
  return h(
    'ol',
    { class: 'phase-steps', 'aria-label': 'Phases' },
    PHASES.map((p, i) =>
      h(
        'li',
        {
          class: `phase-step ${i < current ? 'is-done' : i === current ? 'is-current' : 'is-next'}`,
          'aria-current': i === current ? 'step' : null,
        },
        h(
          'span',
          { class: 'phase-mark', 'aria-hidden': 'true' },
          i < current ? '✓' : String(i + 1),
        ),
        p,
        i < current ? h('span', { class: 'sr-only' }, ' (done)') : null,
      ),
    ),
  );
}

/** Rate, ETA, time throttled and why it is slow now: what an operator asks of a running backfill. */
function pace(b: NonNullable<MigrationView['backfill']>): HTMLElement | null {
  if (b.finished) return null;
  const eta =
    b.etaSeconds !== undefined
      ? b.etaSeconds * 1000
      : b.rowsPerSecond !== undefined && b.rowsPerSecond > 0 && b.total > b.done
        ? ((b.total - b.done) / b.rowsPerSecond) * 1000
        : undefined;
  const figure = (label: string, value: string, attr: string) =>
    h('div', { class: 'pace-figure', [attr]: '' }, h('dt', null, label), h('dd', null, value));
  const why = b.throttledBy ?? b.backoff;
  return h(
    'div',
    { class: 'backfill-pace' },
    h(
      'dl',
      { class: 'pace-figures' },
      figure('Rows', `${b.done.toLocaleString()} of ${b.total.toLocaleString()}`, 'data-rows'),
      figure(
        'Rate (last minute)',
        b.rowsPerSecond === undefined ? '—' : `${b.rowsPerSecond.toLocaleString()} rows/s`,
        'data-rate',
      ),
      figure('ETA', eta === undefined ? '—' : duration(eta), 'data-eta'),
      figure('Throttled', duration(b.throttledMs), 'data-throttled'),
    ),
    why
      ? h(
          'p',
          { class: 'note', 'data-throttled-by': '' },
          b.throttledBy ? `Throttled now: ${b.throttledBy}` : `Backing off: ${b.backoff}`,
        )
      : null,
  );
}

function progress(m: MigrationView): HTMLElement | null {
  const b = m.backfill;
  if (!b) return null;
  const text = b.finished
    ? `Backfill done: ${b.done.toLocaleString()} rows`
    : `Backfill: ${b.done.toLocaleString()} of ${b.total.toLocaleString()} rows (${b.percent} %)`;
  const stalled = b.stalled
    ? h(
        'p',
        { class: 'note', 'data-stalled': '' },
        `No batch recorded since ${clock(m.updatedAt)}. If pgpact migrate start is no longer running, run it again: it resumes where it stopped.`,
      )
    : null;
  return h(
    'div',
    { class: 'progress-wrap' },
    stalled,
    h('label', { class: 'field-label', for: 'migration-backfill' }, text),
    h('progress', {
      id: 'migration-backfill',
      max: 100,
      value: b.percent,
      'aria-valuetext': `${b.percent} % backfilled`,
    }),
    b.stalled ? null : pace(b),
    b.tables.length > 1
      ? h(
          'ul',
          { class: 'plain-list small muted' },
          b.tables.map((t) =>
            h(
              'li',
              null,
              h('code', null, t.table),
              ` ${t.done.toLocaleString()} of ${t.total.toLocaleString()} rows${t.finished ? ' · done' : ''}`,
            ),
          ),
        )
      : null,
  );
}

function shapes(m: MigrationView): HTMLElement | null {
  if (m.oldShape.length === 0 && m.newShape.length === 0) return null;
  const list = (items: string[]) =>
    items.length === 0
      ? h('span', { class: 'muted' }, 'none')
      : items.map((o) => h('code', null, o));
  return h(
    'dl',
    { class: 'shapes' },
    h('dt', null, 'Old shape (dropped at complete)'),
    h('dd', { 'data-old-shape': '' }, list(m.oldShape)),
    h('dt', null, 'New shape'),
    h('dd', { 'data-new-shape': '' }, list(m.newShape)),
  );
}

function howKnown(c: MigrationConsumerView): HTMLElement[] {
  return [
    c.declared ? badge('declared', 'ok', 'a contract in the manifest names the old shape') : null,
    c.observed
      ? badge('observed', 'warn', 'its statements used the old shape since the migration started')
      : null,
    c.view
      ? badge('view', 'danger', 'a view reads the old shape: complete would fail on it')
      : null,
  ].filter((b): b is HTMLSpanElement => b !== null);
}

function consumerStatus(c: MigrationConsumerView): HTMLElement {
  return c.blocking ? badge('blocks complete', 'danger') : badge('does not block', 'muted');
}

/** A `schema.table.column` name that may wrap after its dots, not inside a name. */
function dotted(name: string): HTMLElement {
  const parts = name.split('.');
  return h(
    'code',
    null,
    parts.map((p, i) => (i < parts.length - 1 ? [p, '.', h('wbr')] : p)),
  );
}

function callsText(s: MigrationConsumerView['statements'][number]): string {
  const calls = `${s.callsSinceStart.toLocaleString()} call${s.callsSinceStart === 1 ? '' : 's'} since start`;
  return s.lastCallSeenAt
    ? `${calls} · new calls seen ${ago(s.lastCallSeenAt)}`
    : `${calls} · no new calls seen since ${clock(s.watchedSince)}`;
}

function consumerRow(c: MigrationConsumerView): HTMLElement {
  return h(
    'tr',
    {
      class: `consumer-row${c.blocking ? ' is-blocking' : ''}`,
      'data-consumer': c.name,
      'data-declared': String(c.declared),
      'data-observed': String(c.observed),
    },
    h(
      'th',
      { scope: 'row' },
      h('strong', null, c.name),
      c.role && c.role !== c.service ? h('div', { class: 'muted small' }, `role ${c.role}`) : null,
    ),
    h('td', { 'data-label': 'How pgpact knows' }, h('div', { class: 'badges' }, howKnown(c))),
    h(
      'td',
      { 'data-label': 'Uses' },
      c.columns.map((col) => h('div', null, dotted(col))),
      h('div', { class: 'muted small' }, c.access.join(', ')),
    ),
    h(
      'td',
      { 'data-label': 'Change needed' },
      c.changes.map((change) => h('div', { class: 'change' }, change)),
      c.locations.map((l) => h('div', { class: 'muted small' }, `contract at ${l}`)),
      c.statements.map((s) =>
        h(
          'div',
          { class: 'statement' },
          h('div', { class: 'query', title: s.query }, s.query),
          h('div', { class: 'muted small' }, callsText(s)),
        ),
      ),
      c.moreStatements > 0
        ? h(
            'div',
            { class: 'muted small' },
            `and ${c.moreStatements.toLocaleString()} more statement${c.moreStatements === 1 ? '' : 's'} called less often`,
          )
        : null,
    ),
    h('td', { 'data-label': 'Complete' }, consumerStatus(c)),
  );
}

function consumersTable(m: MigrationView): HTMLElement {
  const blocking = m.consumers.filter((c) => c.blocking).length;
  const verdict =
    m.phase !== 'active'
      ? null
      : m.canComplete
        ? h('p', { class: 'verdict-line text-ok' }, 'pgpact migrate complete can proceed now.')
        : h(
            'p',
            { class: 'verdict-line text-danger' },
            `pgpact migrate complete waits for ${blocking} consumer${blocking === 1 ? '' : 's'}.`,
          );
  const caveats = [
    m.declaredChecked ? null : 'Declared consumers are not checked: the dashboard has no manifest.',
    m.observation.available
      ? null
      : `Observed consumers are not checked: ${m.observation.reason ?? 'no statistics'}.`,
  ].filter((t): t is string => t !== null);
  return h(
    'section',
    { class: 'consumers', 'aria-labelledby': 'old-shape-readers' },
    h('h4', { id: 'old-shape-readers' }, 'Still using the old shape'),
    verdict,
    caveats.map((t) => h('p', { class: 'note' }, t)),
    m.consumers.length === 0
      ? h(
          'p',
          { class: 'text-ok' },
          'Nobody: no contract names the old shape and no statement used it since the start.',
        )
      : h(
          'table',
          { class: 'data-table consumers-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Consumer', 'How pgpact knows', 'Uses', 'Change needed', 'Complete'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h('tbody', null, m.consumers.map(consumerRow)),
        ),
  );
}

function inFlightCard(m: MigrationView): HTMLElement {
  return h(
    'article',
    {
      class: 'card migration',
      'data-migration': m.name,
      'data-phase': m.phase,
      'aria-labelledby': 'migration-title',
    },
    h(
      'h3',
      { id: 'migration-title' },
      m.name,
      ' ',
      h('span', { class: 'phase-badge' }, badge(m.phase.replace('_', ' '), phaseTone(m.phase))),
    ),
    h(
      'p',
      { class: 'details-meta' },
      [
        m.services.length ? `by ${m.services.join(', ')}` : null,
        `started ${ago(m.startedAt)}`,
        `updated ${clock(m.updatedAt)}`,
        PHASE_HELP[m.phase],
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    phaseSteps(m.phase),
    progress(m),
    shapes(m),
    consumersTable(m),
    m.notes.length
      ? h(
          'details',
          { class: 'plan-notes' },
          h('summary', null, `Plan notes (${m.notes.length})`),
          h(
            'ul',
            { class: 'plain-list small' },
            m.notes.map((n) => h('li', null, n)),
          ),
        )
      : null,
    h('p', { class: 'muted small' }, m.file),
  );
}

function historyTable(rows: MigrationHistoryView[]): HTMLElement {
  return h(
    'table',
    { class: 'data-table history-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Migration', 'Outcome', 'Finished', 'Forced past'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          { 'data-history': r.name },
          h('th', { scope: 'row' }, r.name),
          h('td', null, badge(r.outcome.replace('_', ' '), phaseTone(r.outcome))),
          h('td', { title: r.finishedAt }, ago(r.finishedAt)),
          h(
            'td',
            null,
            r.forcedPast.length
              ? h('span', { class: 'text-danger' }, r.forcedPast.join(', '))
              : '—',
          ),
        ),
      ),
    ),
  );
}

/** The migrations view: the migration in flight, its phase and backfill, who still uses the old shape. */
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
    const { inFlight, recent, notes } = section.data;
    replaceChildren(
      this.root,
      notes.map((n) => h('p', { class: 'note' }, n)),
      inFlight
        ? inFlightCard(inFlight)
        : h(
            'p',
            { class: 'card muted', 'data-no-migration': '' },
            'No migration is in flight. Start one with pgpact migrate start FILE.',
          ),
      recent.length ? [h('h3', { class: 'history-title' }, 'Recent'), historyTable(recent)] : null,
    );
  }
}
