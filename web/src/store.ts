import type {
  DashboardEventName,
  DashboardState,
  RuntimeState,
  Section,
} from '../../src/server/api-types.js';

/** Samples the page keeps per chart (the server sends only recent ones after the first). */
const HISTORY = 180;

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting';
type Listener = (changed: DashboardEventName | 'status') => void;

/** The page's copy of the dashboard state, kept current by /api/events. */
export class Store {
  state: DashboardState | undefined;
  status: ConnectionStatus = 'connecting';
  lastUpdate: Date | undefined;
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): void {
    this.listeners.add(listener);
  }

  private emit(changed: DashboardEventName | 'status'): void {
    for (const l of this.listeners) l(changed);
  }

  /** Sets the whole state (first load). */
  load(state: DashboardState): void {
    this.state = state;
    this.lastUpdate = new Date();
    for (const name of ['map', 'migrations', 'runtime', 'check-report'] as const) this.emit(name);
  }

  /** Applies one pushed section. */
  apply(event: DashboardEventName, section: Section<unknown>): void {
    if (!this.state) return;
    this.lastUpdate = new Date();
    switch (event) {
      case 'map':
        this.state.map = section as DashboardState['map'];
        break;
      case 'migrations':
        this.state.migrations = section as DashboardState['migrations'];
        break;
      case 'check-report':
        this.state.checkReport = section as DashboardState['checkReport'];
        break;
      case 'runtime':
        this.state.runtime = mergeRuntime(this.state.runtime, section as Section<RuntimeState>);
        break;
    }
    this.emit(event);
  }

  setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.emit('status');
  }
}

/** Keeps the sample history: new samples are appended by time, the rest is replaced. */
function mergeRuntime(
  previous: Section<RuntimeState>,
  next: Section<RuntimeState>,
): Section<RuntimeState> {
  if (!next.available || !previous.available) return next;
  const byTime = new Map(previous.data.samples.map((s) => [s.at, s]));
  for (const s of next.data.samples) byTime.set(s.at, s);
  const samples = [...byTime.values()].sort((a, b) => a.at.localeCompare(b.at)).slice(-HISTORY);
  return { available: true, data: { ...next.data, samples } };
}

/** Loads /api/state, then follows /api/events; EventSource reconnects by itself. */
export async function connect(store: Store): Promise<void> {
  const response = await fetch('/api/state', { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`the dashboard answered ${response.status}`);
  store.load((await response.json()) as DashboardState);
  const events = new EventSource('/api/events');
  events.onopen = () => store.setStatus('live');
  events.onerror = () => store.setStatus('reconnecting');
  for (const name of ['map', 'migrations', 'runtime', 'check-report'] as const) {
    events.addEventListener(name, (e) => {
      store.apply(name, JSON.parse((e as MessageEvent<string>).data) as Section<unknown>);
    });
  }
}
