import { CheckView } from './check-view.js';
import { h, replaceChildren } from './dom.js';
import { clock } from './format.js';
import { MapView } from './map/map-view.js';
import { MigrationsView, phaseTone } from './migrations-view.js';
import { RuntimeView } from './runtime/runtime-view.js';
import { connect, Store } from './store.js';
import { Tabs } from './tabs.js';

const store = new Store();
const mapView = new MapView();
const runtimeView = new RuntimeView();
const migrationsView = new MigrationsView();
const checkView = new CheckView((object) => {
  const map = store.state?.map;
  if (!map?.available) return;
  const table = map.data.tables.find((t) => object === t.id || object.startsWith(`${t.id}.`));
  tabs.show('map');
  if (table) mapView.select({ table: table.id });
});

const panel = (title: string, intro: string, body: HTMLElement) =>
  h(
    'section',
    { class: 'panel' },
    h('header', { class: 'panel-head' }, h('h2', null, title), h('p', { class: 'muted' }, intro)),
    body,
  );

const tabs = new Tabs([
  {
    id: 'map',
    label: 'Coupling map',
    panel: panel(
      'Coupling map',
      'Who owns which schema, and which service reads or writes another’s tables — declared in the manifest and observed in the database.',
      mapView.root,
    ),
  },
  {
    id: 'runtime',
    label: 'Runtime',
    panel: panel(
      'Runtime',
      'Database time, connections, busy processes and lock waits per service, sampled live.',
      runtimeView.root,
    ),
  },
  {
    id: 'migrations',
    label: 'Migrations',
    panel: panel(
      'Migrations',
      'Expand/contract migrations: the one in flight, its backfill, and who still reads the old shape.',
      migrationsView.root,
    ),
  },
  {
    id: 'check',
    label: 'Check report',
    panel: panel('Check report', 'What a migration would break, by consumer.', checkView.root),
  },
]);

const status = h('span', { class: 'status', role: 'status' });
const database = h('span', { class: 'database' });
const app = document.getElementById('app')!;
replaceChildren(
  app,
  h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, 'pg'),
      h('h1', null, 'pgpact'),
      database,
    ),
    tabs.list,
    status,
  ),
  h('main', { class: 'content' }, tabs.panels),
);

function renderStatus(): void {
  const text =
    store.status === 'live'
      ? 'Live'
      : store.status === 'connecting'
        ? 'Connecting…'
        : 'Reconnecting…';
  replaceChildren(
    status,
    h('span', { class: `dot dot-${store.status}`, 'aria-hidden': 'true' }),
    text,
    store.lastUpdate
      ? h('span', { class: 'muted' }, ` · updated ${clock(store.lastUpdate.toISOString())}`)
      : null,
  );
}

store.subscribe((changed) => {
  const state = store.state;
  renderStatus();
  if (!state) return;
  database.textContent = state.database;
  if (changed === 'map') {
    void mapView.update(state.map);
    const issues = state.map.available
      ? state.map.data.edges.filter(
          (e) => e.broken || e.status === 'undeclared' || e.status === 'beyond-contract',
        ).length
      : 0;
    tabs.setCount('map', issues ? `${issues} to review` : '', 'warn');
  }
  if (changed === 'runtime') {
    void runtimeView.update(state.runtime);
    const waits = state.runtime.available ? state.runtime.data.lockWaits.length : 0;
    tabs.setCount('runtime', waits ? `${waits} lock wait${waits === 1 ? '' : 's'}` : '', 'danger');
  }
  if (changed === 'migrations') {
    migrationsView.update(state.migrations);
    const m = state.migrations.available ? state.migrations.data.inFlight : null;
    tabs.setCount(
      'migrations',
      m ? m.phase.replace('_', ' ') : '',
      m ? phaseTone(m.phase) : 'info',
    );
  }
  if (changed === 'check-report') {
    checkView.update(state.checkReport);
    const report = state.checkReport.available ? state.checkReport.data : null;
    tabs.setCount(
      'check',
      report ? (report.breaking ? 'breaking' : 'ok') : '',
      report?.breaking ? 'danger' : 'ok',
    );
  }
});

renderStatus();
connect(store).catch((error: unknown) => {
  store.setStatus('reconnecting');
  replaceChildren(
    app,
    h(
      'main',
      { class: 'content' },
      h(
        'p',
        { class: 'unavailable' },
        `The dashboard could not load its state: ${(error as Error).message}`,
      ),
    ),
  );
});
