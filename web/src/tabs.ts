import { h } from './dom.js';

export interface Tab {
  id: string;
  label: string;
  panel: HTMLElement;
}

/** Accessible tabs (WAI-ARIA pattern): arrow keys move between tabs, the URL hash remembers the tab. */
export class Tabs {
  readonly list = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Dashboard sections' });
  readonly panels = h('div', { class: 'panels' });
  private readonly buttons = new Map<string, HTMLButtonElement>();
  private readonly counters = new Map<string, HTMLSpanElement>();

  constructor(private readonly tabs: Tab[]) {
    for (const tab of tabs) {
      const counter = h('span', { class: 'tab-count' });
      const button = h(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `tab-${tab.id}`,
          'aria-controls': `panel-${tab.id}`,
          'data-tab': tab.id,
          onclick: () => this.show(tab.id),
        },
        tab.label,
        counter,
      );
      button.addEventListener('keydown', (e) => this.onKey(e, tab.id));
      this.buttons.set(tab.id, button);
      this.counters.set(tab.id, counter);
      this.list.append(button);
      tab.panel.id = `panel-${tab.id}`;
      tab.panel.setAttribute('role', 'tabpanel');
      tab.panel.setAttribute('aria-labelledby', `tab-${tab.id}`);
      this.panels.append(tab.panel);
    }
    const fromHash = location.hash.slice(1);
    this.show(tabs.some((t) => t.id === fromHash) ? fromHash : tabs[0]!.id, false);
  }

  private onKey(e: KeyboardEvent, id: string): void {
    const index = this.tabs.findIndex((t) => t.id === id);
    let next: number | undefined;
    if (e.key === 'ArrowRight') next = (index + 1) % this.tabs.length;
    if (e.key === 'ArrowLeft') next = (index - 1 + this.tabs.length) % this.tabs.length;
    if (e.key === 'Home') next = 0;
    if (e.key === 'End') next = this.tabs.length - 1;
    if (next === undefined) return;
    e.preventDefault();
    this.show(this.tabs[next]!.id);
    this.buttons.get(this.tabs[next]!.id)!.focus();
  }

  /** Shows one tab's panel. */
  show(id: string, updateHash = true): void {
    for (const tab of this.tabs) {
      const selected = tab.id === id;
      const button = this.buttons.get(tab.id)!;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      tab.panel.hidden = !selected;
    }
    if (updateHash) history.replaceState(null, '', `#${id}`);
  }

  /** Sets the small counter next to a tab's name ('' hides it); tone colors it, the text says it. */
  setCount(id: string, text: string, tone = 'muted'): void {
    const counter = this.counters.get(id);
    if (!counter) return;
    counter.textContent = text;
    counter.className = `tab-count${text ? ` badge badge-${tone}` : ''}`;
  }
}
